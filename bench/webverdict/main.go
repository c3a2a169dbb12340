// Command webverdict opens a StreamDoctor page in headless Chromium (via
// chromedp) RUNS times and prints how long each took from opening the page
// to the verdict being on screen. Run by bench/web-verdict.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	link := flag.String("url", "", "the page's address, as streamdoctor web printed it")
	runs := flag.Int("runs", 5, "how many times")
	bin := flag.String("chromium", "chromium", "the browser")
	rules := flag.String("host-rules", "", "Chromium --host-resolver-rules that lead the browser into the lab world (streamdoctor-lab serve prints them)")
	flag.Parse()
	if *link == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "webverdict: give -url and -runs >= 1")
		os.Exit(2)
	}
	dir, _ := os.MkdirTemp("", "webverdict-")
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(*bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(dir), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	if *rules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", *rules), chromedp.Flag("ignore-certificate-errors", true))
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// One browser, a new tab per run: the link's key opens the page once,
	// and the later tabs share the first one's cookie, as a person's do.
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		fmt.Fprintln(os.Stderr, "webverdict:", err)
		os.Exit(1)
	}
	var ms []float64
	for i := range *runs {
		ctx, c := chromedp.NewContext(bctx)
		ctx, c2 := context.WithTimeout(ctx, 30*time.Second)
		// Start the browser tab first, so only the page is timed.
		if err := chromedp.Do(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "webverdict:", err)
			os.Exit(1)
		}
		start := time.Now()
		err := chromedp.Do(ctx, chromedp.Navigate(*link), chromedp.WaitVisible("#verdict"))
		took := time.Since(start)
		c2()
		c()
		if err != nil {
			fmt.Fprintln(os.Stderr, "webverdict:", err)
			os.Exit(1)
		}
		ms = append(ms, float64(took.Milliseconds()))
		fmt.Printf("run %d: verdict on screen after %d ms\n", i+1, took.Milliseconds())
	}
	slices.Sort(ms)
	fmt.Printf("verdict_median_ms=%.0f\n", ms[len(ms)/2])
}
