package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/speed"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// throughputTimeout bounds the quick sample (finding the servers and about a
// second of measuring, and a second from a neutral server when the
// service's servers were slow) so that a check stays within the check's
// five seconds; --deep gives the full test its ten seconds and some.
func throughputTimeout(Timeouts) time.Duration { return 3500 * time.Millisecond }

// DecisionFloor is the least a quick sample measures before it may stop
// early (speed.Measure raises it to eight idle round trips on long paths,
// so slow start is left behind).
const DecisionFloor = 150 * time.Millisecond

// AtLeast begins the detail of a quick sample that stopped once the line
// was clearly fast enough: its figure is a lower bound.
const AtLeast = "at least "

// DeepTimeout is the throughput probe's bound with --deep.
const DeepTimeout = 14 * time.Second

// HTTPClient returns a client that reaches the world as the probes do: names
// through the system resolver, TLS verified with the system roots at the
// local clock.
func HTTPClient(ctx context.Context, env *Env) *http.Client {
	facts, _ := readFacts(ctx, env.Facts)
	if facts == nil {
		facts = &sysinfo.Facts{}
	}
	s := &state{ctx: context.Background(), env: env, facts: facts, timeouts: DefaultTimeouts, lookups: map[lookupKey]*lookupResult{}}
	return s.httpClient(nil, true)
}

// speedBackends picks where to measure: a given server, or the service's
// own servers where the profile names them.
func (s *state) speedBackends(c *http.Client) []speed.Backend {
	if s.speed.Server != "" {
		return []speed.Backend{speed.Server{URL: s.speed.Server}}
	}
	var out []speed.Backend
	if s.prof.Name == "netflix" {
		out = append(out, speed.Fast{Client: c})
	}
	// The full test falls back to M-Lab's ndt7 (any service). So does the
	// quick sample of a built-in service whose own video servers cannot be
	// asked for (only Netflix hands its out, through fast.com): the line's
	// speed from a neutral server is what it can know.
	if s.speed.Deep || (s.prof.Name != "netflix" && len(s.prof.VideoDomains) > 0) {
		out = append(out, speed.NDT7{Client: c})
	}
	return out
}

func probeThroughput(ctx context.Context, s *state) []Observation {
	c := s.httpClient(nil, true)
	defer c.CloseIdleConnections()
	backends := s.speedBackends(c)
	if len(backends) == 0 {
		return []Observation{{Status: NotRun, Detail: "no speed-test server for this site (use --speed-server)"},
			{Probe: catalog.PLoadedRTT, Status: NotRun, Detail: "no speed-test server"}}
	}
	// The servers are found while the latency probe connects; the
	// measurement itself waits for its connects, on a quiet line (see
	// QuietWait).
	quiet := func() {
		if s.sampled != nil {
			select {
			case <-s.sampled:
			case <-time.After(QuietWait):
			case <-ctx.Done():
			}
		}
	}
	// The quick sample measures for up to a second, and stops as soon as the
	// rate is clearly enough for every quality (with the verdicts' headroom)
	// or clearly too little for the lowest (speed.DecisionMargin).
	o := speed.Options{Client: c, Max: time.Second, Measuring: quiet,
		StopAbove: speed.Headroom * s.prof.UHDMbps, StopBelow: s.prof.SDMbps, DecisionFloor: DecisionFloor}
	if s.speed.Deep {
		o = speed.Options{Client: c, Max: 10 * time.Second, Upload: true, Measuring: quiet}
	}
	// A neutral server is found meanwhile, for the reference sample.
	var ref chan []speed.NDT7Target
	if !s.speed.Deep && s.speed.Server == "" && s.prof.Name == "netflix" {
		ref = make(chan []speed.NDT7Target, 1)
		goSafe(ctx, func() {
			ts, _ := speed.NDT7{Client: c}.Targets(ctx)
			ref <- ts
		})
	}
	res, notes, err := speed.Run(ctx, backends, o)
	if err == nil && !s.speed.Deep && res.Busy() && (res.DownMbps < s.prof.HDMbps || res.Absent()) {
		// Too little, measured while this process mostly waited for the
		// CPU: measured once more if the budget allows (the figure says
		// more about the machine than the line), else not counted below.
		// The second sample ends in time for the neutral one and for this
		// probe to answer before its deadline.
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl) - 1300*time.Millisecond; left >= time.Second {
				rctx, cancel := context.WithTimeout(ctx, left)
				if again, n2, err2 := speed.Run(rctx, backends, o); err2 == nil && again.StalledSeconds < res.StalledSeconds {
					res, notes = again, n2
				}
				cancel()
			}
		}
	}
	if s.speed.OnResult != nil {
		s.speed.OnResult(res, notes)
	}
	if err != nil {
		why := strings.Join(notes, "; ")
		var me *speed.MeasureError
		if errors.As(err, &me) && ctx.Err() == nil && Unreachable(Classify(me.Err)) {
			// Servers were handed out and then could not be used: for the
			// service's own video servers, that is what a viewer sees as
			// "the menus load but the video never starts".
			return []Observation{{Status: Problem, Failure: catalog.FVideoUnreachable, Detail: "the video servers could not be used: " + why},
				{Probe: catalog.PLoadedRTT, Status: NotRun, Detail: "throughput not measured"}}
		}
		return []Observation{{Status: NotRun, Detail: "throughput not measured: " + why},
			{Probe: catalog.PLoadedRTT, Status: NotRun, Detail: "throughput not measured"}}
	}
	tp := Observation{Target: res.Server, Value: res.DownMbps, Status: OK,
		Detail: fmt.Sprintf("%.1f Mbps down from %s (%s, %d streams, %.1f s%s)", res.DownMbps, res.Server, res.Backend, res.Streams, res.Seconds, stallNote(res))}
	if res.Decided {
		tp.Detail = fmt.Sprintf(AtLeast+"%.1f Mbps down from %s (%s, %d streams; stopped after %.1f s, clearly enough for every quality)", res.DownMbps, res.Server, res.Backend, res.Streams, res.Seconds)
		if res.DownMbps < s.prof.SDMbps {
			tp.Detail = fmt.Sprintf("under %.1f Mbps down from %s (%s, %d streams; stopped after %.1f s, clearly too little even for SD)", res.DownMbps*speed.DecisionMargin, res.Server, res.Backend, res.Streams, res.Seconds)
		}
	}
	switch {
	case res.DownMbps < s.prof.SDMbps:
		tp.Status, tp.Failure = Problem, catalog.FBelowSD
		tp.Detail += fmt.Sprintf("; even SD needs %.0f Mbps", s.prof.SDMbps)
	case res.DownMbps < s.prof.HDMbps:
		tp.Status, tp.Failure = Problem, catalog.FLowThroughput
		tp.Detail += fmt.Sprintf("; HD needs %.0f Mbps", s.prof.HDMbps)
	}
	if (tp.Status == Problem && res.Busy()) || (!s.speed.Deep && res.Absent()) {
		// Too little, but measured while this process often waited for
		// the CPU, or any figure measured while it mostly waited: the
		// figure is the machine's, not the line's.
		return []Observation{{Target: res.Server, Status: NotRun, Detail: busyDetail(res)},
			{Probe: catalog.PLoadedRTT, Status: NotRun, Detail: "throughput not measured"},
			{Probe: catalog.PThroughputRef, Status: NotRun, Detail: "throughput not measured"}}
	}
	refObs := Observation{Probe: catalog.PThroughputRef, Status: NotRun, Detail: "not needed: the service's video servers carry enough"}
	if tp.Status == Problem && ref != nil {
		refObs = s.referenceSample(ctx, c, ref)
	}
	lr := Observation{Probe: catalog.PLoadedRTT, Target: res.Server, Value: res.LoadedRTTms, Status: OK,
		Detail: fmt.Sprintf("%.0f ms under load, %.0f ms idle (%.0f RPM)", res.LoadedRTTms, res.IdleRTTms, res.RPM)}
	if res.LoadedRTTms == 0 {
		lr.Status, lr.Detail = NotRun, "no round trip measured under load"
	} else if res.LoadedFloorMS > 0 && res.LoadedFloorMS-res.IdleRTTms > catalog.BufferbloatMS {
		// Judged on the shortest loaded round trip: a standing queue raises
		// every sample, a busy machine only some.
		lr.Status, lr.Failure = Problem, catalog.FBufferbloat
	}
	return []Observation{tp, lr, refObs}
}

