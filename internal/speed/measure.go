package speed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Target is one server a backend hands out: an HTTP URL that serves byte
// ranges at URL + "/range/0-N" (the Open Connect convention, which Serve
// follows too) and accepts uploads by POST to the same address.
type Target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// RangeURL inserts "/range/0-(n-1)" after the target's path, keeping its query.
func RangeURL(base string, n int64) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad target URL %q", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + fmt.Sprintf("/range/0-%d", n-1)
	u.RawPath = ""
	return u.String(), nil
}

// Options tune a measurement.
type Options struct {
	Client     *http.Client
	Max        time.Duration // hard cap for the whole test (default 10 s)
	MaxStreams int           // default 8
	Upload     bool          // also measure upload
	// Progress receives live samples (Mbps, "download" or "upload").
	Progress func(direction string, mbps float64)
	// Decision-aware stopping of a quick sample: the download stops once
	// its lower bound clears StopAbove Mbps, or (after twice the floor) its
	// upper bound falls below StopBelow, after at least DecisionFloor; the
	// result is then Decided, and its rate a bound, not a stable estimate.
	StopAbove, StopBelow float64
	DecisionFloor        time.Duration
	// Measuring, if set, is called once the servers are found, just before
	// the idle round trips (the check waits there for a quiet line).
	Measuring func()
}

// Result is one measurement.
type Result struct {
	Backend     string  `json:"backend"`
	Server      string  `json:"server"`
	DownMbps    float64 `json:"download_mbps"`
	UpMbps      float64 `json:"upload_mbps,omitempty"`
	IdleRTTms   float64 `json:"idle_latency_ms"`
	LoadedRTTms float64 `json:"loaded_latency_ms"`
	// LoadedFloorMS is the shortest round trip under load: a standing queue
	// (bufferbloat) raises it, while a pause of this process only raises
	// single samples, so verdicts use it and not the median.
	LoadedFloorMS float64 `json:"loaded_latency_floor_ms,omitempty"`
	RPM           float64 `json:"rpm"`
	JitterMs      float64 `json:"jitter_ms"`
	LossPct       float64 `json:"loss_pct"` // -1: not measured
	Streams       int     `json:"streams"`
	Stable        bool    `json:"stable"`
	// Decided: a quick sample stopped as soon as the rate was clearly above
	// (or below) what the verdict needs (Options.StopAbove).
	Decided bool    `json:"decided,omitempty"`
	Seconds float64 `json:"seconds"`
	// StalledSeconds is how long this process waited for the CPU while the
	// download was measured (ticks of the sampler that came late): bytes
	// not read then are bytes the line was not asked for, so a figure
	// measured mostly stalled says more about the machine than the line.
	StalledSeconds float64 `json:"stalled_seconds,omitempty"`
	// MeasuredSeconds is how long the download was measured.
	MeasuredSeconds float64 `json:"measured_seconds,omitempty"`
}

// Busy reports whether the machine, not the line, set the figure: this
// process was stalled for over a fifth of the download's measuring.
func (r Result) Busy() bool {
	return r.MeasuredSeconds > 0 && r.StalledSeconds > r.MeasuredSeconds/5
}

// Absent reports whether this process was stalled for most of the
// measuring: the figure then holds whatever the senders and buffers did
// while nobody read (a starved lab shaper's burst, a socket buffer drained
// at once), in either direction, and says nothing of the line.
func (r Result) Absent() bool {
	return r.MeasuredSeconds > 0 && r.StalledSeconds > r.MeasuredSeconds/2
}

// Errors a backend reports in one clear line.
var (
	ErrNoTargets = errors.New("no test servers were handed out")
	ErrStalled   = errors.New("the server stopped sending data")
)

const chunk = 25 << 20 // bytes per range request, as fast.com clients ask

