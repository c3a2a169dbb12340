// Command outageload sends reports from K concurrent loopback clients to
// one or more outage servers for a bounded time, every report from a new
// network (each one is counted), and prints the sustained rate and the
// 99th-percentile latency; then 8 clients ask for statuses, then for the
// status page, and it prints their 99th percentiles. With -seed it first
// fills a store with about two million five-minute counts (eight weeks of
// history). Run by bench/outage-load.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/outage/server"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// The seeded history's series: reports naming no country and four busy
// countries, and 120 quiet countries.
var (
	busy  = []string{"", "US", "DE", "BR", "GB"}
	quiet = quietCountries(120)
)

func quietCountries(n int) []string {
	var out []string
	for a := 'A'; a <= 'Z' && len(out) < n; a++ {
		for b := 'A'; b <= 'Z' && len(out) < n; b++ {
			if c := string([]rune{a, b}); outage.ValidRegion(c) && !slices.Contains(busy, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

func main() {
	servers := flag.String("servers", "", "comma-separated base URLs (requests go round-robin)")
	clients := flag.Int("clients", 32, "concurrent clients")
	dur := flag.Duration("duration", 10*time.Second, "how long to send, and how long to ask for statuses and for the page")
	label := flag.String("label", "", "what is measured, for the output line")
	seed := flag.String("seed", "", "fill this store (sqlite:PATH or postgres://...) with eight weeks of counts, then exit")
	readers := flag.Int("readers", 8, "concurrent clients asking for statuses and the page")
	flag.Parse()
	if *seed != "" {
		n, took, err := seedStore(*seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "outageload: seeding:", err)
			os.Exit(1)
		}
		fmt.Printf("seeded %d bucket rows in %.1f s\n", n, took.Seconds())
		return
	}
	urls := strings.Split(*servers, ",")
	if *servers == "" || *clients < 1 || *dur <= 0 || *dur > 5*time.Minute {
		fmt.Fprintln(os.Stderr, "outageload: give -servers URL[,URL], -clients >= 1 and -duration up to 5m")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var ok, failed atomic.Int64
	lat := make([][]float64, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(*dur)
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				body := fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"load-%03d-%08d"}`, c, i)
				req, _ := http.NewRequest(http.MethodPost, urls[(c+i)%len(urls)]+"/v1/reports", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				// Each report from its own /24, as a trusted proxy on
				// loopback says (outage serve --trust-proxy 127.0.0.1/32).
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("%d.%d.%d.1", 11+c, i>>8&255, i&255))
				t := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					ok.Add(1)
					lat[c] = append(lat[c], float64(time.Since(t).Microseconds())/1000)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	line := fmt.Sprintf("%s clients=%d seconds=%.1f accepted=%d failed=%d median_ms=%.1f reports_per_s=%.0f p99_ms=%.1f",
		*label, *clients, secs, ok.Load(), failed.Load(), pct(all, 0.5), float64(ok.Load())/secs, pct(all, 0.99))

	// Statuses (the whole service and each region, of every service),
	// then the page, from the readers.
	var paths []string
	for _, s := range profile.Names() {
		paths = append(paths, "/v1/status?service="+s)
		for _, r := range append(busy[1:], quiet...) {
			paths = append(paths, "/v1/status?service="+s+"&region="+r)
		}
	}
	st, stErr := read(hc, urls, paths, *readers, *dur)
	pg, pgErr := read(hc, urls, []string{"/"}, *readers, *dur)
	fmt.Printf("%s status_n=%d status_failed=%d status_p99_ms=%.1f page_n=%d page_failed=%d page_p99_ms=%.1f\n",
		line, len(st), stErr, pct(st, 0.99), len(pg), pgErr, pct(pg, 0.99))
}

// read sends GETs of paths (in turn) from n clients for d and returns the
// latencies in milliseconds and the failures.
func read(hc *http.Client, urls, paths []string, n int, d time.Duration) ([]float64, int64) {
	var mu sync.Mutex
	var lat []float64
	var failed atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(end); i++ {
				t := time.Now()
				resp, err := hc.Get(urls[i%len(urls)] + paths[(i*7)%len(paths)])
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				ms := float64(time.Since(t).Microseconds()) / 1000
				mu.Lock()
				lat = append(lat, ms)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, failed.Load()
}

func pct(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[min(len(v)-1, int(q*float64(len(v))))]
}

// seedStore writes eight weeks of five-minute counts, up to now, for every
// service the server knows: the busy series with a daily cycle of 4 to 18
// reports per five minutes, the quiet ones 1 to 3; 125 series of 16128
// buckets, about two million rows a service.
func seedStore(spec string) (int, time.Duration, error) {
	t0 := time.Now()
	ctx := context.Background()
	st, err := server.Open(ctx, spec)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().Unix() / server.BucketSeconds
	from := now - 8*7*24*12 + 1
	n := 0
	series := append(slices.Clone(busy), quiet...)
	for _, svc := range profile.Names() {
		// A week at a time, all series together (so the all-regions
		// counts add up in memory): one transaction each.
		for w := from; w <= now; w += 7 * 24 * 12 {
			var counts []server.BucketCount
			for b := w; b < w+7*24*12 && b <= now; b++ {
				for _, reg := range series {
					c := 1 + r.IntN(3)
					if slices.Contains(busy, reg) {
						h := float64(b%(24*12)) / 12
						c = 4 + int(12*(0.5+0.5*math.Cos((h-20)/24*2*math.Pi))) + r.IntN(3)
					}
					counts = append(counts, server.BucketCount{Service: svc, Region: reg, Bucket: b, N: c})
				}
			}
			if err := st.ImportCounts(ctx, counts); err != nil {
				return n, 0, err
			}
			n += len(counts)
		}
	}
	st.Close()
	// Settle, as a database holding eight weeks would be: vacuumed and
	// analysed, checkpointed.
	driver, dsn, qs := "pgx", spec, []string{"VACUUM ANALYZE", "CHECKPOINT"}
	if path, ok := strings.CutPrefix(spec, "sqlite:"); ok {
		driver, dsn, qs = "sqlite", path, []string{"PRAGMA wal_checkpoint(TRUNCATE)"}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return n, 0, err
	}
	defer db.Close()
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return n, 0, fmt.Errorf("%s: %v", q, err)
		}
	}
	return n, time.Since(t0), nil
}
