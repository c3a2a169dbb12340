package speed

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	down, err := transfer(ctx, o, pc, dl, dlClient, targets, false, budget)
	res.DownMbps, res.Streams, res.Stable, res.LoadedRTTms, res.LoadedFloorMS = down.mbps, down.streams, down.stable, down.loadedRTT, down.loadedFloor
	res.Decided = down.decided
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

type transferResult struct {
	mbps      float64
	streams   int
	stable    bool
	loadedRTT float64
	// loadedFloor is the shortest loaded round trip.
	loadedFloor float64
	lossPct     float64
	decided     bool
}

// InitialStreams is how many parallel streams a transfer starts with;
// PerStreamMbps is the least each must carry before more are added.
const (
	InitialStreams = 2
	PerStreamMbps  = 25.0
)

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
	r.decided = sm.decided
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

// connTracker remembers the TCP connections a transfer opened, for TCP_INFO.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
	arr   map[net.Conn]*arrival
}

func newConnTracker() *connTracker { return &connTracker{arr: map[net.Conn]*arrival{}} }

func (t *connTracker) wrap(c *http.Client) *http.Client {
	tr := cloneTransport(c).(*http.Transport)
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err == nil {
			t.mu.Lock()
			t.conns = append(t.conns, conn)
			t.mu.Unlock()
		}
		return conn, err
	}
	tr.MaxConnsPerHost = 0
	tr.MaxIdleConnsPerHost = 16
	// Parallel streams must be parallel TCP flows: HTTP/2 would multiplex
	// them on one connection, where the server's scheduler can starve a
	// stream for seconds on a slow line.
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Transport: tr}
}

// received is the bytes that have arrived on every tracked connection, by
// the kernel's count (arrival.update), if it can tell for all of them (and
// there is one). A closed connection keeps the last count read from it.
func (t *connTracker) received() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, c := range t.conns {
		a := t.arr[c]
		r, ok := tcpReceived(c)
		switch {
		case ok && a == nil:
			a = &arrival{last: r}
			t.arr[c] = a
		case ok:
			a.update(r)
		case a == nil:
			return 0, false
		}
		n += a.count()
	}
	return n, true
}

// rcvCounters are a connection's receive counters in the kernel: bytes
// delivered in order (tcpi_bytes_received), data segments received, in
// order or not (tcpi_data_segs_in), of them out of order
// (tcpi_rcv_ooopack), and the sender's segment size (tcpi_rcv_mss).
type rcvCounters struct {
	bytes     uint64
	segs, ooo uint32
	mss       uint32
}

// arrival counts the bytes that have arrived on a connection, not only
// those in order. While a lost segment is missing, the kernel's in-order
// count stands still though the segments after it keep arriving (held out
// of order), and when the resend comes it jumps by all of them at once; a
// window that starts in such a hole and ends after it counts bytes that
// arrived before it (a 15 Mbps line read 18.5 Mbps, a one-second hole
// being filled). So the segments that arrive out of order are added as
// they come (held), and taken back when the in-order count moves further
// than the segments that arrived in order carry. Only out-of-order arrivals
// add to what is held: resends that fill a hole one segment at a time, or
// duplicates, arrive in order and add nothing. A segment counts at the
// size segments had while nothing was held (the in-order bytes per
// segment then; the sender's segment size before that). A small remainder
// of a filled hole is dropped; a larger one (a duplicate taken for an
// arrival) stays as a constant, which no window's difference sees.
// Kernels without the segment counters (before 4.6 and 5.4) give the
// in-order count.
// It starts from a connection's first counters (arrival{last: c}).
type arrival struct {
	last rcvCounters
	// held: bytes received out of order and not yet in order (estimated).
	held int64
	// cleanBytes, cleanSegs: the in-order bytes and segments of samples
	// in which nothing was held, for the size of a segment.
	cleanBytes, cleanSegs int64
}

// count is the bytes arrived: in order plus held.
func (a *arrival) count() int64 { return int64(a.last.bytes) + a.held }

func (a *arrival) update(c rcvCounters) {
	segs, ooo := int64(c.segs-a.last.segs), int64(c.ooo-a.last.ooo)
	inOrder := int64(c.bytes - a.last.bytes)
	a.last = c
	if ooo == 0 && a.held == 0 {
		a.cleanBytes += inOrder
		a.cleanSegs += segs
		return
	}
	size := float64(c.mss)
	if a.cleanSegs > 0 {
		size = float64(a.cleanBytes) / float64(a.cleanSegs)
	}
	released := max(0, inOrder-int64(float64(segs-ooo)*size))
	a.held = max(0, a.held+int64(float64(ooo)*size)-released)
	if ooo == 0 && a.held < 4*int64(c.mss) {
		a.held = 0
	}
}

// counter counts a download's bytes as they arrive, not as this process
// reads them, so a pause of this process does not bunch a window's bytes:
// the kernel's count (Linux TCP_INFO; arrival) less before, the warm-up requests'
// bytes. It is decided once: a transfer's connections are all kernel
// sockets or none are (the fault lab's); a kernel that reports nothing
// (older than 4.1) while bytes are read counts as none, and then the bytes
// read (moved) are counted.
func (t *connTracker) counter(before int64, moved *atomic.Int64) func() int64 {
	mode, last := 0, int64(0) // mode 0 undecided, 1 kernel, 2 read
	return func() int64 {
		n, ok := t.received()
		n -= before
		switch {
		case mode == 0 && !ok:
			mode = 2
		case mode == 0 && n > 0:
			mode = 1
		case mode == 0 && moved.Load() > 64<<10:
			mode = 2
		}
		switch {
		case mode == 1 && ok:
			last = n
			return n
		case mode == 1:
			return last
		}
		return moved.Load()
	}
}

func (t *connTracker) retransPct() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var retrans, sent uint64
	ok := false
	for _, c := range t.conns {
		r, s, good := tcpRetrans(c)
		if good {
			ok = true
			retrans += r
			sent += s
		}
	}
	if !ok || sent == 0 {
		return -1
	}
	return math.Round(float64(retrans)/float64(sent)*10000) / 100
}

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func spread(xs []float64, m float64) float64 {
	w := 0.0
	for _, x := range xs {
		w = math.Max(w, math.Abs(x-m)/m)
	}
	return w
}

func stddev(xs []float64, m float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)-1))
}

func meanAbsDiff(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	s := 0.0
	for i := 1; i < len(xs); i++ {
		s += math.Abs(xs[i] - xs[i-1])
	}
	return math.Round(s/float64(len(xs)-1)*10) / 10
}

// point is the byte counter at a tick.
type point struct {
	t time.Time
	b int64
}

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
}

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
		case now := <-tick.C:
			b := s.moved.Load()
			if s.count != nil {
				b = s.count()
			}
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
