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

	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
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

// browse opens the page of a lab world in a headless chromium, led into
// the world (lab.World.BrowserRules), and records every request it makes.
// Extra flags go to chromium.
func browse(t *testing.T, scenario string, width int, flags ...chromedp.ExecAllocatorOption) (context.Context, string, func() []string) {
	t.Helper()
	bin := chromium(t)
	_, link, _, _, w := startWorld(t, scenario, 0)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.Flag("host-resolver-rules", w.BrowserRules()), chromedp.Flag("ignore-certificate-errors", true),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, 1000))
	opts = append(opts, flags...)
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

// onlyLoopback: the page requested nothing but its own server and the
// browser-side probes' files (the service's favicons, the video server's
// root); it returns how many probe requests it saw.
func onlyLoopback(t *testing.T, link string, reqs []string) int {
	t.Helper()
	u, _ := url.Parse(link)
	allowed := map[string]bool{}
	for _, p := range probe.BrowserURLs(profile.Netflix()) {
		allowed[p] = true
	}
	probes := 0
	for _, r := range reqs {
		ru, err := url.Parse(r)
		switch {
		case err == nil && (ru.Scheme == "data" || ru.Host == u.Host):
		case allowed[r] || (err == nil && strings.HasSuffix(ru.Host, ".oca.nflxvideo.net") && ru.Path == "/"):
			probes++
		default:
			t.Errorf("the page requested %s", r)
		}
	}
	return probes
}

func TestBrowserHealthy(t *testing.T) {
	ctx, link, reqs := browse(t, "healthy.yaml", 1280)
	axe := axeSource(t)
	if s := waitVerdict(t, ctx); !strings.HasPrefix(s, "No problem found") {
		t.Errorf("verdict %q", s)
	}
	axeCheck(t, ctx, axe, "healthy, 1280 px")
	if n := onlyLoopback(t, link, reqs()); n < len(profile.Netflix().Hosts) {
		t.Errorf("the page timed %d requests from the browser, want one per service host and the video server", n)
	}
	if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#layers li")].find(li => li.textContent.startsWith("Your browser")).className`)); st != "ok" {
		t.Errorf("the Browser line is %q, want ok", st)
	}
}

// A browser whose own proxy is dead, on a healthy network: the computer
// reaches the service, the browser does not, and only the page can see it.
func TestBrowserOnlyFailureIsTheBrowsers(t *testing.T) {
	ctx, link, reqs := browse(t, "healthy.yaml", 1280, chromedp.ProxyServer("http://127.0.0.1:9"))
	axe := axeSource(t)
	s := waitVerdict(t, ctx)
	step, err := chromedp.Run(ctx, chromedp.Text("#steps li strong"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "Something inside the browser") {
		t.Errorf("verdict %q (first step %q), want the browser's own cause", s, step)
	}
	axeCheck(t, ctx, axe, "browser-only failure")
	onlyLoopback(t, link, reqs())
	t.Logf("verdict %q, first step %q", s, step)
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

// The speed page, by keyboard: live figures, then SD, HD and 4K in words.
func TestBrowserSpeedPage(t *testing.T) {
	ctx, link, reqs := browse(t, "low-bandwidth.yaml", 1280)
	axe := axeSource(t)
	u, _ := url.Parse(link)
	if err := chromedp.Do(ctx, chromedp.Navigate(u.Scheme+"://"+u.Host+"/speed"), chromedp.WaitVisible("#start"),
		chromedp.Focus("#start"), chromedp.KeyEvent("\r"), chromedp.WaitVisible("#live")); err != nil {
		t.Fatal(err)
	}
	var live []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if done, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("result").hidden`)); done {
			break
		}
		if v, err := chromedp.Run(ctx, chromedp.Text("#mbps")); err == nil && (len(live) == 0 || live[len(live)-1] != v) {
			live = append(live, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Text("#verdict"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#qualities li")].map(li => li.textContent)`))
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "SD") || !strings.HasPrefix(rows[2], "4K") {
		t.Errorf("quality rows %q", rows)
	}
	if len(live) < 2 {
		t.Errorf("the figure did not move while measuring: %q", live)
	}
	if !strings.Contains(verdict, "not 4K") && !strings.Contains(verdict, "not HD") && !strings.Contains(verdict, "Too slow") {
		t.Errorf("on a slow line the verdict is %q", verdict)
	}
	axeCheck(t, ctx, axe, "speed page")
	onlyLoopback(t, link, reqs())
	t.Logf("live figures %q; %q; %q", live, verdict, rows)
}
