package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// FuzzPageJSON sends any body to the page's JSON handlers, through the
// guard, as the page would (its cookie, its host): every answer is one of
// the statuses the page knows, a refusal is one line of plain text, and
// the server keeps answering.
func FuzzPageJSON(f *testing.F) {
	for _, s := range []struct {
		path uint8
		body string
	}{
		{0, `{"answers":{"vpn":"yes"}}`}, {0, `{"answers":{"vpn":"maybe"}}`}, {0, `{}`}, {0, `{"answers":{"x":1}}`},
		{1, `{"answer":"done","turn":1}`}, {1, `{"answer":"yes","turn":0}`}, {1, `{"answer":"yes"}`}, {1, `{"answer":"stop","turn":-1}`},
		{2, `{"url":"https://www.netflix.com/favicon.ico","ok":true,"ms":12.5}`}, {2, `{"url":"x","ok":false,"ms":-1,"error":"timeout"}`},
		{3, `{"id":"0001"}`}, {3, `{"id":"../../etc/passwd"}`}, {3, `{"id":""}`},
		{4, `{"resume":true}`}, {4, `{"resume":"yes"}`}, {4, ``}, {4, `null`},
	} {
		f.Add(s.path, []byte(s.body))
	}
	w := labtest.World(f, "stale-browser-data.yaml")
	dir := f.TempDir()
	fenv := &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: w.Profile.CookieDomains}
	s := New(Config{KB: kb.MustDefault(), Env: func() *probe.Env { return w.Env() }, Profile: w.Profile, Code: w.Scenario.Code,
		FixEnv: fenv, Guide: testGuide(w, w.Scenario.Code, fenv, filepath.Join(dir, "session.json"))})
	l, _, err := s.Listen("127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	l.Close() // the handler is driven directly; the port names the host and the cookie
	h := s.Handler()
	do := func(path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1:"+s.port+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: CookieName(s.port), Value: s.session})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// A check whose id the browser results name.
	id, _ := s.newRun(probe.BrowserURLs(w.Profile))
	// The page's handlers that take a JSON body.
	paths := []string{"/api/check", "/api/fix/answer", "/api/browser?id=" + id, "/api/undo", "/api/fix/step"}
	if rec := do("/api/fix/step", []byte(`{}`)); rec.Code != 200 {
		f.Fatalf("starting a guided fix: HTTP %d %s", rec.Code, rec.Body)
	}
	known := map[int]bool{200: true, 204: true, 400: true, 404: true, 409: true, 413: true, 429: true}
	f.Fuzz(func(t *testing.T, path uint8, body []byte) {
		p := paths[int(path)%len(paths)]
		rec := do(p, body)
		if !known[rec.Code] {
			t.Fatalf("%s %q: HTTP %d %s", p, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			msg := strings.TrimSuffix(rec.Body.String(), "\n")
			if msg == "" || strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") {
				t.Fatalf("%s %q: HTTP %d with %q, want one line", p, body, rec.Code, rec.Body)
			}
		}
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.1:"+s.port+"/api/changes", nil)
		req.AddCookie(&http.Cookie{Name: CookieName(s.port), Value: s.session})
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("after %s %q the page no longer lists its changes: HTTP %d %s", p, body, rec.Code, rec.Body)
		}
	})
}