// Measure runs the test against targets.
func Measure(ctx context.Context, targets []Target, o Options) (Result, error) {
	if len(targets) == 0 {
		return Result{LossPct: -1}, ErrNoTargets
	}
	if o.Max <= 0 {
		o.Max = 10 * time.Second
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 8
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Measuring != nil {
		o.Measuring()
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Max)
	defer cancel()
	res := Result{Server: targets[0].Name, LossPct: -1}
	if time.Until(deadline(ctx)) < 400*time.Millisecond {
		return res, errors.New("not enough time left to measure")
	}
	if res.Server == "" {
		res.Server = hostOf(targets[0].URL)
	}

	// The round trips, idle and under load, are timed on a connection of
	// their own, opened by the idle ones, so that no loaded sample pays for
	// a handshake.
	// Its bytes are counted with the download's: the pings under load are
	// part of what the line carries then (about 0.2 % of a 5 Mbps line).
	dl := newConnTracker()
	pc := &http.Client{Transport: dl.wrap(o.Client).Transport, Timeout: 2 * time.Second}
	defer pc.CloseIdleConnections()
	// Meanwhile the download's first streams open their connections (a
	// one-byte request each), so the transfer starts with data, not with
	// handshakes; a few small requests do not load the line.
	dlClient := dl.wrap(o.Client)
	defer dlClient.CloseIdleConnections()
	var warm sync.WaitGroup
	for range min(InitialStreams, o.MaxStreams) {
		warm.Go(func() { _, _ = pings(ctx, dlClient, targets[0].URL, 1, 0) })
	}
	idle, err := pings(ctx, pc, targets[0].URL, idlePings(o), 0)
	warm.Wait()
	if err != nil {
		return res, fmt.Errorf("cannot reach %s: %w", res.Server, err)
	}
	res.IdleRTTms = Median(idle)
	res.JitterMs = meanAbsDiff(idle)
	if o.DecisionFloor > 0 {
		// Slow start needs a few round trips to fill a long path.
		o.DecisionFloor = max(o.DecisionFloor, time.Duration(8*res.IdleRTTms*float64(time.Millisecond)))
	}

	budget := time.Until(deadline(ctx))
	if o.Upload {
		budget = budget * 6 / 10
	}
	tctx := ctx
	if floor := o.Max * 3 / 4; !o.Upload && budget < floor {
		// The idle round trips took most of the time (a busy machine, a
		// slow server): the download still measures for three quarters of
		// it, within the caller's bounds, as a window of a few hundred
		// milliseconds reads slow start, not the line.
		budget, tctx = floor, parent
	}
	down, err := transfer(tctx, o, pc, dl, dlClient, targets, false, budget)
	res.DownMbps, res.Streams, res.Stable, res.LoadedRTTms, res.LoadedFloorMS = down.mbps, down.streams, down.stable, down.loadedRTT, down.loadedFloor
	res.Decided = down.decided
	res.StalledSeconds, res.MeasuredSeconds = roundCs(down.stalled.Seconds()), roundCs(down.seconds)
	if err != nil {
		return res, err
	}
	if res.LoadedRTTms > 0 {
		res.RPM = math.Round(60000 / res.LoadedRTTms)
	}
	if o.Upload && ctx.Err() == nil {
		up, err := transfer(ctx, o, pc, nil, nil, targets, true, time.Until(deadline(ctx)))
		res.UpMbps, res.LossPct = up.mbps, up.lossPct
		res.Stable = res.Stable && up.stable
		if err != nil {
			return res, err
		}
	}
	res.Seconds = math.Round(time.Since(start).Seconds()*100) / 100
	return res, nil
}

// idlePings: the idle round trip from five one-byte requests; three for a
// quick sample that may stop early (the median of three still drops one
// slow outlier).
func idlePings(o Options) int {
	if o.StopAbove > 0 || o.StopBelow > 0 {
		return 3
	}
	return 5
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// pings makes n one-byte range requests and returns their round trips in ms,
// spaced by gap.
func pings(ctx context.Context, c *http.Client, base string, n int, gap time.Duration) ([]float64, error) {
	u, err := RangeURL(base, 1)
	if err != nil {
		return nil, err
	}
	var out []float64
	var lastErr error
	for i := 0; i < n && ctx.Err() == nil; i++ {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		t := time.Now()
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode/100 != 2 {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
		}
		cancel()
		if err != nil {
			lastErr = err
			if i == 0 {
				return nil, err
			}
			continue
		}
		out = append(out, float64(time.Since(t).Microseconds())/1000)
		if gap > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(gap):
			}
		}
	}
	if len(out) == 0 {
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		return nil, lastErr
	}
	return out, nil
}

// InitialStreams is how many parallel streams a transfer starts with;
// PerStreamMbps is the least each must carry before more are added.
const (
	InitialStreams = 2
	PerStreamMbps  = 25.0
)

// The stopping rule (doc.go): samples every Tick of the rate over the last
// Window; stable when the last Settle samples lie within ±Spread of their
// mean, and the windows of all of them begin after the first tick (a slow
// line's: after the first second) and after streams were last added (so a
// fast line settles after 0.85 s at the earliest).
const (
	Tick   = 50 * time.Millisecond
	Window = 500 * time.Millisecond
	Settle = 6
	Spread = 0.02
	// SlowLineMbps: under this rate the window is twice as long, under a
	// quarter of it eight times (4 s: a shaper's burst after a stall weighs
	// under 2 % in it), and the first second is left out.
	SlowLineMbps = 40.0
)

// Decision bounds of a quick sample (Options.StopAbove, StopBelow): the
// estimate counts as clear of a need only by this factor, which covers a
// burst the line's buffer lets through at the start and sampling error.
const DecisionMargin = 1.1

// roundCs rounds seconds to hundredths, as reports show them.
func roundCs(s float64) float64 { return math.Round(s*100) / 100 }
