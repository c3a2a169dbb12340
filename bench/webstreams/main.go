// Command webstreams opens many progress streams on one check of a running
// 'streamdoctor web' and reports how many it was given, how many were
// refused, and the server's memory meanwhile (bench/web-streams runs it).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	link := flag.String("url", "", "the address streamdoctor web printed")
	pid := flag.Int("pid", 0, "streamdoctor web's process id (for its memory)")
	n := flag.Int("n", 5000, "streams to try")
	flag.Parse()
	u, err := url.Parse(*link)
	if *link == "" || *pid == 0 || err != nil {
		fmt.Fprintln(os.Stderr, "usage: webstreams -url URL -pid PID [-n N]")
		os.Exit(2)
	}
	base := "http://" + u.Host
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 10, MaxConnsPerHost: 0}
	c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Get(*link)
	if err != nil || resp.StatusCode != 200 {
		fail("opening the page: %v", err)
	}
	resp.Body.Close()
	resp, err = c.Post(base+"/api/check", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != 200 {
		fail("starting a check: %v", err)
	}
	var v struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	before := memKB(*pid, "VmRSS")
	var mu sync.Mutex
	codes := map[int]int{}
	var open []io.Closer
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for range *n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := c.Get(base + "/api/events?id=" + v.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes[0]++
				return
			}
			codes[resp.StatusCode]++
			if resp.StatusCode == 200 {
				open = append(open, resp.Body)
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	during := memKB(*pid, "VmRSS")
	for _, b := range open {
		b.Close()
	}
	fmt.Printf("streams_tried=%d accepted=%d refused_429=%d errors=%d rss_before_mb=%.1f rss_with_streams_mb=%.1f peak_rss_mb=%.1f\n",
		*n, codes[200], codes[429], codes[0], before/1024, during/1024, memKB(*pid, "VmHWM")/1024)
}

func memKB(pid int, key string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, key+":")), "%f", &kb)
			return kb
		}
	}
	return 0
}

func fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "webstreams: "+f+"\n", a...)
	os.Exit(1)
}
