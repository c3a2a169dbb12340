// Command speedserveload loads a speed server on loopback for a bounded
// time: downloads, ndt7 uploads of 32 MiB messages, ndt7 downloads whose
// clients send 32 MiB messages back, and bodies that trickle in one byte a
// second (kept at their number: a cut one is reopened, and what the server
// answered it is counted). It prints how many well-behaved transfers were
// served. Given a second server capped at a few connections (-capped-base),
// it also takes every place there with 256 MiB downloads that are never
// read, and times how long clients that measure wait for a place. Run by
// bench/speed-serve-load, which also reads the server's peak memory.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	abusers := flag.Int("ndt7-abusers", 20, "ndt7 download clients sending 32 MiB messages back")
	capped := flag.String("capped-base", "", "a second server, capped at -unread connections: http://127.0.0.1:PORT")
	unread := flag.Int("unread", 64, "256 MiB downloads never read, on -capped-base (its --max-conns)")
	placeWait := flag.Int("place-wait", 60, "longest wait, in seconds, for a place on -capped-base")
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
	var places placesResult
	if *capped != "" {
		cu, err := url.Parse(*capped)
		if err != nil || cu.Host == "" {
			fmt.Fprintln(os.Stderr, "speedserveload: give -capped-base http://HOST:PORT")
			os.Exit(2)
		}
		// The places are taken before the load starts, all at once.
		unreadConns, opened := openUnread(cu.Host, *unread)
		wg.Add(1)
		go func() {
			defer wg.Done()
			places = waitForPlaces(cu.Host, unreadConns, opened, *unread, time.Duration(*placeWait)*time.Second)
		}()
	}
	var answered [3]atomic.Int64 // 200, 408, anything else
	var abuserSessions, abusersCut, abusersHeld atomic.Int64
	abuserMsg := make([]byte, 64<<10)
	wsDown := "ws://" + u.Host + "/ndt/v7/download"
	for range *abusers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				cut, err := abuseDownload(ctx, wsDown, abuserMsg)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				abuserSessions.Add(1)
				if cut {
					abusersCut.Add(1)
				} else {
					abusersHeld.Add(1)
				}
				select { // a cut client comes back, but not in a tight loop
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
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
				// What the server answers a body it cut: 408, not 200.
				go func() {
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						return
					}
					switch resp.StatusCode {
					case http.StatusOK:
						answered[0].Add(1)
					case http.StatusRequestTimeout:
						answered[1].Add(1)
					default:
						answered[2].Add(1)
					}
				}()
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
	fmt.Printf("slow_bodies_answered_200=%d slow_bodies_answered_408=%d slow_bodies_answered_other=%d ndt7_abusers=%d abuser_sessions=%d abusers_cut=%d abusers_served_in_full=%d\n",
		answered[0].Load(), answered[1].Load(), answered[2].Load(), *abusers, abuserSessions.Load(), abusersCut.Load(), abusersHeld.Load())
	if *capped != "" {
		first, all := fmt.Sprintf("%.1f", places.firstAfter.Seconds()), fmt.Sprintf("%.1f", places.freedAfter.Seconds())
		if places.served == 0 {
			first = fmt.Sprintf(">%d", *placeWait)
		}
		if places.served < *unread {
			all = fmt.Sprintf(">%d", *placeWait)
		}
		fmt.Printf("unread_downloads=%d capped_max_conns=%d measuring_clients_served=%d/%d first_served_after_s=%s all_served_after_s=%s unread_cut=%d/%d\n",
			*unread, *unread, places.served, *unread, first, all, places.cut, *unread)
	}
}

type placesResult struct {
	served, cut            int
	firstAfter, freedAfter time.Duration
}

// openUnread opens n downloads of 256 MiB on host (a server capped at n
// connections), all at once, and never reads them; it returns them and
// when they were all open.
func openUnread(host string, n int) ([]net.Conn, time.Time) {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "GET /speedtest/range/0-268435455 HTTP/1.1\r\nHost: %s\r\n\r\n", host)
			conns[i] = c
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(conns, func(c net.Conn) bool { return c == nil }), time.Now()
}

// waitForPlaces has n clients that measure ask host for 1 MiB each while
// the unread downloads hold every place: how long after those were opened
// the first and the last were served (at most wait), and how many of the
// unread downloads the server cut short.
func waitForPlaces(host string, unread []net.Conn, opened time.Time, n int, wait time.Duration) placesResult {
	var r placesResult
	time.Sleep(time.Until(opened.Add(500 * time.Millisecond))) // every place is taken
	hc := &http.Client{Timeout: wait, Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get("http://" + host + "/speedtest/range/0-1048575")
			if err != nil {
				return
			}
			k, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || k != 1<<20 || resp.StatusCode != 200 {
				return
			}
			took := time.Since(opened)
			mu.Lock()
			if r.served == 0 || took < r.firstAfter {
				r.firstAfter = took
			}
			r.freedAfter = max(r.freedAfter, took)
			r.served++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Cut short: what reaches an unread download ends before 256 MiB (read
	// a second after the last client was served, for two seconds at most:
	// one that is still served reads on, and is not cut).
	time.Sleep(time.Second)
	var cut atomic.Int64
	for _, c := range unread {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, err := io.Copy(io.Discard, c)
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) && k < 256<<20 {
				cut.Add(1)
			}
		}()
	}
	wg.Wait()
	r.cut = int(cut.Load())
	return r
}

// abuseDownload is one ndt7 download whose client sends a 32 MiB message
// back (streamed: it holds 64 KiB) while it reads what the server sends.
// It reports whether the server cut it within 5 s rather than serving the
// whole test.
func abuseDownload(ctx context.Context, ws string, chunk []byte) (bool, error) {
	conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"net.measurementlab.ndt.v7"}})
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 25)
	start := time.Now()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			_, rd, err := conn.Reader(ctx)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				return
			}
		}
	}()
	if w, err := conn.Writer(ctx, websocket.MessageBinary); err == nil {
		for sent := 0; sent < 32<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		_ = w.Close()
	}
	<-ended
	return time.Since(start) < 5*time.Second, nil
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
