package speed

import (
	"context"
	"crypto/rand"
	"errors"
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
			rc, end := http.NewResponseController(w), time.Now().Add(TransferMax)
			for n > 0 {
				// Each piece must leave within SendWindow, and all by
				// TransferMax: a download nobody reads is cut, and frees
				// its place for a client that measures.
				_ = rc.SetWriteDeadline(earliest(time.Now().Add(SendWindow), end))
				k := min(n, sendPiece)
				if _, err := w.Write(block[:k]); err != nil {
					return
				}
				n -= k
			}
		case http.MethodPost:
			_, err := io.Copy(io.Discard, minRate(w, io.LimitReader(r.Body, n), time.Now().Add(TransferMax)))
			if err != nil {
				// Not 200: the body did not arrive, and the client should
				// not count it as sent. Nothing more is read from it.
				code, msg := http.StatusBadRequest, "the body ended early"
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					code, msg = http.StatusRequestTimeout, "the body came too slowly"
				}
				w.Header().Set("Connection", "close")
				http.Error(w, msg, code)
				return
			}
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		}
	})
}

// BodyWindow and BodyMinBytes: an upload must deliver at least BodyMinBytes
// in every BodyWindow, or it is cut (and answered 408): a body that
// trickles in holds a connection without measuring anything.
var (
	BodyWindow   = 5 * time.Second
	BodyMinBytes = 16 << 10
)

// SendWindow and TransferMax bound a range transfer: a download must hand
// the kernel each piece (sendPiece, 256 KiB) within SendWindow (so a client
// that stops reading is cut after 10 s: under 0.2 Mbps nothing is measured),
// and no download or upload lasts beyond TransferMax, the longest test
// (`speed --max 30s`) plus slack. Without them a client that asks for
// 256 MiB and never reads holds its connection, one of --max-conns, for as
// long as the server's last resort allows.
var (
	SendWindow  = 10 * time.Second
	TransferMax = 40 * time.Second
)

const sendPiece = 256 << 10

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// rateReader extends the connection's read deadline one window at a time,
// only while the body keeps up the minimum rate, and never past end.
type rateReader struct {
	r   io.Reader
	rc  *http.ResponseController
	got int
	end time.Time
}

func minRate(w http.ResponseWriter, r io.Reader, end time.Time) io.Reader {
	rr := &rateReader{r: r, rc: http.NewResponseController(w), end: end}
	_ = rr.rc.SetReadDeadline(earliest(time.Now().Add(BodyWindow), end))
	return rr
}

func (r *rateReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got += n
	if r.got >= BodyMinBytes {
		r.got = 0
		_ = r.rc.SetReadDeadline(earliest(time.Now().Add(BodyWindow), r.end))
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
// connections, trickling bodies, unread downloads and transfers past
// TransferMax are cut, connections are capped, and
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
