package web

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/session"
)

func start(t *testing.T, scenario string, idle time.Duration) (*Server, string, context.CancelFunc, chan error) {
	t.Helper()
	s, link, cancel, done, _ := startWorld(t, scenario, idle)
	return s, link, cancel, done
}

// startWorld is start that also returns the lab world; setup may change
// the server's configuration first.
func startWorld(t *testing.T, scenario string, idle time.Duration, setup ...func(*Config, *lab.World)) (*Server, string, context.CancelFunc, chan error, *lab.World) {
	t.Helper()
	w := labtest.World(t, scenario)
	cfg := Config{KB: kb.MustDefault(), Env: func() *probe.Env { return w.Env() }, Profile: w.Profile, Code: w.Scenario.Code, IdleExit: idle,
		Speed: func(ctx context.Context, progress func(string, float64)) (*report.Speed, error) {
			return check.Speed(ctx, w.Env(), w.Profile, "", 3*time.Second, true, progress)
		}}
	for _, f := range setup {
		f(&cfg, w)
	}
	s := New(cfg)
	l, link, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(cancel)
	return s, link, cancel, done, w
}

// opened is a client that has opened the link (and so holds the cookie).
func opened(t *testing.T, link string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(resp.Request.URL.RawQuery, "token") {
		t.Fatalf("opening the link: HTTP %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return c
}

func TestSecurity(t *testing.T) {
	_, link, _, _ := start(t, "healthy.yaml", 0)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	plain := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, target, host string, hdr map[string]string, method string) int {
		req, _ := http.NewRequest(method, target, strings.NewReader(`{}`))
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(plain, base+"/", "", nil, "GET"); code != http.StatusForbidden {
		t.Errorf("no cookie: HTTP %d, want 403", code)
	}
	if code := get(plain, base+"/?token=wrong", "", nil, "GET"); code != http.StatusForbidden {
		t.Errorf("a wrong key: HTTP %d, want 403", code)
	}
	if code := get(plain, link, "rebound.example:"+u.Port(), nil, "GET"); code != http.StatusMisdirectedRequest {
		t.Errorf("a foreign Host (DNS rebinding): HTTP %d, want 421", code)
	}
	c := opened(t, link)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name != CookieName {
			t.Errorf("unexpected cookie %s", ck.Name)
		}
	}
	if code := get(c, base+"/api/check", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "POST"); code != http.StatusForbidden {
		t.Errorf("a cross-site POST: HTTP %d, want 403", code)
	}
	if code := get(plain, base+"/api/check", "", nil, "POST"); code != http.StatusForbidden {
		t.Errorf("a POST without the cookie: HTTP %d, want 403", code)
	}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: CSP %q", csp)
	}
	big := strings.NewReader(`{"answers":{"x":"` + strings.Repeat("y", MaxBody) + `"}}`)
	req, _ := http.NewRequest("POST", base+"/api/check", big)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("an oversized body: HTTP %d", resp.StatusCode)
		}
	}
	if IsLoopback("0.0.0.0:8080") || IsLoopback("192.168.1.5:80") || !IsLoopback("127.0.0.1:0") || !IsLoopback("[::1]:9") {
		t.Error("IsLoopback")
	}
}

// follow runs a check through the API and returns its events and result.
func follow(t *testing.T, c *http.Client, base string, answers map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"answers": answers})
	resp, err := c.Post(base+"/api/check", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var id struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&id)
	resp.Body.Close()
	ev, err := c.Get(base + "/api/events?id=" + id.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	sc := bufio.NewScanner(ev.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	layers, name := 0, ""
	var result map[string]any
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if name == "layers" {
				layers++
			}
			if name == "result" {
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &result)
			}
		}
	}
	return layers, result
}

func TestCheckThroughThePage(t *testing.T) {
	_, link, _, _ := start(t, "vpn-blocked.yaml", 0)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	layers, r := follow(t, c, base, nil)
	if layers < 5 || r == nil {
		t.Fatalf("%d layer updates, result %v", layers, r != nil)
	}
	v := r["verdict"].(map[string]any)
	if v["top_cause"] != "vpn" {
		t.Errorf("verdict %v", v)
	}
	plan := r["plan"].([]any)
	if len(plan) == 0 || plan[0].(map[string]any)["title"] != "Turn off the VPN" {
		t.Errorf("plan %v", plan)
	}
	resp, err := c.Get(base + "/api/report?format=md&id=nope")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("a report of no check: HTTP %d", resp.StatusCode)
		}
	}
}

