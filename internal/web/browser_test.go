package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	cdpkb "github.com/chromedp/chromedp/kb"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/session"
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
	return browseWith(t, scenario, width, nil, flags...)
}

// browseWith is browse with a change to the server's configuration.
func browseWith(t *testing.T, scenario string, width int, setup func(*Config, *lab.World), flags ...chromedp.ExecAllocatorOption) (context.Context, string, func() []string) {
	t.Helper()
	bin := chromium(t)
	var setups []func(*Config, *lab.World)
	if setup != nil {
		setups = append(setups, setup)
	}
	_, link, _, _, w := startWorld(t, scenario, 0, setups...)
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
	// Headless chromium keeps windows at least 500 px wide: a phone's
	// width is emulated, as its developer tools do.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 1000), chromedp.Navigate(link)); err != nil {
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
	s := waitVerdict(t, ctx)
	head, _ := chromedp.Run(ctx, chromedp.Text("#headline"))
	next, _ := chromedp.Run(ctx, chromedp.Text("#healthy-next"))
	if head != "No problem found" || !strings.Contains(s, "reachable") || !strings.Contains(next, "Reload") {
		t.Errorf("headline %q, verdict %q, next %q", head, s, next)
	}
	axeCheck(t, ctx, axe, "healthy, 1280 px")
	screenshot(t, ctx, "web-healthy")
	// One per service host, and the Open Connect server the speed sample used.
	if n := onlyLoopback(t, link, reqs()); n != len(profile.Netflix().Hosts)+1 {
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
	fitsAPhone(t, ctx, "the page")
	axeCheck(t, ctx, axe, "vpn, 360 px")
	screenshot(t, ctx, "web-vpn-phone")
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
	screenshot(t, ctx, "web-speed")
	onlyLoopback(t, link, reqs())
	t.Logf("live figures %q; %q; %q", live, verdict, rows)
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// screenshot saves the viewport as NAME.png in STREAMDOCTOR_SCREENSHOTS
// (when set: how docs/screenshots are made).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("STREAMDOCTOR_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// press sends keys to whatever has the focus, as a keyboard would.
func press(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		t.Fatal(err)
	}
}

// tabTo presses Tab until the element with id has the focus.
func tabTo(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	for range 60 {
		if f, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); f == id {
			return
		}
		press(t, ctx, "\t")
	}
	t.Fatalf("Tab never reached #%s", id)
}

// waitFor waits until a script is true.
func waitFor(t *testing.T, ctx context.Context, what, script string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](script)); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waited in vain for %s", what)
}