// referenceSample is the quick sample's second opinion, taken only when the
// service's video servers carry too little: the same kind of sample from a
// neutral server (M-Lab's ndt7, found through its locate service), so that
// a slow path to the service (throttled, congested peering) is told apart
// from a slow line. It runs after the video sample, not beside it, so
// neither takes half the line from the other.
func (s *state) referenceSample(ctx context.Context, c *http.Client, found <-chan []speed.NDT7Target) Observation {
	o := Observation{Probe: catalog.PThroughputRef}
	var ts []speed.NDT7Target
	select {
	case ts = <-found:
	case <-ctx.Done():
	}
	if len(ts) == 0 {
		o.Status, o.Detail = NotRun, "no neutral speed-test server could be found"
		return o
	}
	budget := time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)-200*time.Millisecond)
	}
	if budget < 300*time.Millisecond {
		o.Status, o.Detail = NotRun, "no time left for a neutral sample"
		return o
	}
	res, err := speed.NDT7{Client: c}.MeasureTarget(ctx, ts[0], speed.Options{Client: c, Max: budget})
	o.Target = res.Server
	if err != nil {
		o.Status, o.Failure = NotRun, Classify(err)
		o.Detail = "the neutral server could not be used: " + err.Error()
		return o
	}
	if res.Busy() && res.DownMbps < s.prof.HDMbps {
		// A busy machine's figure is a lower bound: fast enough still
		// counts, too slow says nothing.
		o.Status, o.Detail = NotRun, busyDetail(res)
		return o
	}
	o.Status, o.Value = OK, res.DownMbps
	o.Detail = fmt.Sprintf("%.1f Mbps down from a neutral server (%s, M-Lab's ndt7, %.1f s)", res.DownMbps, res.Server, res.Seconds)
	switch {
	case res.DownMbps < s.prof.SDMbps:
		o.Status, o.Failure = Problem, catalog.FBelowSD
	case res.DownMbps < s.prof.HDMbps:
		o.Status, o.Failure = Problem, catalog.FLowThroughput
	}
	return o
}

// busyDetail says why a sample counts for nothing: this computer was too
// busy to read what the line carried.
func busyDetail(res speed.Result) string {
	return fmt.Sprintf("not measured: this computer was too busy to read the data (%.1f Mbps, but the check waited for the processor %.2f s of %.2f s); run the check again when it is less busy",
		res.DownMbps, res.StalledSeconds, res.MeasuredSeconds)
}

// stallNote adds how long the check waited for the processor, when it did.
func stallNote(res speed.Result) string {
	if res.StalledSeconds < 0.05 {
		return ""
	}
	return fmt.Sprintf("; waited %.2f s of %.2f s for the processor", res.StalledSeconds, res.MeasuredSeconds)
}
