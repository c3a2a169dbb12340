// Command outageload sends reports from K concurrent loopback clients to
// one or more outage servers for a bounded time, every report from a new
// client id (each one is stored), and prints the sustained rate and the
// 99th-percentile latency. Run by bench/outage-load.
package main

import (
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	servers := flag.String("servers", "", "comma-separated base URLs (requests go round-robin)")
	clients := flag.Int("clients", 32, "concurrent clients")
	dur := flag.Duration("duration", 10*time.Second, "how long to send")
	label := flag.String("label", "", "what is measured, for the output line")
	flag.Parse()
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
				t := time.Now()
				resp, err := hc.Post(urls[(c+i)%len(urls)]+"/v1/reports", "application/json", strings.NewReader(body))
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
	slices.Sort(all)
	p := func(q float64) float64 {
		if len(all) == 0 {
			return math.NaN()
		}
		return all[min(len(all)-1, int(q*float64(len(all))))]
	}
	fmt.Printf("%s clients=%d seconds=%.1f accepted=%d failed=%d median_ms=%.1f reports_per_s=%.0f p99_ms=%.1f\n",
		*label, *clients, secs, ok.Load(), failed.Load(), p(0.5), float64(ok.Load())/secs, p(0.99))
}