func cookieCounts(t *testing.T, home string) (service, others int, sums map[string][32]byte) {
	t.Helper()
	sums = map[string][32]byte{}
	for _, p := range browsers.FindProfiles(home, "linux") {
		if p.Cookies == "" {
			continue
		}
		b, _ := os.ReadFile(p.Cookies)
		sums[p.Cookies] = sha256.Sum256(b)
		n, err := browsers.CountSiteCookies(p.Cookies, p.Engine, []string{"netflix.com"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		o, _ := browsers.CountSiteCookies(p.Cookies, p.Engine, []string{"example0.org", "example1.org", "example2.org", "example3.org", "example4.org"}, time.Now())
		service, others = service+n.Total, others+o.Total
	}
	return service, others, sums
}

// A whole guided fix by keyboard alone, on stale browser data: Tab and
// Enter start the plan, step through the by-hand steps, consent to
// "Do it for me" on clearing the service's cookies (they go, the other
// sites' stay), answer "No, still not", and Undo from the Changes list,
// which restores the stores byte for byte.
func TestBrowserWholeFixByKeyboard(t *testing.T) {
	var home string
	dir := t.TempDir()
	ctx, _, _ := browseWith(t, "stale-browser-data.yaml", 1280, func(c *Config, w *lab.World) {
		home = w.Home
		c.FixEnv = &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: w.Profile.CookieDomains}
		c.Guide = testGuide(w, c.Code, c.FixEnv, filepath.Join(dir, "session.json"))
	})
	axe := axeSource(t)
	svc0, others0, before := cookieCounts(t, home)
	if svc0 == 0 || others0 == 0 {
		t.Fatalf("the world's stores hold %d service and %d other cookies", svc0, others0)
	}
	waitVerdict(t, ctx)
	tabTo(t, ctx, "guide-start")
	press(t, ctx, "\r")
	// By-hand steps come first when they are cheaper: "Done", then "No, still not".
	for range 8 {
		waitFor(t, ctx, "a step", `!document.getElementById("guide-step").hidden`)
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-consent").hidden`)); ok {
			break
		}
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-byhand").hidden`)); ok {
			tabTo(t, ctx, "guide-done")
			press(t, ctx, "\r")
			waitFor(t, ctx, "the question after a step", `!document.getElementById("guide-verdict").hidden || !document.getElementById("guide-consent").hidden`)
			continue
		}
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-verdict").hidden`)); ok {
			was, _ := chromedp.Run(ctx, chromedp.Text("#guide-what"))
			tabTo(t, ctx, "guide-fails")
			press(t, ctx, "\r") // checks again, then offers the next step
			waitFor(t, ctx, "the next step", "document.getElementById('guide-verdict').hidden && document.getElementById('guide-what').textContent !== "+strconvQuote(was))
		}
	}
	what, _ := chromedp.Run(ctx, chromedp.Text("#guide-what"))
	changes, _ := chromedp.Run(ctx, chromedp.Text("#guide-changes"))
	if !strings.Contains(what, "cookies") || !strings.Contains(changes, "cookies from") {
		t.Fatalf("the consent step is %q changing %q", what, changes)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "guide-yes" {
		t.Errorf("the consent step put the focus on %q, not on Do it for me", focused)
	}
	// One figure per step: the plan below marks the steps tried and says
	// the current step's chance as the guided fix does.
	type planView struct {
		Tried   int
		Meta    string
		Current string
	}
	pv, _ := chromedp.Run(ctx, chromedp.Evaluate[planView](`(() => { const cur = [...document.querySelectorAll("li[data-fix]")].find(li => li.querySelector("strong").textContent === document.getElementById("guide-what").textContent.replace(/^[^:]*: /, ""));
		return {Tried: document.querySelectorAll("li.tried").length, Meta: document.getElementById("guide-meta").textContent, Current: cur ? cur.querySelector("[data-role=meta]").textContent : ""}; })()`))
	if pv.Tried == 0 || pv.Current != pv.Meta {
		t.Errorf("the plan beside the guided fix: %d steps marked tried, current step %q, guided fix %q", pv.Tried, pv.Current, pv.Meta)
	}
	axeCheck(t, ctx, axe, "a fix awaiting consent")
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView("#guide-step")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "web-fix-consent")
	// Do it for me, clicked twice in a row: the buttons are off while the
	// answer is on its way, so the second click answers nothing (it would
	// otherwise answer "it plays now" and end the session, or be refused).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const b = document.getElementById("guide-yes"); b.click(); b.click(); return b.disabled; })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the question after the fix", `!document.getElementById("guide-verdict").hidden`)
	time.Sleep(300 * time.Millisecond) // room for a second answer's reply, if one was sent
	if note, _ := chromedp.Run(ctx, chromedp.Text("#guide-note")); strings.Contains(note, "earlier step") || strings.Contains(note, "Enjoy") {
		t.Errorf("a double click answered twice: %q", note)
	}
	if verdict, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-verdict").hidden`)); !verdict {
		t.Error("after a double click the page no longer asks whether it plays")
	}
	svc1, others1, _ := cookieCounts(t, home)
	if svc1 != 0 || others1 != others0 {
		t.Errorf("after the fix: %d service cookies (want 0), %d others (want %d)", svc1, others1, others0)
	}
	tabTo(t, ctx, "guide-fails")
	press(t, ctx, "\r")
	waitFor(t, ctx, "the Changes list", `document.querySelector("#changes-list button") !== null`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#changes-list button").id = "undo-0"`)); err != nil {
		t.Fatal(err)
	}
	tabTo(t, ctx, "undo-0")
	press(t, ctx, "\r")
	waitFor(t, ctx, "the undo", `/restored|put back|undone/i.test(document.getElementById("guide-note").textContent)`)
	_, _, after := cookieCounts(t, home)
	for p, sum := range before {
		if after[p] != sum {
			t.Errorf("%s is not byte-identical after Undo", p)
		}
	}
	axeCheck(t, ctx, axe, "after Undo")
}

