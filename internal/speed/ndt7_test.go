package speed

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// ndt7World replays a locate answer and serves ndt7 from our own handler,
// on one TLS test server that every host name resolves to.
func ndt7World(t *testing.T, locate []byte) *http.Client {
	t.Helper()
	ndt := NDT7Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "locate.measurementlab.net" && r.URL.Path == "/v2/nearest/ndt/ndt7":
			w.Header().Set("Content-Type", "application/json")
			w.Write(locate)
		case strings.HasPrefix(r.Host, "ndt-mlab1-lis01") && r.URL.Query().Get("access_token") == "tok1":
			ndt.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return everyHostTo(srv)
}

func TestNDT7RecordedLocateAndServer(t *testing.T) {
	body, _ := os.ReadFile("testdata/locate-v2.json")
	ts, err := ParseLocate(body)
	if err != nil || len(ts) != 2 || !strings.HasSuffix(ts[0].Upload, "/ndt/v7/upload?access_token=tok1") {
		t.Fatalf("%+v %v", ts, err)
	}
	c := ndt7World(t, body)
	res, notes, err := Run(context.Background(), []Backend{NDT7{Client: c}}, Options{Max: 5 * time.Second, Upload: true})
	if err != nil {
		t.Fatalf("%v %q", err, notes)
	}
	if res.Backend != "ndt7" || res.DownMbps <= 0 || res.UpMbps <= 0 || res.IdleRTTms <= 0 || res.Server != "mlab1-lis01.mlab-oti.measurement-lab.org" {
		t.Errorf("%+v", res)
	}
	if res.Seconds > 5.5 {
		t.Errorf("took %.1f s with a 5 s cap", res.Seconds)
	}
}

func TestNDT7OutOfCapacityAndOffline(t *testing.T) {
	c := ndt7World(t, []byte(`{}`))
	_, notes, err := Run(context.Background(), []Backend{NDT7{Client: c}}, Options{Max: 3 * time.Second})
	if err == nil || len(notes) != 1 || notes[0] != "ndt7 could not be used: "+ErrNoTargets.Error() {
		t.Errorf("out of capacity: %v %q", err, notes)
	}
	offline := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}
	}}}
	_, notes, _ = Run(context.Background(), []Backend{NDT7{Client: offline}}, Options{Max: 3 * time.Second})
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "ndt7 could not be used: locate.measurementlab.net did not answer") {
		t.Errorf("offline: %q", notes)
	}
}

func TestNDT7ServerNeedsSubprotocol(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ndt/v7/download")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("got %d", resp.StatusCode)
	}
}

// ndt7Download dials the download subtest of srv and reads (and drops) what
// the server sends until the connection ends; the error it ended with
// arrives on the returned channel, the bytes read are counted in got.
func ndt7Download(ctx context.Context, srv *httptest.Server, got *atomic.Int64) (*websocket.Conn, <-chan error, error) {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ndt/v7/download",
		&websocket.DialOptions{Subprotocols: []string{NDT7Subprotocol}})
	if err != nil {
		return nil, nil, err
	}
	conn.SetReadLimit(1 << 25)
	ended := make(chan error, 1)
	go func() {
		for {
			_, rd, err := conn.Reader(ctx)
			if err != nil {
				ended <- err
				return
			}
			n, err := io.Copy(io.Discard, rd)
			got.Add(n)
			if err != nil {
				ended <- err
				return
			}
		}
	}()
	return conn, ended, nil
}

// The client's own measurements (small JSON) during a download are read and
// dropped: the download goes on.
func TestNDT7DownloadTakesSmallClientMessages(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var got atomic.Int64
	conn, ended, err := ndt7Download(ctx, srv, &got)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	m := []byte(`{"AppInfo":{"ElapsedTime":250000,"NumBytes":1048576},"ConnectionInfo":{"Client":"127.0.0.1:1","Server":"127.0.0.1:2"},"Origin":"client","Test":"download","TCPInfo":{"RTT":1000,"MinRTT":900}}`)
	for range 20 {
		if err := conn.Write(ctx, websocket.MessageText, m); err != nil {
			t.Fatalf("sending a measurement: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := got.Load()
	for got.Load() < before+4<<20 {
		select {
		case err := <-ended:
			t.Fatalf("the download ended after the client's measurements: %v (close status %d)", err, websocket.CloseStatus(err))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A client that sends large messages during the download (each 16 MiB,
// from 16 clients at once) is closed at once (1009, message too big),
// and the server's memory does not grow with what they send: before, each
// message was read whole into memory (40 such clients took 2.7 GiB).
func TestNDT7DownloadClosesOnLargeClientMessage(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	const clients, size = 16, 16 << 20
	chunk := make([]byte, 64<<10)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	var peak atomic.Uint64 // the heap in use, sampled while they send
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var tooBig atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got atomic.Int64
			conn, ended, err := ndt7Download(ctx, srv, &got)
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			defer conn.CloseNow()
			go func() { // one 16 MiB message, streamed: the client holds 64 KiB
				w, err := conn.Writer(ctx, websocket.MessageBinary)
				if err != nil {
					return
				}
				for sent := 0; sent < size; sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				_ = w.Close()
			}()
			select {
			case err := <-ended:
				// 1009 (message too big) when the client reads the close
				// frame before the reset its unread data causes; either way
				// not the test's normal end.
				if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
					t.Errorf("client %d: the download ended normally, not cut", i)
				}
				if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
					tooBig.Add(1)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("client %d: still open 5 s after sending a 16 MiB message during the download", i)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	took := time.Since(start)
	runtime.ReadMemStats(&ms)
	alloc := ms.TotalAlloc - allocBefore
	t.Logf("%d clients sending %d MiB each: closed within %v (%d saw 1009); allocated %d MiB, peak heap in use %d MiB",
		clients, size>>20, took.Round(time.Millisecond), tooBig.Load(), alloc>>20, peak.Load()>>20)
	// 256 MiB was offered; reading it cost the server a few buffers.
	if alloc > 32<<20 {
		t.Errorf("allocated %d MiB while %d clients sent %d MiB messages during downloads", alloc>>20, clients, size>>20)
	}
}
