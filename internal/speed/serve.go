package speed

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/net/netutil"

	"github.com/streamdoctor/streamdoctor/internal/httpserve"
)

// MaxRange is the largest range one request may ask for.
const MaxRange = 256 << 20

var rangePath = regexp.MustCompile(`/range/(\d+)-(\d+)$`)

// Handler serves the speed-test protocol: GET …/range/A-B sends B−A+1 bytes,
// POST …/range/A-B reads and discards the body; /ndt/v7/download and
// /ndt/v7/upload speak ndt7. It is what
// `streamdoctor speed serve` runs, and what the lab and tests measure against.
func Handler() http.Handler {
	block := make([]byte, 1<<20)
	_, _ = rand.Read(block) // incompressible, so no proxy can shrink it
	ndt7 := NDT7Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ndt/v7/download" || r.URL.Path == "/ndt/v7/upload" {
			ndt7.ServeHTTP(w, r)
			return
		}
		m := rangePath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			if r.URL.Path == "/" {
				fmt.Fprintln(w, "StreamDoctor speed server: GET or POST /speedtest/range/0-N")
				return
			}
			http.NotFound(w, r)
			return
		}
		a, err1 := strconv.ParseInt(m[1], 10, 64)
		b, err2 := strconv.ParseInt(m[2], 10, 64)
		// b-a cannot overflow (both are at least 0); b-a+1 could.
		if err1 != nil || err2 != nil || b < a || b-a >= MaxRange {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		n := b - a + 1
		// No CORS header: no other site's page may measure (or load) it.
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			for n > 0 {
				k := min(n, int64(len(block)))
				if _, err := w.Write(block[:k]); err != nil {
					return
				}
				n -= k
			}
		case http.MethodPost:
			_, _ = io.Copy(io.Discard, minRate(w, io.LimitReader(r.Body, n)))
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		}
	})
}

// BodyWindow and BodyMinBytes: an upload must deliver at least BodyMinBytes
// in every BodyWindow, or it is cut: a body that trickles in holds a
// connection without measuring anything.
var (
	BodyWindow   = 5 * time.Second
	BodyMinBytes = 16 << 10
)

// rateReader extends the connection's read deadline one window at a time,
// only while the body keeps up the minimum rate.
type rateReader struct {
	r   io.Reader
	rc  *http.ResponseController
	got int
}

func minRate(w http.ResponseWriter, r io.Reader) io.Reader {
	rr := &rateReader{r: r, rc: http.NewResponseController(w)}
	_ = rr.rc.SetReadDeadline(time.Now().Add(BodyWindow))
	return rr
}

func (r *rateReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got += n
	if r.got >= BodyMinBytes {
		r.got = 0
		_ = r.rc.SetReadDeadline(time.Now().Add(BodyWindow))
	}
	return n, err
}

// ServeOptions bound a speed server.
type ServeOptions struct {
	// MaxConns caps the connections served at once (0: DefaultMaxConns);
	// more wait in the kernel's queue instead of exhausting file descriptors.
	MaxConns int
}

// Serve runs the speed server on l until ctx ends: slow headers, idle
// connections and trickling bodies are cut, connections are capped, and
// when ctx ends it stops at once (open transfers are closed after half a
// second of grace).
func Serve(ctx context.Context, l net.Listener, o ServeOptions) error {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns()
	}
	hs := &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: log.New(io.Discard, "", 0),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	return httpserve.Serve(ctx, hs, netutil.LimitListener(l, o.MaxConns), 500*time.Millisecond)
}
