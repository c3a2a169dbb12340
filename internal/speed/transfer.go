package speed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type transferResult struct {
	mbps      float64
	streams   int
	stable    bool
	loadedRTT float64
	// loadedFloor is the shortest loaded round trip.
	loadedFloor float64
	lossPct     float64
	decided     bool
	stalled     time.Duration
	seconds     float64 // how long the sampler measured
}

// transfer moves data in one direction until the estimate is stable or the
// budget runs out. conns and client may be given (their connections already
// open), else the transfer makes its own.
func transfer(parent context.Context, o Options, pc *http.Client, conns *connTracker, client *http.Client, targets []Target, upload bool, budget time.Duration) (transferResult, error) {
	r := transferResult{lossPct: -1}
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	var moved atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	if conns == nil {
		conns = newConnTracker()
		client = conns.wrap(o.Client)
	}
	before, _ := conns.received() // what the warm-up requests brought
	var active atomic.Int32       // streams still moving data
	startStream := func(i int) {
		wg.Add(1)
		active.Add(1)
		go func() {
			defer wg.Done()
			defer active.Add(-1)
			t := targets[i%len(targets)]
			for ctx.Err() == nil {
				err := oneRequest(ctx, client, t.URL, upload, &moved)
				if err != nil && ctx.Err() == nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	// Latency under load: one-byte requests on their own connection.
	var loaded []float64
	var lmu sync.Mutex
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		select { // let the streams fill the queue first
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		for ctx.Err() == nil {
			p, err := pings(ctx, pc, targets[0].URL, 1, 0)
			if err == nil {
				lmu.Lock()
				loaded = append(loaded, p...)
				lmu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Start with a few streams at once (one flow leaves slow start too
	// slowly on a fast line), then add two while the rate still grows.
	streams := min(InitialStreams, o.MaxStreams)
	for i := range streams {
		startStream(i)
	}
	dir := "download"
	if upload {
		dir = "upload"
	}
	sm := newSampler(&moved, o.Progress, dir)
	if !upload {
		sm.count = conns.counter(before, &moved)
		sm.above, sm.below, sm.floor = o.StopAbove, o.StopBelow, o.DecisionFloor
	}
	addTwo := func(now time.Time, rate float64) {
		for range min(2, o.MaxStreams-streams) {
			startStream(streams)
			streams++
		}
		sm.added(now, rate)
		sm.changed = now
	}
	// Failed: a stream's error, once nothing came at all or every stream
	// has stopped on one (what arrived before says nothing of the line).
	failed := func() error {
		if e, _ := firstErr.Load().(error); e != nil && (moved.Load() == 0 || active.Load() == 0) {
			return e
		}
		return nil
	}
	r.mbps, r.stable = sm.run(ctx, func(now time.Time, rate, window float64) bool {
		if failed() != nil {
			return false
		}
		if now.Sub(sm.lastAdd) < 250*time.Millisecond {
			return true
		}
		if sm.rateAtAdd == 0 {
			// The first 250 ms set the baseline; a line already busier than
			// its streams' share gets two more at once (more flows smooth a
			// fast line's aggregate rate; waiting for growth would only
			// delay the estimate).
			if window > float64(streams)*PerStreamMbps && streams < o.MaxStreams {
				addTwo(now, rate)
			} else {
				sm.added(now, rate)
			}
			return true
		}
		// More streams only while the rate still grows and each stream
		// carries over 25 Mbps: one flow fills 25 Mbps within a few round
		// trips on any path up to 40 ms (a 125 KB window), so a slower line
		// is already full, and more flows would only fight in its queue.
		// (The share per stream is judged on the window's rate, which a
		// burst moves less than the last 250 ms.)
		if streams < o.MaxStreams && rate > sm.rateAtAdd*1.10 && window > float64(streams)*PerStreamMbps {
			addTwo(now, rate)
		}
		return true
	})
	r.decided, r.stalled, r.seconds = sm.decided, sm.stalled, time.Since(sm.start).Seconds()
	if e := failed(); e != nil && !r.stable && !r.decided {
		cancel()
		wg.Wait()
		return r, e
	}
	if r.mbps == 0 && moved.Load() == 0 && ctx.Err() == nil {
		cancel()
		wg.Wait()
		return r, ErrStalled
	}
	r.streams = streams
	if upload {
		r.lossPct = conns.retransPct()
	}
	cancel()
	wg.Wait()
	<-probeDone
	lmu.Lock()
	r.loadedRTT = Median(loaded)
	if len(loaded) > 0 {
		r.loadedFloor = slices.Min(loaded)
	}
	lmu.Unlock()
	if r.mbps == 0 {
		if e := firstErr.Load(); e != nil {
			return r, e.(error)
		}
		return r, ErrStalled
	}
	return r, nil
}

// oneRequest downloads (or uploads) one range, counting bytes as they move.
// A body that stops arriving for two seconds is an error, never a hang.
func oneRequest(ctx context.Context, c *http.Client, base string, upload bool, moved *atomic.Int64) error {
	u, err := RangeURL(base, chunk)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := newWatchdog(rctx, cancel, 2*time.Second)
	defer watch.stop()
	var req *http.Request
	if upload {
		req, _ = http.NewRequestWithContext(rctx, http.MethodPost, u, &countingReader{r: io.LimitReader(rand.Reader, chunk), n: moved, w: watch})
		req.ContentLength = chunk
		req.Header.Set("Content-Type", "application/octet-stream")
	} else {
		req, _ = http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	}
	resp, err := c.Do(req)
	if err != nil {
		if watch.fired() {
			return ErrStalled
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("server answered HTTP %d", resp.StatusCode)
	}
	if upload {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	want := resp.ContentLength
	n, err := io.Copy(io.Discard, &countingReader{r: resp.Body, n: moved, w: watch})
	if watch.fired() {
		return ErrStalled
	}
	if err == nil && want > 0 && n < want {
		return fmt.Errorf("body truncated after %d of %d bytes", n, want)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("body truncated after %d bytes", n)
	}
	return err
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
	w *watchdog
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n.Add(int64(n))
		c.w.kick()
	}
	return n, err
}

// watchdog cancels a request whose data stops flowing.
type watchdog struct {
	t      *time.Timer
	d      time.Duration
	fire   atomic.Bool
	cancel context.CancelFunc
}

func newWatchdog(ctx context.Context, cancel context.CancelFunc, d time.Duration) *watchdog {
	w := &watchdog{d: d, cancel: cancel}
	w.t = time.AfterFunc(d, func() {
		if ctx.Err() == nil {
			w.fire.Store(true)
		}
		cancel()
	})
	return w
}

func (w *watchdog) kick()       { w.t.Reset(w.d) }
func (w *watchdog) stop()       { w.t.Stop() }
func (w *watchdog) fired() bool { return w.fire.Load() }

func cloneTransport(c *http.Client) http.RoundTripper {
	if t, ok := c.Transport.(*http.Transport); ok {
		return t.Clone()
	}
	return http.DefaultTransport.(*http.Transport).Clone()
}
