package web

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The page in a real browser: Debian's chromium, driven by chromedp, with
// axe-core (STREAMDOCTOR_AXE: the path of axe.min.js; .ci/run installs it
// from npm) checking accessibility in each state.

func chromium(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("STREAMDOCTOR_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Skip("no chromium to drive (Debian package chromium); browser tests skipped")
	return ""
}

func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("STREAMDOCTOR_AXE")
	if p == "" {
		t.Skip("STREAMDOCTOR_AXE is not set (the path of axe-core's axe.min.js); accessibility checks skipped")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("STREAMDOCTOR_AXE: %v", err)
	}
	return string(b)
}

// browse opens the page of a lab world in a headless chromium and records
// every request it makes.
func browse(t *testing.T, scenario string, width int) (context.Context, string, func() []string) {
	t.Helper()
	bin := chromium(t)
	_, link, _, _ := start(t, scenario, 0)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	var mu sync.Mutex
	var requests []string
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}))
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	return ctx, link, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), requests...) }
}

func waitVerdict(t *testing.T, ctx context.Context) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#verdict")); err != nil {
		t.Fatal(err)
	}
	summary, err := chromedp.Run(ctx, chromedp.Text("#summary"))
	if err != nil {
		t.Fatal(err)
	}
	return summary
}

// axeCheck runs axe-core in the page: no serious or critical violation.
func axeCheck(t *testing.T, ctx context.Context, src, state string) {
	t.Helper()
	script := src + `;(async () => { const r = await axe.run(document);
		return {rules: r.passes.length + r.violations.length,
			bad: r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => v.id + ": " + v.help)}; })()`
	type result struct {
		Rules int      `json:"rules"`
		Bad   []string `json:"bad"`
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[result](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe in %s: %v", state, err)
	}
	if v.Rules < 10 {
		t.Fatalf("%s: axe applied only %d rules; did it run?", state, v.Rules)
	}
	if len(v.Bad) > 0 {
		t.Errorf("%s: serious or critical accessibility violations: %v", state, v.Bad)
	}
	t.Logf("%s: axe-core applied %d rules, no serious or critical violation", state, v.Rules)
}

func onlyLoopback(t *testing.T, link string, reqs []string) {
	t.Helper()
	u, _ := url.Parse(link)
	for _, r := range reqs {
		ru, err := url.Parse(r)
		if err != nil || (ru.Scheme != "data" && ru.Host != u.Host) {
			t.Errorf("the page requested %s", r)
		}
	}
}

func TestBrowserHealthy(t *testing.T) {
	ctx, link, reqs := browse(t, "healthy.yaml", 1280)
	axe := axeSource(t)
	if s := waitVerdict(t, ctx); !strings.HasPrefix(s, "No problem found") {
		t.Errorf("verdict %q", s)
	}
	axeCheck(t, ctx, axe, "healthy, 1280 px")
	onlyLoopback(t, link, reqs())
}

func TestBrowserVPNAtPhoneWidth(t *testing.T) {
	ctx, link, reqs := browse(t, "vpn-blocked.yaml", 360)
	axe := axeSource(t)
	s := waitVerdict(t, ctx)
	step, err := chromedp.Run(ctx, chromedp.Text("#steps li strong"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "VPN") || step != "Turn off the VPN" {
		t.Errorf("verdict %q, first step %q", s, step)
	}
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
		t.Error("the page scrolls sideways at 360 px")
	}
	axeCheck(t, ctx, axe, "vpn, 360 px")
	onlyLoopback(t, link, reqs())
}

// A question answered with the keyboard re-ranks the verdict: a silent
// service is an outage until mobile data works, then a block on this side.
func TestBrowserQuestionReRanks(t *testing.T) {
	ctx, _, _ := browse(t, "outage-blackhole.yaml", 1280)
	axe := axeSource(t)
	before := waitVerdict(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#question")); err != nil {
		t.Fatal(err)
	}
	ask, _ := chromedp.Run(ctx, chromedp.Text("#ask"))
	axeCheck(t, ctx, axe, "a question")
	// By keyboard alone: Tab from the question's text to "Yes", then Enter.
	if err := chromedp.Do(ctx, chromedp.Focus("#ask"), chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "yes" {
		t.Errorf("Tab from the question reached %q, not the Yes button", focused)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	after := before
	for time.Now().Before(deadline) && after == before {
		time.Sleep(200 * time.Millisecond)
		if v, err := chromedp.Run(ctx, chromedp.Text("#summary")); err == nil {
			after = v
		}
	}
	if after == before {
		t.Fatalf("answering %q did not change the verdict (%q)", ask, before)
	}
	t.Logf("%q: %q -> %q", ask, before, after)
}
