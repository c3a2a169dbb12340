// Package speed measures what streaming needs from a line: download and
// upload throughput over parallel HTTP streams, idle latency, latency under
// load (as RPM, 60000 / RTT in ms, the IETF "Responsiveness under Working
// Conditions" unit), jitter, and loss where the kernel can tell it.
//
// Stopping rule. A transfer starts two parallel streams; if after 250 ms
// they already carry over 25 Mbps each it adds two at once (more flows
// smooth a fast line's aggregate), and then two every 250 ms while the rate
// of the last 250 ms still grows by more than 10 % and each stream carries
// over 25 Mbps (a slower line is already full: one
// flow fills 25 Mbps within a few round trips on paths up to 40 ms, and more
// flows only fight in its queue), up to MaxStreams. Throughput is sampled
// every 50 ms (Tick) as the bytes that arrived in the last 500 ms (Window) —
// on Linux the kernel's count of bytes received (TCP_INFO
// tcpi_bytes_received), so a pause of this process does not bunch a
// window's bytes; elsewhere the bytes read. That count moves only with
// bytes in order: behind a lost segment the rest arrive and are held, and
// the resend moves them all at once, so a window that opens in the hole
// and closes after it counts bytes that came before it (a 15 Mbps line
// read 16.5–18.5 Mbps now and then). So the segments held out of order
// (tcpi_data_segs_in, tcpi_rcv_ooopack, at the segment size learnt while
// nothing was held) are counted as they arrive; see arrival. The estimate
// is stable when the last six samples lie within ±2 % of their mean and
// the windows of all six begin after the first tick (which carries
// whatever a buffer on the way lets through at once) and after streams
// were last added; the estimate is then that mean. Under 40 Mbps the
// window is 1 s (under 10 Mbps, 4 s) and the first second is left out, as
// iperf3's -O 1 does: a few packets weigh more in a slow line's window, and
// a window spanning slow start's loss recovery counts bytes that arrived
// before it. Otherwise the test stops at its hard
// cap (10 s by default) and reports the last sample as not stable.
//
// Decision-aware stopping (the check's quick sample, Options.StopAbove and
// StopBelow): the question is only whether the line carries SD, HD and 4K,
// so the sample stops once its lower bound clears the highest need with
// headroom (1.25 × 15 Mbps for Netflix), or its upper bound falls below the
// lowest (3 Mbps), after a floor of 150 ms or eight idle round trips,
// whichever is longer (twice that for the lower side), so slow start is
// left behind. The bounds are the mean of the per-tick rates (the first
// tick, which carries whatever a buffer lets through at once, left out)
// minus or plus two standard errors, the lower also capped by the average
// since the first tick, and both widened by DecisionMargin (10 %). Error:
// a decided sample claims only the grade, and reports its rate as a bound
// ("at least"); a line whose rate is within 10 % of a need, or that stalls
// (loss), is measured in full. A burst lasting longer than a tick (a
// provider's "boost" of several megabytes) can still carry a line a little
// over a need for the first few hundred milliseconds; the full test
// (`streamdoctor speed`) is not stopped early.
//
// Loss is measured honestly only on Linux, as the kernel's TCP
// retransmission count over segments sent during the upload (TCP_INFO);
// elsewhere it is reported as unknown (-1).
//
// Backends: a self-hosted server (Serve; `streamdoctor speed serve`),
// Netflix's Open Connect servers through the fast.com API, and M-Lab's ndt7.
package speed
