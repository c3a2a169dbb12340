package speed

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// throttled serves Handler over a listener whose writes are paced to mbps.
func throttled(t *testing.T, mbps float64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler()}
	go srv.Serve(&pacedListener{Listener: l, bytesPerSec: mbps * 125000})
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/speedtest"
}

type pacedListener struct {
	net.Listener
	bytesPerSec float64
}

func (p *pacedListener) Accept() (net.Conn, error) {
	c, err := p.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &pacedConn{Conn: c, bps: p.bytesPerSec, start: time.Now()}, nil
}

type pacedConn struct {
	net.Conn
	bps   float64
	start time.Time
	sent  float64
}

func (c *pacedConn) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		k := min(len(b), 2<<10) // small pieces: a pace even over 50 ms ticks
		n, err := c.Conn.Write(b[:k])
		total += n
		c.sent += float64(n)
		if wait := time.Until(c.start.Add(time.Duration(c.sent / c.bps * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		if err != nil {
			return total, err
		}
		b = b[k:]
	}
	return total, nil
}

func TestMeasureKnownRate(t *testing.T) {
	// One server paced at 20 Mbps per connection: the measured rate grows
	// with streams, so the test ends on the stream cap or on stability.
	base := throttled(t, 20)
	res, err := Measure(context.Background(), []Target{{Name: "local", URL: base}}, Options{Max: 6 * time.Second, MaxStreams: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.DownMbps < 17 || res.DownMbps > 21 {
		t.Errorf("measured %.1f Mbps on a 20 Mbps stream", res.DownMbps)
	}
	if res.IdleRTTms <= 0 || res.LoadedRTTms <= 0 || res.RPM <= 0 {
		t.Errorf("latency not measured: %+v", res)
	}
}

func TestMeasureUploadAndStreams(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := Measure(context.Background(), []Target{{URL: srv.URL + "/speedtest"}}, Options{Max: 4 * time.Second, Upload: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.DownMbps <= 0 || res.UpMbps <= 0 || res.Streams < 1 || res.Seconds > 4.5 {
		t.Errorf("%+v", res)
	}
}

func TestMeasureFailures(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/range/0-0") {
			w.Write([]byte{0})
			return
		}
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // then nothing: a stalled server
	}))
	defer stall.Close()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer forbidden.Close()
	truncating := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/range/0-0") {
			w.Write([]byte{0})
			return
		}
		hj, _, _ := w.(http.Hijacker).Hijack()
		hj.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"))
		hj.Write(make([]byte, 5000))
		hj.Close()
	}))
	defer truncating.Close()
	slowStart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Second)
	}))
	defer slowStart.Close()
	cases := []struct {
		name, url, want string
	}{
		{"stall", stall.URL, "stopped sending"},
		{"4xx", forbidden.URL, "HTTP 403"},
		{"truncated", truncating.URL, "truncated"},
		{"slow start", slowStart.URL, "cannot reach"},
		{"refused", "http://127.0.0.1:1", "cannot reach"},
	}
	for _, c := range cases {
		start := time.Now()
		_, err := Measure(context.Background(), []Target{{URL: c.url}}, Options{Max: 4 * time.Second})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %s", c.name, d)
		}
	}
	if _, err := Measure(context.Background(), nil, Options{}); !errors.Is(err, ErrNoTargets) {
		t.Errorf("no targets: %v", err)
	}
}

func TestJudge(t *testing.T) {
	got := Judge(10, 3, 5, 15)
	want := []string{Enough, Enough, NotEnough}
	for i, q := range got {
		if q.Verdict != want[i] {
			t.Errorf("%s: %s, want %s", q.Name, q.Verdict, want[i])
		}
	}
	if Judge(5.5, 3, 5, 15)[1].Verdict != Marginal {
		t.Error("5.5 Mbps should be marginal for HD")
	}
}