// "Which service? Which error?", by keyboard only: a code that is not the
// network's is answered by its meaning and one step, with the check
// offered, not forced; another service's code runs its check.
func TestBrowserServiceAndCode(t *testing.T) {
	ctx, _, _ := browse(t, "healthy.yaml", 1280)
	axe := axeSource(t)
	waitVerdict(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Focus("#code"), chromedp.KeyEvent("nsez-403"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("#meaning-step")); err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text("#meaning"))
	head, _ := chromedp.Run(ctx, chromedp.Text("#headline"))
	if !strings.Contains(text, "Not your network") || !strings.Contains(text, "What helps") || head != "Not a network problem" {
		t.Errorf("meaning %q, headline %q", text, head)
	}
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("verdict").hidden`)); !hidden {
		t.Error("a verdict is still shown under a code that is not the network's")
	}
	axeCheck(t, ctx, axe, "a service-side code")
	screenshot(t, ctx, "web-code-not-network")
	// The check stays one key away.
	if err := chromedp.Do(ctx, chromedp.Focus("#check-anyway"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	waitVerdict(t, ctx)
	// Another service, chosen by typing its name on the list, and its code.
	if err := chromedp.Do(ctx, chromedp.Focus("#service"), chromedp.KeyEvent("Disney"),
		chromedp.Focus("#code"), chromedp.KeyEvent("\b\b\b\b\b\b\b\b83"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("#meaning"), chromedp.WaitVisible("#verdict")); err != nil {
		t.Fatal(err)
	}
	text, _ = chromedp.Run(ctx, chromedp.Text("#meaning"))
	rows, _ := chromedp.Run(ctx, chromedp.Text("#layers"))
	opts, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#code-list option").length`))
	if !strings.Contains(text, "83") || !strings.Contains(rows, "Disney+") || opts < 5 {
		t.Errorf("Disney+ 83: meaning %q, rows %q, %d suggestions", text, rows, opts)
	}
	axeCheck(t, ctx, axe, "another service's code")
}

// A 3 Mbps line checked with no code: the page names the speed, and its
// row says why in plain words.
func TestBrowserSlowLineNoCode(t *testing.T) {
	ctx, _, _ := browseWith(t, "low-bandwidth-plain.yaml", 1280, func(c *Config, _ *lab.World) { c.Code = "" })
	axe := axeSource(t)
	s := waitVerdict(t, ctx)
	row, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#layers li")].find(li => li.textContent.startsWith("Speed")).textContent`))
	if strings.Contains(s, "No problem") || !strings.Contains(strings.ToLower(s), "slow") || !strings.Contains(row, "problem") {
		t.Errorf("verdict %q, speed row %q", s, row)
	}
	axeCheck(t, ctx, axe, "slow line, no code")
}

// Rows say "checking…" until every probe under them has finished, then
// their one-line summary; none says ok early.
func TestBrowserRowsCheckingThenExplained(t *testing.T) {
	ctx, _, _ := browse(t, "dns-timeout.yaml", 1280)
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#layers li.waiting")); err != nil {
		t.Fatal(err)
	}
	early, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#layers li")].find(li => li.textContent.startsWith("Name lookup")).className`))
	waitVerdict(t, ctx)
	type row struct {
		Name, Class, Plain string
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#layers li")].map(li => ({Name: li.querySelector("b").textContent, Class: li.className, Plain: (li.querySelector(".plain") || {}).textContent || ""}))`))
	if err != nil {
		t.Fatal(err)
	}
	if early == "ok" {
		t.Error("the name lookup row said ok while its lookups were still timing out")
	}
	for _, r := range rows {
		if r.Class == "waiting" || ((r.Class == "ok" || r.Class == "problem" || r.Class == "note") && r.Plain == "") {
			t.Errorf("row %+v at the end", r)
		}
	}
	t.Logf("name lookup early: %q; rows at the end: %+v", early, rows)
}

