package probe

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// probeLatency makes repeated TCP connects: the connect time is one round
// trip (the kernel's own measurement where the OS gives it, so a busy
// machine does not inflate it). A connect that fails, or that takes at least
// one SYN retransmission (one second) longer than the path's round trip,
// counts as lost; so a 1-second satellite path is slow, not lossy. Jitter
// is how far round trips differ from one another (see Jitter). It measures
// to the service; if
// the service refuses or drops every connect, it measures the line to the
// first control site instead, so that line quality is known either way.
func probeLatency(ctx context.Context, s *state) []Observation {
	defer s.latencySampled()
	hosts, ports := []string{s.prof.Hosts[0].Name}, []int{s.prof.Hosts[0].ServicePort()}
	if len(s.prof.Controls) > 0 {
		hosts, ports = append(hosts, profile.HostOf(s.prof.Controls[0])), append(ports, 443)
	}
	// Resolve and connect to every candidate at once, twice in parallel, so
	// that a dead service costs one connect timeout, not one per candidate,
	// and one lost SYN does not set the path's round trip.
	type cand struct {
		addr string
		rtt  float64
		ok   bool
		err  error
	}
	cands := make([]cand, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			ips, _, err := s.addrsFor(ctx, h, "tcp4", true)
			if err != nil || len(ips) == 0 {
				cands[i].err = err
				return
			}
			cands[i].addr = net.JoinHostPort(ips[0].String(), strconv.Itoa(ports[i]))
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			type res struct {
				d   time.Duration
				err error
			}
			ch := make(chan res, 2)
			for range 2 {
				goSafe(ctx, func() {
					d, err := s.connectRTT(cctx, cands[i].addr)
					ch <- res{d, err}
				})
			}
			// The first to connect sets the round trip; the other (a lost
			// SYN, most likely) is not waited for.
			for range 2 {
				r := <-ch
				if r.err != nil {
					cands[i].err = r.err
					continue
				}
				cands[i].rtt, cands[i].ok = ms(r.d), true
				break
			}
		})
	}
	wg.Wait()
	for i, c := range cands {
		if !c.ok {
			continue
		}
		note := ""
		if i > 0 {
			note = fmt.Sprintf(" to %s (the service did not accept connections)", hosts[i])
		}
		rtts, lost, tried := sampleConnects(ctx, s, c.addr, c.rtt)
		return latencyObservations(c.addr, rtts, lost, tried, note)
	}
	o := Observation{Probe: catalog.PLatency, Target: hosts[0], Status: Problem, Failure: catalog.FTimeout, Detail: "no connection succeeded"}
	if cands[0].addr != "" {
		o.Target = cands[0].addr
	}
	if cands[0].err != nil {
		o.Failure = Classify(cands[0].err)
	}
	return []Observation{o,
		{Probe: catalog.PJitter, Target: o.Target, Status: NotRun, Detail: "no round trip measured"},
		{Probe: catalog.PLoss, Target: o.Target, Status: NotRun, Detail: "no connection succeeded, so loss cannot be told from an outage"}}
}

// connectRTT connects once within the connect budget and returns the
// round trip: the kernel's figure for a real socket (or the connection's
// own, where it knows it), else the time the connect took. It teaches the
// budget the path's round trip.
func (s *state) connectRTT(ctx context.Context, addr string) (time.Duration, error) {
	d, wall, err := dialRTT(ctx, s.dialBudget, addr)
	if err == nil {
		s.path.saw(d, wall)
	}
	return d, err
}

// dialRTT connects once with dial and returns the round trip and the
// wall-clock time the connect took.
func dialRTT(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr string) (rtt, wall time.Duration, err error) {
	start := time.Now()
	c, err := dial(ctx, "tcp4", addr)
	wall = time.Since(start)
	if err != nil {
		return wall, wall, err
	}
	defer c.Close()
	return handshakeRTT(c, wall), wall, nil
}

// connectSample is one connect of the latency probe.
type connectSample struct {
	at     time.Time
	rtt    float64
	failed bool
}

func (c connectSample) lostAt(ms float64) bool { return c.failed || c.rtt > ms }

