package speed

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// point is the byte counter at a tick.
type point struct {
	t time.Time
	b int64
}

// sampler applies the stopping rule to a byte counter.
type sampler struct {
	moved     *atomic.Int64
	progress  func(string, float64)
	dir       string
	start     time.Time
	lastAdd   time.Time
	rateAtAdd float64
	// changed: when streams were last added (start: none yet).
	changed time.Time
	// count is the byte counter (nil: moved).
	count func() int64
	// Decision-aware stopping (zero: off): stop once the estimate is
	// clearly above above or below below, after floor.
	above, below float64
	floor        time.Duration
	decided      bool
	// stalled is how long this process did not get to run while
	// measuring: ticks that arrived late or not at all (a busy machine, not
	// a slow line, since the kernel's socket buffers fill while nobody
	// reads them, and the sender waits).
	stalled time.Duration
}

// stallGap is the tick gap beyond which the time past one tick counts as
// stalled: a ticker fires on time however slow the line is, so a late tick
// is this process waiting for the CPU.
const stallGap = 3 * Tick

func newSampler(moved *atomic.Int64, progress func(string, float64), dir string) *sampler {
	now := time.Now()
	return &sampler{moved: moved, progress: progress, dir: dir, start: now, lastAdd: now, changed: now}
}

func (s *sampler) added(now time.Time, rate float64) { s.lastAdd, s.rateAtAdd = now, rate }

// run samples until the estimate is stable or decided, ctx ends, the moved
// counter stays at zero for 1.5 s, or each (given the rate over the last
// 250 ms and over the window) returns false. It returns the
// estimate and whether it was stable (else the last sample).
func (s *sampler) run(ctx context.Context, each func(now time.Time, recent, window float64) bool) (float64, bool) {
	hist := []point{{s.start, 0}}
	var samples []float64
	var incs []float64 // Mbps moved in each tick, for the decision's bounds
	tick := time.NewTicker(Tick)
	defer tick.Stop()
	lastRead := time.Now()
	last := func() float64 {
		if len(samples) == 0 {
			return 0
		}
		return samples[len(samples)-1]
	}
	for {
		select {
		case <-ctx.Done():
			return last(), false
		case <-tick.C:
			// Judged on when the tick is read, which holds both a tick
			// read late and the ticks dropped meanwhile. The byte count is
			// timed when it is taken: the tick's own time is when it fired,
			// and after a stall the bytes that arrived meanwhile set against
			// it read as a rate the line never had.
			read := time.Now()
			if gap := read.Sub(lastRead); gap > stallGap {
				s.stalled += gap - Tick
			}
			lastRead = read
			b := s.moved.Load()
			if s.count != nil {
				b = s.count()
			}
			now := time.Now() // after the count: no byte is timed before it arrived
			if dt := now.Sub(hist[len(hist)-1].t).Seconds(); dt > 0 {
				incs = append(incs, float64(b-hist[len(hist)-1].b)*8/dt/1e6)
			}
			hist = append(hist, point{now, b})
			// The last 250 ms of ticks: the window's length is chosen by
			// it, and growth judged on it (the window's rate keeps rising
			// for a Window after the start on any line).
			recent := mean(incs[max(0, len(incs)-5):])
			// A slow line is judged over a longer window: a lost packet, or
			// the shaper's burst, weighs more in its few packets.
			// Its first second is left out too, as iperf3's -O 1 does: the
			// losses of slow start are recovered then, and a window that
			// spans a recovery counts bytes that arrived before it.
			win := Window
			switch {
			case recent < SlowLineMbps/4:
				win = 8 * Window
			case recent < SlowLineMbps:
				win = 2 * Window
			}
			j := 0
			for j < len(hist)-1 && now.Sub(hist[j].t) > win {
				j++
			}
			base := point{s.start, 0}
			if now.Sub(s.start) > win {
				base = hist[max(j-1, 0)]
			}
			dt := now.Sub(base.t).Seconds()
			if dt <= 0 {
				continue
			}
			rate := float64(b-base.b) * 8 / dt / 1e6
			samples = append(samples, rate)
			if s.progress != nil {
				s.progress(s.dir, rate)
			}
			el := now.Sub(s.start)
			// The settling samples' windows must all measure the same
			// streams, with the start's burst (a token bucket, socket
			// buffers: it arrives in the first tick) or a slow line's
			// first second behind them: a 1,000 Mbps line read 962 when
			// two of six windows still held the start's 1.25 MB.
			from := s.start.Add(Tick)
			if win > Window {
				from = s.start.Add(time.Second)
			}
			if s.changed.After(from) {
				from = s.changed
			}
			// A sample's window reaches back up to a tick beyond win.
			oldest := now.Add(-time.Duration(Settle)*Tick - win)
			if !oldest.Before(from) && len(samples) >= Settle {
				w := samples[len(samples)-Settle:]
				if m := mean(w); m > 0 && spread(w, m) <= Spread {
					return m, true
				}
			}
			if s.floor > 0 && el >= s.floor && len(incs) >= 4 {
				// Bounds on the rate: the mean of the per-tick rates less (or
				// plus) two standard errors, so a line that stalls now and
				// then (loss) is measured in full; the whole run's average
				// (which understates a line still in slow start) caps the
				// lower, and DecisionMargin widens both.
				// The first tick is left out: what a buffer on the way lets
				// through at once (a token bucket's burst, socket buffers)
				// arrives in it.
				first := hist[1]
				avg := float64(b-first.b) * 8 / now.Sub(first.t).Seconds() / 1e6
				m := mean(incs[1:])
				se := 2 * stddev(incs[1:], m) / math.Sqrt(float64(len(incs)-1))
				lo, hi := min(avg, m-se)/DecisionMargin, max(rate, m+se)*DecisionMargin
				if (s.above > 0 && lo > s.above) || (s.below > 0 && hi < s.below && el >= 2*s.floor) {
					s.decided = true
					return min(avg, rate), false
				}
			}
			if el > 1500*time.Millisecond && s.moved.Load() == 0 {
				return 0, false
			}
			if !each(now, recent, rate) {
				return last(), false
			}
		}
	}
}
