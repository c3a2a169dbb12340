package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
	"github.com/streamdoctor/streamdoctor/internal/lang"
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
		if ck.Name != CookieName(u.Port()) {
			t.Errorf("unexpected cookie %s", ck.Name)
		}
		// The token works once and becomes another value: the opening
		// address a launcher's command line showed opens nothing later,
		// and the token is not the key to the session.
		if ck.Value == u.Query().Get("token") {
			t.Error("the cookie is the opening token itself")
		}
		forged := &http.Client{Timeout: 5 * time.Second}
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: u.Query().Get("token")})
		if resp, err := forged.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("the token as the cookie: %v %v, want 403", err, resp.StatusCode)
		}
	}
	if code := get(plain, link, "", nil, "GET"); code != http.StatusForbidden {
		t.Errorf("the opening address a second time, in another browser: HTTP %d, want 403", code)
	}
	if code := get(c, link, "", nil, "GET"); code != http.StatusOK {
		t.Errorf("the opening address again in the browser that has it open: HTTP %d, want the page", code)
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
	return followBody(t, c, base, map[string]any{"answers": answers})
}

// followBody is follow with the whole request body.
func followBody(t *testing.T, c *http.Client, base string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
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
	if result != nil {
		result["_id"] = id.ID // the check's id, for its report files
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
			call("/api/fix/answer", map[string]any{"answer": "done", "turn": v.Turn}, &v)
		case "verdict":
			call("/api/fix/answer", map[string]any{"answer": "no", "turn": v.Turn}, &v)
		default:
			t.Fatalf("unexpected step %+v", v)
		}
	}
	if v.Await != "consent" || v.Step.Fix != "clear_site_data" || len(v.Changes) == 0 || !strings.Contains(v.Changes[0], "cookies from") {
		t.Fatalf("never offered clearing site data with its exact change: %+v", v)
	}
	// Two "yes" sent at once (a double click): the answer names its turn,
	// so the second is refused instead of answering the next question ("it
	// plays now") and ending the session.
	type reply struct {
		code int
		v    stepView
	}
	replies := make(chan reply, 2)
	yes, _ := json.Marshal(map[string]any{"answer": "yes", "turn": v.Turn})
	for range 2 {
		go func() {
			resp, err := c.Post(base+"/api/fix/answer", "application/json", strings.NewReader(string(yes)))
			if err != nil {
				replies <- reply{}
				return
			}
			defer resp.Body.Close()
			var rv stepView
			json.NewDecoder(resp.Body).Decode(&rv)
			replies <- reply{resp.StatusCode, rv}
		}()
	}
	codes := map[int]int{}
	for range 2 {
		r := <-replies
		codes[r.code]++
		if r.code == 200 {
			v = r.v
		}
	}
	if codes[200] != 1 || codes[http.StatusConflict] != 1 {
		t.Fatalf("two answers for one turn: HTTP codes %v, want one 200 and one 409", codes)
	}
	if v.Done == "" || v.Await != "verdict" || v.Finished {
		t.Fatalf("after consent: %+v", v)
	}
	var missing bytes.Buffer
	missing.WriteString(`{"answer": "yes"}`)
	if resp, err := c.Post(base+"/api/fix/answer", "application/json", &missing); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an answer naming no turn: %v %v, want 400", err, resp.StatusCode)
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

// Two launches on one machine: browsers keep cookies by name and host,
// not port, so each launch's cookie carries its port and opening the second
// leaves the first page working.
func TestTwoLaunchesCoexist(t *testing.T) {
	_, linkA, _, _ := start(t, "healthy.yaml", 0)
	_, linkB, _, _ := start(t, "healthy.yaml", 0)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	for _, link := range []string{linkA, linkB} {
		resp, err := c.Get(link)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("opening %s: %v", link, err)
		}
		resp.Body.Close()
	}
	for _, link := range []string{linkA, linkB} {
		u, _ := url.Parse(link)
		resp, err := c.Post("http://"+u.Host+"/api/heartbeat", "application/json", nil)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Errorf("%s after both were opened: %v %d", u.Host, err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// The launch file forwards to the opening address, is readable by this
// user alone, and goes once the address has been opened.
func TestLaunchFile(t *testing.T) {
	s, link, _, _ := start(t, "healthy.yaml", 0)
	p, err := s.LaunchFile(t.TempDir(), link)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), html.EscapeString(link)) || !strings.Contains(string(b), `http-equiv="refresh"`) {
		t.Errorf("launch file:\n%s", b)
	}
	if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("launch file mode %v, want 0600", fi.Mode().Perm())
	}
	opened(t, link)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Error("the launch file is still there after the page was opened")
	}
}