// sampleConnects starts its connects to addr one every few milliseconds,
// each in its own goroutine, until it has started them all, the evidence
// is settled, or the probe's deadline is near. Starting them on a clock,
// not as earlier ones finish, makes the count the same however fast this
// OS connects (a worker pool waiting on 600 ms round trips got 21 connects
// on Linux and 11 under Wine, and the verdict moved with it). A connect is
// lost when it fails, or when it takes longer than the path's shortest
// round trip (over all samples, the first included) plus most of a SYN
// retransmission timeout: then it completed only thanks to a resent SYN. A
// connect cut short by the probe's own deadline before that point is no
// evidence either way and is dropped; so connects start only while a loss
// could still be told apart before the deadline (dropping late failures but
// keeping late successes would hide loss).
func sampleConnects(ctx context.Context, s *state, addr string, firstRTT float64) (rtts []float64, lost, tried int) {
	// Forty connects (the first included) started over about 120 ms, as
	// long as the worker pool this replaced took on a 20 ms path: a burst
	// of SYNs smaller than a page load's.
	const samples, gap = 39, 3 * time.Millisecond
	retransmit := float64(catalog.LostAfter.Milliseconds()) * 0.9
	type res = connectSample
	var mu sync.Mutex
	out := []res{{rtt: firstRTT}}
	// Until a sample says otherwise, a first connect of over a second is
	// taken to have needed one resent SYN, so that sampling still starts.
	minRTT := firstRTT
	if firstRTT >= float64(catalog.LostAfter.Milliseconds()) {
		minRTT = firstRTT - float64(catalog.LostAfter.Milliseconds())
	}
	var wg sync.WaitGroup
	tick := time.NewTicker(gap)
	defer tick.Stop()
start:
	for i := 0; i < samples; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				break start
			case <-tick.C:
			}
		}
		mu.Lock()
		floor := minRTT
		settled := lossSettled(out, samples+1, minRTT+retransmit) && latencySettled(out, samples+1, minRTT+retransmit)
		mu.Unlock()
		if settled {
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Duration((floor+retransmit+50)*float64(time.Millisecond)) {
			break
		}
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			at := time.Now()
			d, err := s.connectRTT(ctx, addr)
			r := res{at: at, rtt: ms(d), failed: err != nil}
			if err != nil && ctx.Err() != nil && r.rtt <= floor+retransmit {
				return // cut short by the probe's deadline: no evidence
			}
			mu.Lock()
			out = append(out, r)
			if !r.failed && r.rtt < minRTT {
				minRTT = r.rtt
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(out[1:], func(a, b res) int { return a.at.Compare(b.at) })
	floor := math.Inf(1)
	for _, r := range out {
		if !r.failed {
			floor = math.Min(floor, r.rtt)
		}
	}
	for _, r := range out {
		tried++
		if r.failed || r.rtt > floor+retransmit {
			lost++
		} else {
			rtts = append(rtts, r.rtt)
		}
	}
	return rtts, lost, tried
}

// lossSettled: the connects lost so far already put the loss in the top
// band (catalog.LossPct) whatever the rest of the planned total do, so more samples
// cannot change the evidence (a loss-free or lightly lossy line is sampled
// in full: one more loss could move it). lostAfterMS is the slowest a
// connect may take and not count as lost.
func lossSettled(out []connectSample, total int, lostAfterMS float64) bool {
	lost := 0
	for _, r := range out {
		if r.lostAt(lostAfterMS) {
			lost++
		}
	}
	return 100*float64(lost)/float64(total) >= catalog.LossPct
}

// latencySettled: the median round trip of the connects that were not lost
// stays in its band (catalog.LatencyBands) however
// the rest of the planned total fare: more than half of the most there can
// be already lie in one band. Jitter, the median swing between
// connects, can move with any further sample, so it is not
// waited for once loss and latency are settled.
func latencySettled(out []connectSample, total int, lostAfterMS float64) bool {
	var edges []float64
	for _, b := range catalog.LatencyBands[:len(catalog.LatencyBands)-1] {
		edges = append(edges, b.Edge)
	}
	var ok []float64
	for _, r := range out {
		if !r.lostAt(lostAfterMS) {
			ok = append(ok, r.rtt)
		}
	}
	most := len(ok) + total - len(out) // if every remaining connect succeeded
	bands := make([]int, len(edges)+1)
	for _, v := range ok {
		b := 0
		for b < len(edges) && v >= edges[b] {
			b++
		}
		bands[b]++
	}
	for _, n := range bands {
		if 2*n > most {
			return true
		}
	}
	return false
}

// Jitter is how far round trips differ from one another: the median
// absolute difference over every pair of them. For a line whose round
// trips vary at random this has the same expected value as RFC 3550's
// difference between consecutive packets, but it uses every pair, so forty
// connects estimate it about as well as hundreds would consecutively (on a
// line swinging 80 ms either way the estimate fell under 25 ms in 3.6 % of
// samples of forty when taken consecutively, 0.2 % over all pairs), and one
// stall of this process moves only its own pairs, not the median.
func Jitter(rtts []float64) float64 {
	if len(rtts) < 2 {
		return 0
	}
	d := make([]float64, 0, len(rtts)*(len(rtts)-1)/2)
	for i := range rtts {
		for j := i + 1; j < len(rtts); j++ {
			d = append(d, math.Abs(rtts[i]-rtts[j]))
		}
	}
	return speed.Median(d)
}

func latencyObservations(addr string, rtts []float64, lost, tried int, note string) []Observation {
	med := speed.Median(rtts)
	jit := Jitter(rtts)
	lossPct := 100 * float64(lost) / float64(tried)
	lat := Observation{Probe: catalog.PLatency, Target: addr, Value: math.Round(med*10) / 10, Status: OK, Detail: fmt.Sprintf("median %.0f ms over %d connects%s", med, len(rtts), note)}
	if med >= catalog.HighLatencyMS {
		lat.Status, lat.Failure = Problem, catalog.FHighLatency
	}
	jo := Observation{Probe: catalog.PJitter, Target: addr, Value: math.Round(jit*10) / 10, Status: OK, Detail: fmt.Sprintf("%.0f ms%s", jit, note)}
	if jit >= catalog.HighJitterMS {
		jo.Status, jo.Failure = Problem, catalog.FHighJitter
	}
	lo := Observation{Probe: catalog.PLoss, Target: addr, Value: math.Round(lossPct*10) / 10, Status: OK, Detail: fmt.Sprintf("%d of %d connects lost%s", lost, tried, note)}
	if lossPct >= catalog.LossPct {
		lo.Status, lo.Failure = Problem, catalog.FLoss
	}
	return []Observation{lat, jo, lo}
}
