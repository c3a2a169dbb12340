package speed

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
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
		if err1 != nil || err2 != nil || b < a || b-a+1 > MaxRange {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		n := b - a + 1
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
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
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, MaxRange))
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		}
	})
}