// With no page sending heartbeats the server ends by itself.
func TestEndsWhenNoPageIsOpen(t *testing.T) {
	s, _, _, done := start(t, "healthy.yaml", 300*time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still serving 5 s after the last page went away")
	}
	select {
	case <-s.Idle():
	default:
		t.Error("stopped, but not for being idle")
	}
}

// "Do it for me" through the page's API: the same state machine as the
// terminal, consent shows the exact change, the service's cookies go and
// the others stay, and Undo on the Changes list restores the store byte
// for byte.
func TestDoItForMeAndUndo(t *testing.T) {
	w := labtest.World(t, "stale-browser-data.yaml")
	sc := w.Scenario
	stores := map[string][32]byte{}
	for _, p := range browsers.FindProfiles(w.Home, "linux") {
		if p.Cookies != "" {
			b, _ := os.ReadFile(p.Cookies)
			stores[p.Cookies] = sha256.Sum256(b)
		}
	}
	if len(stores) == 0 {
		t.Fatal("the world has no cookie store")
	}
	dir := t.TempDir()
	fenv := &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: w.Profile.CookieDomains}
	s := New(Config{KB: kb.MustDefault(), Env: func() *probe.Env { return w.Env() }, Profile: w.Profile, Code: sc.Code,
		FixEnv: fenv, Guide: testGuide(w, sc.Code, fenv, filepath.Join(dir, "session.json"))})
	l, link, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, l)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	call := func(path string, body any, v any) {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := c.Post(base+path, "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			msg, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s: HTTP %d %s", path, resp.StatusCode, msg)
		}
		json.NewDecoder(resp.Body).Decode(v)
	}
	var v stepView
	call("/api/fix/step", nil, &v)
	for i := 0; i < 6 && v.Await != "consent"; i++ {
		switch v.Await {
		case "done":
			call("/api/fix/answer", map[string]string{"answer": "done"}, &v)
		case "verdict":
			call("/api/fix/answer", map[string]string{"answer": "no"}, &v)
		default:
			t.Fatalf("unexpected step %+v", v)
		}
	}
	if v.Await != "consent" || v.Step.Fix != "clear_site_data" || len(v.Changes) == 0 || !strings.Contains(v.Changes[0], "cookies from") {
		t.Fatalf("never offered clearing site data with its exact change: %+v", v)
	}
	call("/api/fix/answer", map[string]string{"answer": "yes"}, &v)
	if v.Done == "" || v.Await != "verdict" {
		t.Fatalf("after consent: %+v", v)
	}
	for p := range stores {
		for _, pr := range browsers.FindProfiles(w.Home, "linux") {
			if pr.Cookies != p {
				continue
			}
			n, _ := browsers.CountSiteCookies(p, pr.Engine, []string{"netflix.com"}, time.Now())
			if n.Total != 0 {
				t.Errorf("%s: %d service cookies left", p, n.Total)
			}
		}
	}
	resp, err := c.Get(base + "/api/changes")
	if err != nil {
		t.Fatal(err)
	}
	var list []changeView
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 1 || !list[0].CanUndo || list[0].ID != v.Done {
		t.Fatalf("changes %+v", list)
	}
	var note map[string]string
	call("/api/undo", map[string]string{"id": v.Done}, &note)
	for p, want := range stores {
		b, _ := os.ReadFile(p)
		if sha256.Sum256(b) != want {
			t.Errorf("%s not restored byte-identical", p)
		}
	}
}

// testGuide is the guided fix of a lab world, as `streamdoctor web` builds it.
func testGuide(w *lab.World, code string, fenv *fix.Env, statePath string) *session.Guide {
	k := kb.MustDefault()
	env := func() *probe.Env { return w.Env() }
	return session.New(session.Config{KB: k, OS: "linux", FixEnv: fenv, StatePath: statePath, Service: w.Profile.Name, Code: code,
		Diagnoser:   check.Diagnoser(k, env, check.Request{Profile: w.Profile, Code: code, Timeout: 5 * time.Second}),
		NetworkBack: func(ctx context.Context) bool { return probe.Reachable(ctx, env(), w.Profile) }})
}
