// Command speedserveload loads a speed server on loopback for a bounded
// time: downloads, ndt7 uploads of 32 MiB messages, and bodies that trickle
// in one byte a second (kept at their number: a cut one is reopened). It
// prints how many well-behaved transfers were served. Run by
// bench/speed-serve-load, which also reads the server's peak memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() {
	base := flag.String("base", "", "the server, http://127.0.0.1:PORT")
	secs := flag.Int("seconds", 20, "how long")
	downloads := flag.Int("downloads", 200, "clients downloading 1 MiB ranges one after another")
	uploads := flag.Int("uploads", 40, "ndt7 upload clients sending 32 MiB messages")
	slow := flag.Int("slow", 2000, "connections trickling a body one byte a second")
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" || *secs < 1 || *secs > 300 {
		fmt.Fprintln(os.Stderr, "speedserveload: give -base http://HOST:PORT and -seconds 1..300")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*secs)*time.Second)
	defer cancel()
	var ok, failed, slowCut atomic.Int64
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: *downloads}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for range *downloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := hc.Get(*base + "/speedtest/range/0-1048575")
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case err == nil && n == 1<<20 && resp.StatusCode == 200:
					ok.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
				}
			}
		}()
	}
	msg := make([]byte, 1<<20)
	ws := "ws://" + u.Host + "/ndt/v7/upload"
	for range *uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				sent, err := uploadSession(ctx, ws, msg)
				switch {
				// Served: the server took data until it ended the test (its
				// ten seconds) normally.
				case sent > 0 && (err == nil || ctx.Err() != nil):
					ok.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "upload:", err)
				}
			}
		}()
	}
	for range *slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				fmt.Fprintf(c, "POST /speedtest/range/0-1048575 HTTP/1.1\r\nHost: %s\r\nContent-Length: 1048576\r\n\r\n", u.Host)
				for ctx.Err() == nil {
					if _, err := c.Write([]byte("x")); err != nil {
						slowCut.Add(1)
						break
					}
					time.Sleep(time.Second)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	total := ok.Load() + failed.Load()
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(ok.Load()) / float64(total)
	}
	fmt.Printf("downloads=%d uploads=%d slow_bodies=%d seconds=%d served=%d failed=%d slow_bodies_cut=%d served_ok_pct=%.2f\n",
		*downloads, *uploads, *slow, *secs, ok.Load(), failed.Load(), slowCut.Load(), pct)
}

// uploadSession is one ndt7 upload: 32 MiB messages until the server ends
// the test (after 10 s) or ctx does. It returns the bytes sent.
func uploadSession(ctx context.Context, ws string, chunk []byte) (int64, error) {
	conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"net.measurementlab.ndt.v7"}})
	if err != nil {
		return 0, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	rctx := conn.CloseRead(ctx) // the server's measurements are read and dropped
	var sent int64
	for rctx.Err() == nil {
		w, err := conn.Writer(rctx, websocket.MessageBinary)
		if err != nil {
			return sent, closedNormally(err)
		}
		for i := 0; i < 32; i++ {
			n, err := w.Write(chunk)
			sent += int64(n)
			if err != nil {
				return sent, closedNormally(err)
			}
		}
		if err := w.Close(); err != nil {
			return sent, closedNormally(err)
		}
	}
	return sent, nil
}

func closedNormally(err error) error {
	if websocket.CloseStatus(err) == websocket.StatusNormalClosure || strings.Contains(err.Error(), "closed") || strings.Contains(err.Error(), "EOF") {
		return nil
	}
	return err
}