// Every step can be put off ("I can't do this now"): the next step comes
// at once, with the focus on it, and nothing is counted as tried; by
// keyboard only.
func TestBrowserStepCanWait(t *testing.T) {
	dir := t.TempDir()
	ctx, _, _ := browseWith(t, "stale-browser-data.yaml", 1280, func(c *Config, w *lab.World) {
		c.FixEnv = &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: w.Profile.CookieDomains}
		c.Guide = testGuide(w, c.Code, c.FixEnv, filepath.Join(dir, "session.json"))
	})
	axe := axeSource(t)
	waitVerdict(t, ctx)
	tabTo(t, ctx, "guide-start")
	press(t, ctx, "\r")
	waitFor(t, ctx, "a step", `!document.getElementById("guide-step").hidden`)
	was, _ := chromedp.Run(ctx, chromedp.Text("#guide-what"))
	later := "later-byhand"
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-consent").hidden`)); ok {
		later = "later-consent"
	}
	tabTo(t, ctx, later)
	press(t, ctx, "\r")
	waitFor(t, ctx, "the next step", `!document.getElementById("guide-step").hidden && document.getElementById("guide-what").textContent !== `+strconv.Quote(was))
	now, _ := chromedp.Run(ctx, chromedp.Text("#guide-what"))
	note, _ := chromedp.Run(ctx, chromedp.Text("#guide-note"))
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	title := strings.SplitN(was, ": ", 2)[1]
	if !strings.Contains(note, "Put off") || !strings.Contains(note, title) || !strings.HasPrefix(now, "Step 1: ") {
		t.Errorf("after putting off %q: %q, note %q", was, now, note)
	}
	if focused != "guide-what" && focused != "guide-yes" {
		t.Errorf("the focus is on %q, not the next step", focused)
	}
	axeCheck(t, ctx, axe, "a step put off")
	t.Logf("put off %q; next %q; note %q", was, now, note)
}

// A browser that asks for another language gets the page, the verdict,
// the steps and the rows in it; the menu switches language by keyboard.
func browseIn(t *testing.T, scenario string, width int, accept string) (context.Context, string, func() []string) {
	t.Helper()
	return browse(t, scenario, width, chromedp.Flag("accept-lang", accept), chromedp.Flag("lang", strings.Split(accept, ",")[0]))
}

// inLanguage checks a finished VPN verdict is said in tag's words: the
// page's own, the knowledge base's, and no English.
func inLanguage(t *testing.T, ctx context.Context, tag string) {
	t.Helper()
	l, err := lang.Parse(tag)
	if err != nil {
		t.Fatal(err)
	}
	k := kb.MustDefault().In(l)
	type page struct {
		Lang, Headline, Summary, Plan, Step, Rows, Text string
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](`({Lang: document.documentElement.lang, Headline: document.getElementById("headline").textContent,
		Summary: document.getElementById("summary").textContent, Plan: document.getElementById("plan-title").textContent,
		Step: document.querySelector("#steps li strong").textContent,
		Rows: [...document.querySelectorAll("#layers li b")].map(b => b.textContent).join("|"), Text: document.body.innerText})`))
	if err != nil {
		t.Fatal(err)
	}
	want := page{Lang: tag, Headline: l.T("page.result.found"), Plan: l.T("page.plan.title"), Step: k.Fix("disable_vpn").Title}
	if p.Lang != want.Lang || p.Headline != want.Headline || p.Plan != want.Plan || p.Step != want.Step {
		t.Errorf("%s page: lang %q headline %q plan %q first step %q; want %q %q %q %q", tag, p.Lang, p.Headline, p.Plan, p.Step, want.Lang, want.Headline, want.Plan, want.Step)
	}
	if !strings.Contains(p.Summary, k.Cause("vpn").Title) {
		t.Errorf("%s verdict %q does not name %q", tag, p.Summary, k.Cause("vpn").Title)
	}
	if !strings.Contains(p.Rows, l.T("layer.DNS")) || strings.Contains(p.Rows, "Name lookup") {
		t.Errorf("%s rows %q", tag, p.Rows)
	}
	for _, leftover := range []string{"{service}", "{{", "<no value>"} {
		if strings.Contains(p.Text, leftover) {
			t.Errorf("%s page shows %q", tag, leftover)
		}
	}
	for _, english := range []string{"What to do first", "What was checked", "Most likely", "Why we think so", "Fix it, one step at a time", "likely to fix it", "Keep or share this"} {
		if strings.Contains(p.Text, english) {
			t.Errorf("%s page still says %q", tag, english)
		}
	}
}

func TestBrowserSpanish(t *testing.T) {
	ctx, link, reqs := browseIn(t, "vpn-blocked.yaml", 1280, "es-ES,es")
	axe := axeSource(t)
	waitVerdict(t, ctx)
	inLanguage(t, ctx, "es")
	axeCheck(t, ctx, axe, "Spanish, 1280 px")
	screenshot(t, ctx, "web-es-vpn")
	onlyLoopback(t, link, reqs())
	// The menu, by keyboard: the language list, Down to the next language
	// (Português), then its button.
	tabTo(t, ctx, "lang")
	press(t, ctx, cdpkb.ArrowDown)
	tabTo(t, ctx, "lang-go")
	press(t, ctx, "\r")
	waitFor(t, ctx, "the page in Portuguese", `document.documentElement.lang === "pt-BR" && !document.getElementById("verdict").hidden`)
	inLanguage(t, ctx, "pt-BR")
}

