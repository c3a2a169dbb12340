package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/streamdoctor/streamdoctor/internal/catalog"
)

// dialFunc is a Dialer made of a function.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// slowWorld: one address accepts after a delay, every other one is silent
// (a SYN that nothing answers), as the fault lab's netmap plays them.
type slowWorld struct {
	slow, to string
	delay    time.Duration
}

func (w slowWorld) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr != w.slow {
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	select {
	case <-time.After(w.delay):
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", w.to)
}

func TestSilentBudget(t *testing.T) {
	for _, c := range []struct{ rtt, want time.Duration }{
		{0, SilentFloor},
		{20 * time.Millisecond, SilentFloor},
		{100 * time.Millisecond, 1600 * time.Millisecond},
		{600 * time.Millisecond, 3600 * time.Millisecond},
	} {
		if got := SilentBudget(c.rtt); got != c.want {
			t.Errorf("SilentBudget(%v) = %v, want %v", c.rtt, got, c.want)
		}
	}
}

// Once the path's round trip is known, a silent address is given up on
// after SilentBudget (a timeout, as before), while a server that accepts
// late but within it still connects.
func TestDialBudgetGivesUpOnSilenceNotOnSlowness(t *testing.T) {
	l := acceptAndClose(t)
	s := testState()
	s.env = &Env{Dialer: slowWorld{slow: "192.0.2.10:443", to: l.Addr().String(), delay: 1100 * time.Millisecond}}
	s.timeouts.Connect = 6 * time.Second
	s.path = newPathRTT()
	s.path.saw(20*time.Millisecond, 20*time.Millisecond)

	_, err := s.dialBudget(context.Background(), "tcp4", "192.0.2.99:443")
	var es errSilent
	if !errors.As(err, &es) || es.after != SilentFloor || Classify(err) != catalog.FTimeout {
		t.Fatalf("a silent address: %v (%s), want given up after %v as a timeout", err, Classify(err), SilentFloor)
	}
	c, err := s.dialBudget(context.Background(), "tcp4", "192.0.2.10:443")
	if err != nil {
		t.Fatalf("a server accepting after 1.1 s: %v", err)
	}
	c.Close()
}

// The latency probe stops early only when its evidence is settled: enough
// connects lost for the top loss band, and the median round trip's band
// beyond reach of the rest.
func TestSamplingSettles(t *testing.T) {
	var out []connectSample
	for i := range 30 {
		out = append(out, connectSample{rtt: 20, failed: i < 4})
	}
	if !lossSettled(out, 40, 920) || !latencySettled(out, 40, 920) {
		t.Error("4 of 40 lost fill the top band, and 26 of at most 36 successes under 100 ms fix the median's")
	}
	if latencySettled(out[:12], 40, 920) {
		t.Error("8 of at most 36 successes do not fix the median")
	}
	few := out[:6] // 4 lost, 2 at 20 ms: 34 could still come, anywhere
	if latencySettled(few, 40, 920) {
		t.Error("the median is settled on 2 round trips out of a possible 36")
	}
	clean := []connectSample{{rtt: 20}, {rtt: 21}, {rtt: 19}}
	if lossSettled(clean, 40, 920) {
		t.Error("no loss yet is not settled: one more loss would move the band")
	}
}

func TestVideoURL(t *testing.T) {
	for in, want := range map[string]string{
		"ipv4-c001-lis001-ix.1.oca.nflxvideo.net (Lisbon, PT)": "https://ipv4-c001-lis001-ix.1.oca.nflxvideo.net/",
		"oca.example": "https://oca.example/",
		"":            "",
		"a/b (x)":     "",
	} {
		if got := VideoURL(in); got != want {
			t.Errorf("VideoURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A host's second address is tried as soon as the first refuses, not after
// the first's head start.
func TestDialHostMovesOnWhenTheFirstAddressRefuses(t *testing.T) {
	l := acceptAndClose(t)
	var tried []string
	var mu sync.Mutex
	d := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		tried = append(tried, addr)
		mu.Unlock()
		if addr == "198.51.100.1:443" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", l.Addr().String())
	})
	s := testState()
	s.env = &Env{Dialer: d}
	s.timeouts.Connect = time.Hour // a head start that a test could never wait out
	done := make(chan struct{})
	close(done)
	s.lookups[lookupKey{via: "system", host: "svc.example", qtype: dns.TypeA}] = &lookupResult{done: done,
		ans: Answer{Rcode: "NOERROR", IPs: []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := s.dialHost(ctx, "tcp4", "svc.example", 443, false)
	if err != nil {
		t.Fatalf("the second address was not tried: %v (tried %v)", err, tried)
	}
	c.Close()
}

// serveLoopback is a loopback listener that hands each connection to
// handle; it is closed when the test ends.
func serveLoopback(t *testing.T, handle func(net.Conn)) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
	return l
}

// acceptAndClose is a loopback listener that accepts every connection and
// closes it at once.
func acceptAndClose(t *testing.T) net.Listener {
	t.Helper()
	return serveLoopback(t, func(c net.Conn) { c.Close() })
}

// A handshake is silent only when nothing comes back: a server that says
// nothing after the hello is given up on after SilentBudget, while one
// whose answer begins at once but takes longer than that to finish (a busy
// machine computing its part) completes.
func TestHandshakeSilentOnlyWhenNothingComesBack(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	slowAfterFirstByte := relay(t, srv.Listener.Addr().String(), func(dst io.Writer, src io.Reader) {
		buf := make([]byte, 64<<10)
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		dst.Write(buf[:1])
		time.Sleep(SilentFloor + 500*time.Millisecond)
		dst.Write(buf[1:n])
		io.Copy(dst, src)
	})
	hearsNothing := relay(t, srv.Listener.Addr().String(), func(io.Writer, io.Reader) { time.Sleep(time.Minute) })
	s := testState()
	s.timeouts.TLS = 6 * time.Second
	s.path = newPathRTT()
	s.path.saw(20*time.Millisecond, 20*time.Millisecond)
	cfg := &tls.Config{InsecureSkipVerify: true}

	raw, err := net.Dial("tcp", slowAfterFirstByte)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	if _, err := s.handshake(context.Background(), raw, cfg); err != nil {
		t.Fatalf("an answer that began at once and ended after %v: %v", time.Since(start), err)
	}
	raw2, err := net.Dial("tcp", hearsNothing)
	if err != nil {
		t.Fatal(err)
	}
	defer raw2.Close()
	_, err = s.handshake(context.Background(), raw2, cfg)
	var es errSilent
	if !errors.As(err, &es) || es.after != SilentFloor || Classify(err) != catalog.FTimeout {
		t.Fatalf("a server that says nothing: %v, want given up after %v as a timeout", err, SilentFloor)
	}
}

// relay listens on loopback and joins each connection to upstream: what
// the client sends goes through as it is, what upstream answers goes
// through back(dst, src).
func relay(t *testing.T, upstream string, back func(dst io.Writer, src io.Reader)) string {
	t.Helper()
	return serveLoopback(t, func(c net.Conn) {
		u, err := net.Dial("tcp", upstream)
		if err != nil {
			c.Close()
			return
		}
		go func() { io.Copy(u, c); u.Close() }()
		go func() { back(c, u); c.Close() }()
	}).Addr().String()
}

// slowOS plays a path whose connects take rtt, on an OS that also takes
// extra to set each connect up (as Wine does): only the count of connects
// that start matters here.
type slowOS struct {
	to      string
	rtt, os time.Duration
	mu      sync.Mutex
	started int
}

func (w *slowOS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	w.started++
	w.mu.Unlock()
	select {
	case <-time.After(w.rtt + w.os):
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", w.to)
}

// The latency sample's count does not depend on how fast the OS connects:
// on a 600 ms path, with the probe's usual deadline, a slow OS and a fast
// one both take all forty connects (a worker pool took 21 on Linux and 11
// under Wine, and satellite-600ms was misread).
func TestLatencySampleCountDoesNotDependOnTheOS(t *testing.T) {
	l := acceptAndClose(t)
	for _, extra := range []time.Duration{0, 150 * time.Millisecond} {
		w := &slowOS{to: l.Addr().String(), rtt: 600 * time.Millisecond, os: extra}
		s := testState()
		s.env = &Env{Dialer: w}
		s.timeouts.Connect = 6 * time.Second
		s.path = newPathRTT()
		ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
		rtts, lost, tried := sampleConnects(ctx, s, "192.0.2.10:443", 600)
		cancel()
		if tried != 40 || lost != 0 || len(rtts) != 40 {
			t.Errorf("OS %v slower per connect: %d tried, %d lost, %d round trips; want all 40 taken", extra, tried, lost, len(rtts))
		}
	}
}

// Jitter is the median difference over every pair of round trips: a
// line alternating 20 and 60 ms swings by 40 ms, but pairs of equal round
// trips count too, so half the pairs differ by 0 and half by 40.
func TestJitterOverAllPairs(t *testing.T) {
	if j := Jitter([]float64{20, 60, 20, 60, 20}); j != 40 {
		t.Errorf("alternating 20/60: jitter %v, want 40 (6 of 10 pairs differ by 40)", j)
	}
	if j := Jitter([]float64{30, 30, 30, 30, 30, 400}); j != 0 {
		t.Errorf("one stall among steady round trips: jitter %v, want 0", j)
	}
	if j := Jitter([]float64{50}); j != 0 {
		t.Errorf("one round trip: jitter %v, want 0", j)
	}
}
