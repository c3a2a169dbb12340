package speed

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
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

// serveCapped runs the speed server with a cap of maxConns connections.
func serveCapped(t *testing.T, maxConns int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, ServeOptions{MaxConns: maxConns}) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return l.Addr().String()
}

// rawRequest opens a connection and sends head (and no more).
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// servedWithin reports how long a well-behaved 1 MiB download waited to be
// served, or fails the test if it was not served within limit.
func servedWithin(t *testing.T, addr string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	resp, err := (&http.Client{Timeout: limit}).Get("http://" + addr + "/speedtest/range/0-1048575")
	if err != nil {
		t.Errorf("a well-behaved download was not served within %v: %v", limit, err)
		return limit
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 1<<20 || resp.StatusCode != 200 {
		t.Errorf("a well-behaved download: HTTP %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	return time.Since(start)
}

// Clients that ask for the largest range and never read cannot hold every
// place: each is cut once nothing has left for SendWindow, and a client
// that measures is then served. (Before, they held them for the server's
// two-minute write timeout.)
func TestUnreadDownloadsFreeTheirPlaces(t *testing.T) {
	old := SendWindow
	SendWindow = time.Second
	defer func() { SendWindow = old }()
	const places = 8
	addr := serveCapped(t, places)
	var unread []net.Conn
	for range places {
		c := rawRequest(t, addr, "GET /speedtest/range/0-268435455 HTTP/1.1\r\nHost: x\r\n\r\n")
		unread = append(unread, c)
	}
	// Every place is taken: the server is writing into their full buffers.
	time.Sleep(300 * time.Millisecond)
	// As many clients that measure are all served within the window (and
	// some slack), so every place was freed.
	var wg sync.WaitGroup
	took := make([]time.Duration, places)
	for i := range places {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i] = servedWithin(t, addr, SendWindow+4*time.Second)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("with %d unread 256 MiB downloads holding all %d places, %d downloads were served after %v", places, places, places, slices.Max(took).Round(time.Millisecond))
	// The unread ones were cut short: what reaches them ends before 256 MiB
	// (read once a window has passed: one read earlier makes progress).
	time.Sleep(SendWindow + 200*time.Millisecond)
	for i, c := range unread {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("unread download %d: still open (%d bytes, %v)", i, n, err)
		} else if n >= 256<<20 {
			t.Errorf("unread download %d: received all %d bytes", i, n)
		}
	}
	// A download that is read is not cut, however large.
	resp, err := http.Get("http://" + addr + "/speedtest/range/0-67108863")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 64<<20 {
		t.Errorf("a 64 MiB download read at once: %d bytes, %v", n, err)
	}
}

// A client that reads, but too slowly to finish, is cut at TransferMax:
// the longest test and some slack, not the range's length.
func TestSlowDownloadEndsAtTransferMax(t *testing.T) {
	old := TransferMax
	TransferMax = time.Second
	defer func() { TransferMax = old }()
	addr := serveCapped(t, 1)
	c := rawRequest(t, addr, "GET /speedtest/range/0-268435455 HTTP/1.1\r\nHost: x\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 4 MB/s: 256 MiB would take a minute
		buf := make([]byte, 200<<10)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	took := servedWithin(t, addr, TransferMax+4*time.Second)
	t.Logf("the only place was freed after %v", took.Round(time.Millisecond))
}

// readResponse reads the server's answer on c, within five seconds.
func readResponse(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp
}

// An upload that is cut is not answered 200: a body that trickles is
// answered 408 (and the connection closed), one that keeps the minimum
// rate but outlasts TransferMax too, and one that ends early 400.
func TestCutUploadIsNotAnswered200(t *testing.T) {
	oldW, oldMax := BodyWindow, TransferMax
	BodyWindow, TransferMax = 300*time.Millisecond, 2*time.Second
	defer func() { BodyWindow, TransferMax = oldW, oldMax }()
	addr := serveCapped(t, 8)

	t.Run("trickled", func(t *testing.T) {
		c := rawRequest(t, addr, "POST /speedtest/range/0-999 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nxx")
		go func() { // a byte every 100 ms: 10 bytes a second, under 16 KiB a window
			for range 50 {
				time.Sleep(100 * time.Millisecond)
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
		resp := readResponse(t, c)
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("a trickled body: HTTP %d (close %v), want 408 and the connection closed", resp.StatusCode, resp.Close)
		}
	})

	t.Run("longer than TransferMax", func(t *testing.T) {
		c := rawRequest(t, addr, "POST /speedtest/range/0-268435455 HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n")
		go func() { // 32 KiB every 100 ms keeps the minimum rate; 256 MiB would take 13 min
			piece := make([]byte, 32<<10)
			for range 100 {
				if _, err := c.Write(piece); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		start := time.Now()
		resp := readResponse(t, c)
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("an upload past TransferMax: HTTP %d, want 408", resp.StatusCode)
		}
		if took := time.Since(start); took > TransferMax+time.Second {
			t.Errorf("an upload past TransferMax was answered after %v", took)
		}
	})

	t.Run("ended early", func(t *testing.T) {
		c := rawRequest(t, addr, "POST /speedtest/range/0-999 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nxxxx")
		c.(*net.TCPConn).CloseWrite()
		if resp := readResponse(t, c); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a body that ended early: HTTP %d, want 400", resp.StatusCode)
		}
	})
}
