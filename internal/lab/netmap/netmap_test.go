package netmap

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func echoServer(t *testing.T, payload int) string {
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
			go func() { c.Write(make([]byte, payload)); c.Close() }()
		}
	}()
	return l.Addr().String()
}

func TestRulesAndKernelErrors(t *testing.T) {
	to := echoServer(t, 10)
	d := New(World{Rules: []Rule{
		{Match: "192.0.2.9:443/tcp", Action: Route, To: to},
		{Match: "192.0.2.10", Action: Refuse},
		{Match: "*/6", Action: NetUnreachable},
		{Match: "192.0.2.11", Action: HostUnreachable, DelayMS: 10},
		{Match: "*", Action: Blackhole},
	}})
	c, err := d.DialContext(context.Background(), "tcp4", "192.0.2.9:443")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if len(b) != 10 {
		t.Errorf("routed connection read %d bytes", len(b))
	}
	for addr, want := range map[string]syscall.Errno{"192.0.2.10:80": syscall.ECONNREFUSED, "[2001:db8::1]:443": syscall.ENETUNREACH, "192.0.2.11:1": syscall.EHOSTUNREACH} {
		_, err := d.DialContext(context.Background(), "tcp", addr)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", addr, err, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.DialContext(ctx, "tcp", "203.0.113.1:443"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blackhole: %v", err)
	}
	if _, err := d.DialContext(context.Background(), "tcp", "example.com:443"); err == nil || !strings.Contains(err.Error(), "not an address") {
		t.Errorf("name: %v", err)
	}
}

// Two connections share one line rate, as they share an access link.
func TestSharedLineRate(t *testing.T) {
	to := echoServer(t, 200_000)
	d := New(World{Rules: []Rule{{Match: "*", Action: Route, To: to}}, BandwidthMbps: 8}) // 1 MB/s
	start := time.Now()
	done := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			c, err := d.DialContext(context.Background(), "tcp", "192.0.2.1:80")
			if err != nil {
				done <- 0
				return
			}
			n, _ := io.Copy(io.Discard, c)
			c.Close()
			done <- int(n)
		}()
	}
	total := <-done + <-done
	el := time.Since(start).Seconds()
	// 400 kB at 1 MB/s with a 64 kB burst: about 0.34 s, not 0.17 s (per-connection caps).
	if total != 400_000 || el < 0.28 {
		t.Errorf("moved %d bytes in %.2f s", total, el)
	}
}

func TestLoadEnvValidates(t *testing.T) {
	dir := t.TempDir()
	write := func(v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(dir, "env.json")
		os.WriteFile(p, b, 0o600)
		return p
	}
	if _, err := LoadEnv(write(EnvFile{Schema: "nope"})); err == nil {
		t.Error("wrong schema accepted")
	}
	if _, err := LoadEnv(write(EnvFile{Schema: EnvSchema, World: World{Rules: []Rule{{Match: "*", Action: "teleport"}}}})); err == nil || !strings.Contains(err.Error(), "unknown action") {
		t.Errorf("bad action: %v", err)
	}
	if _, err := LoadEnv(write(EnvFile{Schema: EnvSchema, SystemRoots: "not pem"})); err == nil {
		t.Error("bad PEM accepted")
	}
	if _, err := LoadEnv(write(EnvFile{Schema: EnvSchema, World: World{Rules: []Rule{{Match: "*", Action: Blackhole}}}})); err != nil {
		t.Errorf("valid file: %v", err)
	}
}

// A played handshake reports the round trip the world played, not the time
// this process took to get there: the same on a busy machine as an idle one.
func TestHandshakeRTTIsThePlayedOne(t *testing.T) {
	to := echoServer(t, 1)
	d := New(World{RTTMS: 40, JitterMS: 10, Seed: 7, Rules: []Rule{{Match: "192.0.2.9:443/tcp", Action: Route, To: to}}})
	for i := range 5 {
		c, err := d.DialContext(context.Background(), "tcp4", "192.0.2.9:443")
		if err != nil {
			t.Fatal(err)
		}
		h, ok := c.(interface{ HandshakeRTT() (time.Duration, bool) })
		if !ok {
			t.Fatalf("connect %d: a played connection does not report its handshake", i)
		}
		if r, _ := h.HandshakeRTT(); r < 30*time.Millisecond || r > 50*time.Millisecond {
			t.Errorf("connect %d: played %v, want 40 ms ± 10", i, r)
		}
		c.Close()
	}
}