// What one page can keep busy is bounded: checks running at once, event
// streams per check and in all; beyond each, 429. Closed streams give
// their places back.
func TestStreamsAndChecksAreCapped(t *testing.T) {
	_, link, _, _ := start(t, "outage-blackhole.yaml", 0) // silent connects keep its checks running for seconds
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	post := func(path string) (int, string) {
		resp, err := c.Post(base+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		id, _ := v["id"].(string)
		return resp.StatusCode, id
	}
	var ids []string
	for range MaxChecks {
		code, id := post("/api/check")
		if code != 200 {
			t.Fatalf("check %d: HTTP %d", len(ids)+1, code)
		}
		ids = append(ids, id)
	}
	if code, _ := post("/api/check"); code != http.StatusTooManyRequests {
		t.Errorf("check %d while %d run: HTTP %d, want 429", MaxChecks+1, MaxChecks, code)
	}
	var open []io.Closer
	defer func() {
		for _, b := range open {
			b.Close()
		}
	}()
	stream := func(id string) int {
		resp, err := c.Get(base + "/api/events?id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			open = append(open, resp.Body)
		} else {
			resp.Body.Close()
		}
		return resp.StatusCode
	}
	for _, id := range ids {
		for i := range MaxStreamsPerRun {
			if code := stream(id); code != 200 {
				t.Fatalf("stream %d of check %s: HTTP %d", i+1, id, code)
			}
		}
		if code := stream(id); code != http.StatusTooManyRequests {
			t.Errorf("stream %d of one check: HTTP %d, want 429", MaxStreamsPerRun+1, code)
		}
	}
	if MaxChecks*MaxStreamsPerRun < MaxStreams {
		t.Fatalf("the test needs the checks' streams to reach the bound in all (%d)", MaxStreams)
	}
	code, speedID := post("/api/speed")
	if code != 200 {
		t.Fatalf("speed test: HTTP %d", code)
	}
	if code := stream(speedID); code != http.StatusTooManyRequests {
		t.Errorf("a stream beyond %d in all: HTTP %d, want 429", MaxStreams, code)
	}
	// Closing them gives the places back.
	for _, b := range open {
		b.Close()
	}
	open = nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		code := stream(speedID)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after every stream was closed: HTTP %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// "Which error?": the service's codes as suggestions, one typed code's
// meaning (a family's sub-code, a code we lack with the nearest), and a
// bad service or an overlong code refused.
func TestCodesForThePage(t *testing.T) {
	_, link, _, _ := start(t, "healthy.yaml", 0)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	get := func(q string, v any) int {
		t.Helper()
		resp, err := c.Get(base + "/api/codes?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil && resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	var list []codeView
	if get("service=disneyplus", &list); len(list) < 5 || list[0].Code == "" {
		t.Errorf("Disney+ suggestions: %+v", list)
	}
	var one struct {
		Found   bool     `json:"found"`
		Code    codeView `json:"code"`
		Nearest []string `json:"nearest"`
	}
	if get("service=netflix&code=m7111-1331-4444", &one); !one.Found || one.Code.Code != "M7111-1331" || one.Code.Note == "" || one.Code.Network {
		t.Errorf("a sub-code: %+v", one)
	}
	one = struct {
		Found   bool     `json:"found"`
		Code    codeView `json:"code"`
		Nearest []string `json:"nearest"`
	}{}
	if get("code=NSEZ-530", &one); one.Found || len(one.Nearest) == 0 || one.Nearest[0] != "NSEZ-503" {
		t.Errorf("a code we lack: %+v", one)
	}
	if st := get("service=hulu", nil); st != 400 {
		t.Errorf("an unknown service: HTTP %d", st)
	}
	if st := get("code="+strings.Repeat("A", 65), nil); st != 400 {
		t.Errorf("an overlong code: HTTP %d", st)
	}
}

// The page's check keeps the launch's code unless the page names another;
// an emptied field is "no code", and a service's own code is its own.
func TestCheckTakesThePagesCode(t *testing.T) {
	_, link, _, _ := start(t, "vpn-blocked.yaml", 0)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{}, "NSEZ-503"},
		{map[string]any{"code": ""}, ""},
		{map[string]any{"code": "nw-2-5", "service": "netflix"}, "NW-2-5"},
		{map[string]any{"code": "NSEZ-403"}, ""}, // not the network's: checked without it
	} {
		_, r := followBody(t, c, base, tc.body)
		if r == nil || r["code"] != tc.want {
			t.Errorf("%v: report code %v, want %q", tc.body, r["code"], tc.want)
		}
	}
}

// The page's language: the browser's Accept-Language, then the menu's
// choice (?lang=, kept in a cookie); the report's JSON stays English while
// the page's result and saved files are in the viewer's language.
func TestPageLanguage(t *testing.T) {
	_, link, _, _ := start(t, "vpn-blocked.yaml", 0)
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	c := opened(t, link)
	get := func(path, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, body := get("/", "es-ES,es;q=0.9"); !strings.Contains(body, `<html lang="es">`) || !strings.Contains(body, "¿Qué servicio?") {
		t.Errorf("a Spanish browser got:\n%.400s", body)
	}
	if _, body := get("/speed", "pt-BR"); !strings.Contains(body, `<html lang="pt-BR">`) {
		t.Errorf("the speed page for a Portuguese browser:\n%.300s", body)
	}
	if code, body := get("/?lang=xx-bogus", ""); code != http.StatusBadRequest || !strings.Contains(body, "not available") {
		t.Errorf("an unknown language: HTTP %d %q", code, body)
	}
	// The menu's choice wins over the browser's, and stays.
	if code, _ := get("/?lang=pt-BR", "es"); code != 200 {
		t.Fatalf("choosing Portuguese: HTTP %d", code)
	}
	if _, body := get("/", "es"); !strings.Contains(body, `<html lang="pt-BR">`) {
		t.Errorf("the choice was not kept:\n%.300s", body)
	}
	_, r := follow(t, c, base, nil)
	pt, _ := lang.Parse("pt-BR")
	plan := r["plan"].([]any)
	if title := plan[0].(map[string]any)["title"]; title != kb.MustDefault().In(pt).Fix("disable_vpn").Title {
		t.Errorf("the page's first step %q is not Portuguese", title)
	}
	id := r["_id"].(string)
	if _, js := get("/api/report?format=json&id="+id, ""); !strings.Contains(js, `"summary": "Most likely: `) {
		t.Errorf("the JSON report is not English:\n%.400s", js)
	}
	if _, md := get("/api/report?format=md&id="+id, ""); !strings.Contains(md, pt.T("file.plan")) {
		t.Errorf("the saved Markdown is not Portuguese:\n%.400s", md)
	}
}