func TestHandlerRanges(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/x/range/0-99": 200, "/x/range/5-4": 400, "/x/range/0-999999999999": 400, "/nope": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && resp.ContentLength != 100) {
			t.Errorf("%s: %d %d", path, resp.StatusCode, resp.ContentLength)
		}
	}
}

// A quick sample stops as soon as its bounds settle the verdict, and
// measures on when the rate is too near a need to tell.
func TestQuickSampleStopsWhenDecided(t *testing.T) {
	quick := func(perStream float64, streams int) Result {
		t.Helper()
		base := throttled(t, perStream)
		res, err := Measure(context.Background(), []Target{{Name: "local", URL: base}},
			Options{Max: 3 * time.Second, MaxStreams: streams, StopAbove: 18.75, StopBelow: 3, DecisionFloor: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := quick(40, 4); !r.Decided || r.DownMbps < 18.75 {
		t.Errorf("80 Mbps and more against a 18.75 Mbps need: decided %v at %.1f Mbps", r.Decided, r.DownMbps)
	}
	if r := quick(0.5, 1); !r.Decided || r.DownMbps >= 3 {
		t.Errorf("0.5 Mbps against a 3 Mbps need: decided %v at %.1f Mbps", r.Decided, r.DownMbps)
	}
	// 2 × 10 Mbps = 20 Mbps (the streams it starts with) is within
	// DecisionMargin of 18.75: measured in full.
	if r := quick(10, 2); r.Decided || r.DownMbps < 17 || r.DownMbps > 21 {
		t.Errorf("20 Mbps near a 18.75 Mbps need: decided %v at %.1f Mbps", r.Decided, r.DownMbps)
	}
}

// A process that does not get the CPU reads its ticks late: the sampler
// counts that time as stalled, and a result stalled for over a fifth of
// its measuring is the machine's figure, not the line's.
func TestSamplerCountsStalls(t *testing.T) {
	var moved atomic.Int64
	sm := newSampler(&moved, nil, "download")
	n := 0
	sm.count = func() int64 {
		n++
		if n == 3 {
			time.Sleep(400 * time.Millisecond) // the reading loop stalls
		}
		moved.Add(1000)
		return moved.Load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sm.run(ctx, func(time.Time, float64, float64) bool { return true })
	if sm.stalled < 300*time.Millisecond || sm.stalled > 900*time.Millisecond {
		t.Fatalf("stalled %v, want about the 400 ms the loop slept", sm.stalled)
	}
	busy := Result{StalledSeconds: sm.stalled.Seconds(), MeasuredSeconds: 1}
	if !busy.Busy() {
		t.Errorf("%+v: want busy", busy)
	}
	if (Result{StalledSeconds: 0.1, MeasuredSeconds: 1}).Busy() {
		t.Error("a tenth of the time stalled is not busy")
	}
}

// Bytes are timed when they are counted: after the reading loop stalls,
// the bytes that arrived meanwhile are not set against the older time of
// the tick it finally reads (timed by the tick, this 100 Mbps source read
// 18.1 Mbps).
func TestSamplerTimesBytesWhenCounted(t *testing.T) {
	const mbps = 100.0
	var moved atomic.Int64
	s := newSampler(&moved, nil, "download")
	n := 0
	s.count = func() int64 {
		n++
		if n == 6 {
			time.Sleep(500 * time.Millisecond) // the loop is not run meanwhile; the line goes on
		}
		b := int64(time.Since(s.start).Seconds() * mbps * 1e6 / 8)
		moved.Store(b)
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	got, _ := s.run(ctx, func(time.Time, float64, float64) bool { return true })
	if got < mbps*0.9 || got > mbps*1.1 {
		t.Errorf("estimate %.1f Mbps after a stall, want %.0f within 10 %%", got, mbps)
	}
	if r := (Result{StalledSeconds: 0.5, MeasuredSeconds: 0.9}); !r.Absent() || (Result{StalledSeconds: 0.3, MeasuredSeconds: 0.9}).Absent() {
		t.Error("over half the time stalled is absent; a third is not")
	}
}
