// Package speed measures what streaming needs from a line: download and
// upload throughput over parallel HTTP streams, idle latency, latency under
// load (as RPM, 60000 / RTT in ms, the IETF "Responsiveness under Working
// Conditions" unit), jitter, and loss where the kernel can tell it.
//
// Stopping rule. Throughput is sampled every 100 ms as the bytes moved in
// the last second. A stream is added every 300 ms while the rate still grows
// by more than 10 % since the last addition (up to MaxStreams). The estimate
// is stable when no stream was added in the last second and the last ten
// samples (one second) lie within ±2.5 % of their mean, after at least
// 1.5 s; the estimate is then that mean. Otherwise the test stops at its
// hard cap (10 s by default) and reports the last sample as not stable.
//
// Loss is measured honestly only on Linux, as the kernel's TCP
// retransmission count over segments sent during the upload (TCP_INFO);
// elsewhere it is reported as unknown (-1).
//
// Backends: a self-hosted server (Serve; `streamdoctor speed serve`),
// Netflix's Open Connect servers through the fast.com API, and M-Lab's ndt7.
package speed