func TestBrowserPortugueseAtPhoneWidth(t *testing.T) {
	ctx, _, _ := browseIn(t, "vpn-blocked.yaml", 360, "pt-BR,pt")
	axe := axeSource(t)
	waitVerdict(t, ctx)
	inLanguage(t, ctx, "pt-BR")
	fitsAPhone(t, ctx, "the Portuguese page")
	axeCheck(t, ctx, axe, "Portuguese, 360 px")
	screenshot(t, ctx, "web-pt-BR-vpn-phone")
}

// A guided fix saved by an earlier launch is offered, never resumed
// unasked: "Continue" brings back its step, "Start fresh" and then "Start
// with step 1" begin at step 1; by keyboard only, in two launches.
func TestBrowserResumedOrFresh(t *testing.T) {
	saved := func(w *lab.World, path string) {
		t.Helper()
		k := kb.MustDefault()
		f := k.Fix("restart_browser")
		st := &session.State{Schema: session.Schema, Service: w.Profile.Name, Code: "NSEZ-503", StartedAt: time.Now().UTC(),
			Tried: []string{"try_private_window"}, Await: session.AwaitDone, Turn: 4,
			Step: &session.Step{Number: 2, Fix: f.ID, Title: f.Title, Difficulty: f.Difficulty, Minutes: f.Minutes, PSuccess: 0.2, Lines: f.StepsFor("linux")}}
		if err := st.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	open := func(t *testing.T) (context.Context, string) {
		dir := t.TempDir()
		statePath := filepath.Join(dir, "session.json")
		ctx, _, _ := browseWith(t, "stale-browser-data.yaml", 1280, func(c *Config, w *lab.World) {
			c.FixEnv = &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: w.Profile.CookieDomains}
			c.Guide = testGuide(w, c.Code, c.FixEnv, statePath)
			saved(w, statePath)
		})
		waitVerdict(t, ctx)
		waitFor(t, ctx, "the offer to continue", `!document.getElementById("resume").hidden`)
		if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("guide-step").hidden`)); shown {
			t.Error("the saved step is shown before the viewer chose to continue")
		}
		return ctx, statePath
	}
	t.Run("continue", func(t *testing.T) {
		ctx, _ := open(t)
		axe := axeSource(t)
		what, _ := chromedp.Run(ctx, chromedp.Text("#resume-what"))
		axeCheck(t, ctx, axe, "the offer to continue")
		tabTo(t, ctx, "resume-yes")
		press(t, ctx, "\r")
		waitFor(t, ctx, "the saved step", `!document.getElementById("guide-step").hidden`)
		if now, _ := chromedp.Run(ctx, chromedp.Text("#guide-what")); now != "Step 2: Restart the browser" || !strings.Contains(what, "Restart the browser") {
			t.Errorf("offered %q, continued at %q", what, now)
		}
	})
	t.Run("fresh", func(t *testing.T) {
		ctx, _ := open(t)
		tabTo(t, ctx, "resume-no")
		press(t, ctx, "\r")
		waitFor(t, ctx, "the offer put away", `document.getElementById("resume").hidden`)
		tabTo(t, ctx, "guide-start")
		press(t, ctx, "\r")
		waitFor(t, ctx, "a fresh step", `!document.getElementById("guide-step").hidden`)
		if now, _ := chromedp.Run(ctx, chromedp.Text("#guide-what")); !strings.HasPrefix(now, "Step 1: ") {
			t.Errorf("a fresh start began at %q", now)
		}
	})
}

// fitsAPhone: at 360 px the page does not scroll sideways and the first
// step is on the first screen of a phone (740 px tall).
func fitsAPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
		t.Errorf("%s scrolls sideways at 360 px", what)
	}
	if bottom, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("#steps li strong").getBoundingClientRect().bottom + window.scrollY`)); bottom <= 0 || bottom > 740 {
		t.Errorf("the first step ends %.0f px down %s at 360 px, want within the first 740", bottom, what)
	}
}
