package speed

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// NDT7Subprotocol is the WebSocket subprotocol of M-Lab's ndt7.
const NDT7Subprotocol = "net.measurementlab.ndt.v7"

// NDT7 is M-Lab's ndt7 protocol (WebSocket over TLS; one connection per
// direction, the server sends binary messages during the download, the
// client during the upload, both may send JSON measurements as text), with
// servers found through the locate service (v2).
type NDT7 struct {
	Client *http.Client
	Locate string // default https://locate.measurementlab.net/v2/nearest/ndt/ndt7
}

// Name implements Backend.
func (n NDT7) Name() string { return "ndt7" }

// NDT7Target is one server handed out by the locate service.
type NDT7Target struct {
	Machine  string
	Download string
	Upload   string
}

// ParseLocate reads the locate service's v2 answer.
func ParseLocate(body []byte) ([]NDT7Target, error) {
	var doc struct {
		Results []struct {
			Machine string            `json:"machine"`
			URLs    map[string]string `json:"urls"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the locate service answered something else than JSON: %w", err)
	}
	var out []NDT7Target
	for _, r := range doc.Results {
		t := NDT7Target{Machine: r.Machine, Download: r.URLs["wss:///ndt/v7/download"], Upload: r.URLs["wss:///ndt/v7/upload"]}
		if t.Download != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		// M-Lab answers 200 with no results when it is out of capacity.
		return nil, ErrNoTargets
	}
	return out, nil
}

// Measure implements Backend.
func (n NDT7) Measure(ctx context.Context, o Options) (Result, error) {
	targets, err := n.Targets(ctx)
	if err != nil {
		return Result{LossPct: -1}, errUnusable{err}
	}
	return n.MeasureTarget(ctx, targets[0], o)
}

func (n NDT7) client() *http.Client {
	if n.Client == nil {
		return &http.Client{}
	}
	return n.Client
}

// Targets asks the locate service for the nearest servers.
func (n NDT7) Targets(ctx context.Context) ([]NDT7Target, error) {
	loc := n.Locate
	if loc == "" {
		loc = "https://locate.measurementlab.net/v2/nearest/ndt/ndt7"
	}
	body, err := get(ctx, n.client(), loc, 1<<20)
	if err != nil {
		return nil, err
	}
	return ParseLocate(body)
}

// MeasureTarget measures one server the locate service handed out.
func (n NDT7) MeasureTarget(ctx context.Context, t NDT7Target, o Options) (Result, error) {
	c := n.client()
	if o.Max <= 0 {
		o.Max = 10 * time.Second
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Max)
	defer cancel()
	res := Result{Server: t.Machine, LossPct: -1, Streams: 1}
	if res.Server == "" {
		res.Server = hostOf(t.Download)
	}
	budget := time.Until(deadline(ctx))
	if o.Upload && t.Upload != "" {
		budget = budget * 6 / 10
	}
	down, err := ndt7Transfer(ctx, c, t.Download, false, budget, o.Progress, o)
	if err != nil {
		return res, err
	}
	res.DownMbps, res.Stable, res.IdleRTTms, res.LoadedRTTms, res.JitterMs = down.mbps, down.stable, down.idle, down.loaded, down.jitter
	res.StalledSeconds, res.MeasuredSeconds = roundCs(down.stalled.Seconds()), roundCs(down.seconds)
	res.Decided = down.decided
	if res.LoadedRTTms > 0 {
		res.RPM = math.Round(60000 / res.LoadedRTTms)
	}
	if o.Upload && t.Upload != "" && ctx.Err() == nil {
		up, err := ndt7Transfer(ctx, c, t.Upload, true, time.Until(deadline(ctx)), o.Progress, Options{})
		if err != nil {
			return res, err
		}
		res.UpMbps, res.Stable = up.mbps, res.Stable && up.stable
	}
	res.Seconds = math.Round(time.Since(start).Seconds()*100) / 100
	return res, nil
}

type ndt7Result struct {
	mbps, idle, loaded, jitter float64
	stable                     bool
	stalled                    time.Duration
	seconds                    float64
	decided                    bool
}

// ndt7Transfer runs one subtest. Round trips are WebSocket pings: three
// before the transfer (idle), then one every 250 ms during it (loaded, as
// they queue behind the data).
// ndt7Transfer measures one direction; a download stops early once the
// rate is clearly above o.StopAbove or below o.StopBelow (after
// o.DecisionFloor), as a quick sample does.
func ndt7Transfer(parent context.Context, c *http.Client, u string, upload bool, budget time.Duration, progress func(string, float64), o Options) (ndt7Result, error) {
	var r ndt7Result
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c, Subprotocols: []string{NDT7Subprotocol},
		HTTPHeader: http.Header{"User-Agent": {"StreamDoctor"}}})
	if err != nil {
		if resp != nil && resp.StatusCode/100 != 1 {
			return r, fmt.Errorf("ndt7 server answered HTTP %d", resp.StatusCode)
		}
		return r, err
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != NDT7Subprotocol {
		return r, errors.New("ndt7 server did not accept the ndt7 subprotocol")
	}
	conn.SetReadLimit(1 << 25)
	var moved atomic.Int64
	readErr := make(chan error, 1)
	// A reader must run for pings to be answered, in both subtests. Bytes
	// are counted as they arrive, not once a whole message has (a message
	// can be a megabyte: seconds on a slow line).
	go func() {
		buf := make([]byte, 32<<10)
		for {
			typ, rd, err := conn.Reader(ctx)
			if err != nil {
				readErr <- err
				return
			}
			if typ == websocket.MessageBinary && upload {
				readErr <- errors.New("ndt7 server sent data during the upload")
				return
			}
			for {
				n, err := rd.Read(buf)
				if typ == websocket.MessageBinary {
					moved.Add(int64(n))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr <- err
					return
				}
			}
		}
	}()
	ping := func() (float64, error) {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		defer pcancel()
		t := time.Now()
		if err := conn.Ping(pctx); err != nil {
			return 0, err
		}
		return float64(time.Since(t).Microseconds()) / 1000, nil
	}
	var idle []float64
	// The idle round trips come before the transfer's sampling; a short
	// sample (the check's reference, a second) has no time for them: on a
	// slow line each waits behind the data the server already sends.
	for i := 0; i < 3 && budget >= 2*time.Second; i++ {
		if p, err := ping(); err == nil {
			idle = append(idle, p)
		}
	}
	r.idle, r.jitter = Median(idle), meanAbsDiff(idle)
	var writeErr atomic.Value
	var wg sync.WaitGroup
	if upload {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 1 << 13
			msg := make([]byte, 1<<20)
			_, _ = rand.Read(msg)
			for ctx.Err() == nil {
				// Grow messages as the spec suggests: once 16 of them have gone.
				if int64(size) < 1<<20 && moved.Load() >= 16*int64(size) {
					size *= 2
				}
				if err := conn.Write(ctx, websocket.MessageBinary, msg[:size]); err != nil {
					if ctx.Err() == nil {
						writeErr.Store(err)
					}
					return
				}
				moved.Add(int64(size))
			}
		}()
	}
	var loaded []float64
	var lmu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			if p, err := ping(); err == nil {
				lmu.Lock()
				loaded = append(loaded, p)
				lmu.Unlock()
			}
		}
	}()
	dir := "download"
	if upload {
		dir = "upload"
	}
	sm := newSampler(&moved, progress, dir)
	if !upload {
		sm.above, sm.below, sm.floor = o.StopAbove, o.StopBelow, o.DecisionFloor
	}
	r.mbps, r.stable = sm.run(ctx, func(time.Time, float64, float64) bool {
		select {
		case err := <-readErr:
			readErr <- err
			return false
		default:
			return writeErr.Load() == nil
		}
	})
	r.stalled, r.seconds, r.decided = sm.stalled, time.Since(sm.start).Seconds(), sm.decided
	// Not a closing handshake: its answer waits behind whatever the server
	// still sends, seconds on a slow line, past the caller's deadline.
	_ = conn.CloseNow()
	cancel()
	wg.Wait()
	lmu.Lock()
	r.loaded = Median(loaded)
	lmu.Unlock()
	if r.mbps == 0 {
		select {
		case err := <-readErr:
			if !strings.Contains(err.Error(), "context") && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				return r, err
			}
		default:
		}
		return r, ErrStalled
	}
	return r, nil
}

// ndt7CounterFlowLimit is the largest message a client may send during
// the download subtest: its measurements are a few hundred bytes of JSON.
const ndt7CounterFlowLimit = 64 << 10

// NDT7Handler serves the ndt7 download and upload subtests (for `speed
// serve` and tests): it refuses requests without the subprotocol with 400,
// sends random binary messages for up to ten seconds, and reports its
// application-level counts as JSON measurements every 250 ms. During the
// download it reads what the client sends 64 KiB at most a message, and
// drops it.
func NDT7Handler() http.Handler {
	block := make([]byte, 1<<20)
	_, _ = rand.Read(block)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upload := strings.HasSuffix(r.URL.Path, "/upload")
		if !upload && !strings.HasSuffix(r.URL.Path, "/download") {
			http.NotFound(w, r)
			return
		}
		if !strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), NDT7Subprotocol) {
			http.Error(w, "missing the ndt7 subprotocol", http.StatusBadRequest)
			return
		}
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{NDT7Subprotocol}})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		conn.SetReadLimit(1 << 25)
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		var n atomic.Int64
		measure := func(test string) {
			m := map[string]any{"AppInfo": map[string]int64{"ElapsedTime": time.Since(start).Microseconds(), "NumBytes": n.Load()},
				"Origin": "server", "Test": test}
			b, _ := json.Marshal(m)
			_ = conn.Write(ctx, websocket.MessageText, b)
		}
		if upload {
			go func() {
				t := time.NewTicker(250 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						measure("upload")
					}
				}
			}()
			// Each message is streamed through and counted, never held:
			// forty clients sending 32 MiB messages cost kilobytes, not GBs.
			for {
				typ, rd, err := conn.Reader(ctx)
				if err != nil {
					return
				}
				c, err := io.Copy(io.Discard, rd)
				if typ == websocket.MessageBinary {
					n.Add(c)
				}
				if err != nil {
					return
				}
			}
		}
		// The client may send its own measurements during the download:
		// small JSON, read through and dropped, never held. A message over
		// ndt7CounterFlowLimit closes the connection (1009, message too
		// big), so what a client sends costs the server nothing.
		conn.SetReadLimit(ndt7CounterFlowLimit)
		go func() { // read control frames, the client's messages and its close
			defer cancel()
			for {
				_, rd, err := conn.Reader(ctx)
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, rd); err != nil {
					return
				}
			}
		}()
		size, next := 1<<13, time.Now()
		for ctx.Err() == nil {
			if size < len(block) && n.Load() >= 16*int64(size) {
				size *= 2
			}
			if err := conn.Write(ctx, websocket.MessageBinary, block[:size]); err != nil {
				return
			}
			n.Add(int64(size))
			if time.Now().After(next) {
				measure("download")
				next = time.Now().Add(250 * time.Millisecond)
			}
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) { // the test ran its length
			_ = conn.Close(websocket.StatusNormalClosure, "")
		}
	})
}
