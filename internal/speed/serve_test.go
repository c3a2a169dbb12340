package speed

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startServe(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, ServeOptions{MaxConns: 64}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Error("the server did not stop within 3 s of its context ending")
		}
	})
	return "http://" + l.Addr().String()
}

func TestRangeLimitsAndNoCORS(t *testing.T) {
	base := startServe(t)
	for path, want := range map[string]int{
		"/speedtest/range/0-9223372036854775807": 400, // 2^63-1: b-a+1 overflows
		"/speedtest/range/5-4":                   400,
		"/speedtest/range/0-268435456":           400, // one byte over MaxRange
		"/speedtest/range/0-999":                 200,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: HTTP %d, want %d", path, resp.StatusCode, want)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS header %q", path, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// trickle sends a body one byte at a time, slower than the minimum rate.
type trickle struct{ n int }

func (t *trickle) Read(p []byte) (int, error) {
	if t.n >= 1000 {
		return 0, io.EOF
	}
	time.Sleep(50 * time.Millisecond)
	t.n++
	p[0] = 'x'
	return 1, nil
}

func TestTricklingBodyIsCut(t *testing.T) {
	old := BodyWindow
	BodyWindow = 400 * time.Millisecond
	defer func() { BodyWindow = old }()
	base := startServe(t)
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, base+"/speedtest/range/0-999", &trickle{})
	req.ContentLength = 1000
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a trickling body held its connection %v", took)
	}
}

// A well-behaved upload of a large body is read through and answered.
func TestUploadIsRead(t *testing.T) {
	base := startServe(t)
	resp, err := http.Post(base+"/speedtest/range/0-33554431", "application/octet-stream", strings.NewReader(strings.Repeat("z", 32<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HTTP %d", resp.StatusCode)
	}
}

// Past the cap, connections wait their turn instead of taking descriptors.
func TestConnectionCap(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, l, ServeOptions{MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET /speedtest/range/0-9 HTTP/1.1\r\nHost: x\r\n\r\n"))
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond)
	got := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + l.Addr().String() + "/speedtest/range/0-9")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	select {
	case <-got:
		t.Fatal("a third connection was served while two held the cap")
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	select {
	case code := <-got:
		if code != 200 {
			t.Errorf("HTTP %d once a place was free", code)
		}
	case <-time.After(3 * time.Second):
		t.Error("the waiting connection was not served once a place was free")
	}
	held[1].Close()
}
