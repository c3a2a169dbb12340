package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/httpserve"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/session"
)

//go:embed assets/*
var assets embed.FS

var (
	page      = template.Must(template.ParseFS(assets, "assets/index.html", "assets/langmenu.html"))
	speedTmpl = template.Must(template.ParseFS(assets, "assets/speed.html", "assets/langmenu.html"))
)

// IdleExit: with no heartbeat from any page for this long, the server ends.
const IdleExit = 2 * time.Minute

// keepRuns: the checks of a page kept for their reports.
const keepRuns = 20

// MaxBody bounds a request body (answers are a few hundred bytes).
const MaxBody = 16 << 10

// Bounds on what one page (or anything holding its cookie) can keep busy:
// checks running at once, event streams per check (the page opens one; a
// reload or a second tab another) and in all. Beyond them the answer is
// 429.
const (
	MaxChecks        = 4
	MaxStreamsPerRun = 4
	MaxStreams       = 16
)

// CookieName is the session cookie the opening URL's one-time token is
// exchanged for, named after the port (browsers do not keep cookies apart
// by port, so two launches on one machine would otherwise share one).
func CookieName(port string) string { return "streamdoctor_" + port }

// Config sets up the server.
type Config struct {
	KB      *kb.KB
	Env     func() *probe.Env
	Profile profile.Profile
	Code    string
	Timeout time.Duration // of one check (default 5 s)
	// IdleExit overrides the package's (tests).
	IdleExit time.Duration
	Log      *log.Logger
	// Guide is the guided fix the page drives (nil: none); FixEnv's
	// journal is the Changes list.
	Guide  *session.Guide
	FixEnv *fix.Env
	// Speed runs the speed page's full test (nil: no speed page).
	Speed SpeedFunc
}

// Server is one launch of the page.
type Server struct {
	cfg Config
	// token opens the page once (the launch file's or the printed
	// address's); it is then exchanged for session, a different random
	// value, as the cookie.
	token     string
	tokenUsed bool
	session   string
	launch    string // the launch file, removed once the token is used
	port      string
	cop       *http.CrossOriginProtection

	mu       sync.Mutex
	lastSeen time.Time
	runs     map[string]*run
	order    []string // run ids, oldest first
	idle     chan struct{}
	checks   int // checks running
	streams  int // event streams open

	fixMu sync.Mutex // one answer at a time
	fix   *session.State

	speedBusy sync.Mutex // one speed test at a time
}

// run is one check as the page follows it.
type run struct {
	mu      sync.Mutex
	events  []event // everything sent so far, replayed to a late subscriber
	wake    chan struct{}
	answers evidence.Answers
	rep     *report.Report // in English (the JSON document)
	view    *report.Report // in the viewer's language
	lang    *lang.L
	// prof and code are what this check is for (the page may ask for
	// another service or code than the launch's).
	prof profile.Profile
	code string

	// The browser's own requests (catalog.PBrowser): the URLs the page was
	// asked to time, and its results as they arrive.
	bmu      sync.Mutex
	bwant    map[string]bool
	bresults chan probe.BrowserResult

	streams int // event streams open on it (under Server.mu)
}

// connectSrc is the page's connect-src: itself, the service's hosts and
// the service's video servers; nothing else can be requested from it.
func (s *Server) connectSrc() string {
	src := []string{"'self'"}
	seen := map[string]bool{}
	for _, p := range s.services() {
		for _, h := range p.Hosts {
			if !seen[h.Origin()] {
				seen[h.Origin()] = true
				src = append(src, h.Origin())
			}
		}
		if d := p.VideoDomain; d != "" && !seen[d] {
			seen[d] = true
			src = append(src, "https://*."+d)
		}
	}
	return strings.Join(src, " ")
}

type event struct {
	name string
	data []byte
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New prepares a server.
func New(cfg Config) *Server {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.IdleExit <= 0 {
		cfg.IdleExit = IdleExit
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	return &Server{cfg: cfg, token: randomHex(16), session: randomHex(16), cop: http.NewCrossOriginProtection(),
		lastSeen: time.Now(), runs: map[string]*run{}, idle: make(chan struct{})}
}

// IsLoopback reports whether a listen address is on loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen opens the listener and returns the URL to open (its one-time
// token included).
func (s *Server) Listen(listen string) (net.Listener, string, error) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	s.port = port
	host := "127.0.0.1"
	if a, ok := l.Addr().(*net.TCPAddr); ok && a.IP.To4() == nil && a.IP.IsLoopback() {
		host = "[::1]"
	}
	return l, fmt.Sprintf("http://%s:%s/?token=%s", host, port, s.token), nil
}

// LaunchFile writes, in dir (the user's runtime folder), a page readable by
// this user alone that forwards the browser to link: the browser is started
// on the file, so no command line another user can read (ps) carries the
// token (Jupyter's way). The file goes once the token has been used, and
// when the server stops.
func (s *Server) LaunchFile(dir, link string) (string, error) {
	f, err := os.CreateTemp(dir, "streamdoctor-open-*.html")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	esc := html.EscapeString(link)
	_, err = fmt.Fprintf(f, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=%s"><title>StreamDoctor</title></head><body><p><a href="%s">Open StreamDoctor</a></p></body></html>`, esc, esc)
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	s.mu.Lock()
	s.launch = f.Name()
	s.mu.Unlock()
	return f.Name(), nil
}

func (s *Server) removeLaunchFile() {
	s.mu.Lock()
	p := s.launch
	s.launch = ""
	s.mu.Unlock()
	if p != "" {
		os.Remove(p)
	}
}

// Serve answers on l until ctx ends or no page has been open for IdleExit.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10, ErrorLog: s.cfg.Log}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.removeLaunchFile()
	go s.watchIdle(ctx, cancel)
	return httpserve.Serve(ctx, hs, l, time.Second)
}

func (s *Server) watchIdle(ctx context.Context, stop func()) {
	t := time.NewTicker(min(s.cfg.IdleExit/4, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			idle := time.Since(s.lastSeen) > s.cfg.IdleExit
			s.mu.Unlock()
			if idle {
				close(s.idle)
				stop()
				return
			}
		}
	}
}

func (s *Server) seen() {
	s.mu.Lock()
	s.lastSeen = time.Now()
	s.mu.Unlock()
}

// Handler is the whole app behind its guards.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.Handle("GET /assets/", http.FileServerFS(assets))
	mux.HandleFunc("POST /api/check", s.startCheck)
	mux.HandleFunc("GET /api/codes", s.codes)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("POST /api/heartbeat", func(w http.ResponseWriter, r *http.Request) { s.seen(); w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /api/report", s.reportFile)
	mux.HandleFunc("POST /api/browser", s.browserResult)
	mux.HandleFunc("GET /speed", s.speedPage)
	mux.HandleFunc("POST /api/speed", s.startSpeed)
	mux.HandleFunc("POST /api/fix/step", s.fixStep)
	mux.HandleFunc("GET /api/fix/saved", s.fixSaved)
	mux.HandleFunc("POST /api/fix/answer", s.fixAnswer)
	mux.HandleFunc("POST /api/fix/network", s.network)
	mux.HandleFunc("GET /api/changes", s.changes)
	mux.HandleFunc("POST /api/undo", s.undo)
	return s.guard(mux)
}

// guard: the Host must be this loopback server (DNS rebinding), the
// session cookie must be there (except on the opening URL, which sets it),
// and state-changing requests must come from this page's own origin.
func (s *Server) guard(next http.Handler) http.Handler {
	allowed := map[string]bool{"127.0.0.1:" + s.port: true, "[::1]:" + s.port: true, "localhost:" + s.port: true}
	protected := s.cop.Handler(next)
	csp := s.connectSrc()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src "+csp+"; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !allowed[r.Host] {
			http.Error(w, langOf(r).T("error.loopback_only"), http.StatusMisdirectedRequest)
			return
		}
		c, err := r.Cookie(CookieName(s.port))
		hasSession := err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session)) == 1
		if tok := r.URL.Query().Get("token"); r.Method == http.MethodGet && r.URL.Path == "/" && tok != "" {
			if hasSession {
				http.Redirect(w, r, "/", http.StatusSeeOther) // already open in this browser
				return
			}
			s.mu.Lock()
			valid := !s.tokenUsed && subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
			if valid {
				s.tokenUsed = true
			}
			s.mu.Unlock()
			if !valid {
				http.Error(w, langOf(r).T("error.link_used"), http.StatusForbidden)
				return
			}
			s.removeLaunchFile()
			http.SetCookie(w, &http.Cookie{Name: CookieName(s.port), Value: s.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/", http.StatusSeeOther) // the token leaves the address bar
			return
		}
		if !hasSession {
			http.Error(w, langOf(r).T("error.no_key"), http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		s.seen()
		protected.ServeHTTP(w, r)
	})
}

// services are what the page offers under "Which service?": the one it
// was opened for first, then the other built-in ones.
func (s *Server) services() []profile.Profile {
	return append([]profile.Profile{s.cfg.Profile}, profile.Peers(s.cfg.Profile.Name)...)
}

// service finds one of services by id ("" is the launch's).
func (s *Server) service(id string) (profile.Profile, bool) {
	if id == "" {
		return s.cfg.Profile, true
	}
	for _, p := range s.services() {
		if p.Name == id {
			return p, true
		}
	}
	return profile.Profile{}, false
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if chooseLang(w, r) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	d := newPageData(r, "page.", "layer.")
	if c := s.cfg.KB.Code(s.cfg.Code); c != nil {
		d.Code = c.Code
	}
	for _, p := range s.services() {
		d.Services = append(d.Services, option{p.Name, p.Title})
	}
	d.Service, d.ServiceID = s.cfg.Profile.Title, s.cfg.Profile.Name
	_ = page.ExecuteTemplate(w, "index.html", d)
}

// codeView is one code as the page shows it.
type codeView struct {
	Code    string `json:"code"`
	Title   string `json:"title"`
	Meaning string `json:"meaning,omitempty"`
	Class   string `json:"class"`
	Step    string `json:"step,omitempty"`
	// Network: the check can find its cause; otherwise the step is the
	// answer and the check is only offered.
	Network bool   `json:"network"`
	Note    string `json:"note,omitempty"`
}

// codes answers the page's "Which error?": the service's codes for the
// suggestions (no code given), or what one typed code means.
func (s *Server) codes(w http.ResponseWriter, r *http.Request) {
	p, ok := s.service(r.URL.Query().Get("service"))
	if !ok {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	l := langOf(r)
	k := s.cfg.KB.In(l) // titles, meanings and steps in the viewer's language
	typed := r.URL.Query().Get("code")
	if typed == "" {
		list := []codeView{}
		for _, c := range k.CodeList() {
			if c.Service == p.Name {
				list = append(list, codeView{Code: c.Code, Title: c.Title, Class: c.Class, Network: c.Diagnosable()})
			}
		}
		_ = json.NewEncoder(w).Encode(list)
		return
	}
	if len(typed) > 64 {
		http.Error(w, "an error code has at most 64 characters", http.StatusBadRequest)
		return
	}
	c, exact := k.Lookup(p.Name, typed)
	if c == nil {
		v := map[string]any{"found": false, "note": l.T("page.meaning.not_listed")}
		var near []string
		for _, n := range k.Nearest(p.Name, typed, 3) {
			near = append(near, n.Code)
		}
		v["nearest"] = near
		_ = json.NewEncoder(w).Encode(v)
		return
	}
	v := codeView{Code: c.Code, Title: report.ServiceIn(c.Title, p.Title), Meaning: report.ServiceIn(c.Meaning, p.Title), Class: c.Class, Step: report.ServiceIn(c.Step, p.Title), Network: c.Diagnosable()}
	if !exact && c.Family != "" {
		v.Note = l.T("page.meaning.family", "Code", strings.TrimSpace(typed), "Family", c.Family)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"found": true, "code": v})
}

// startCheck runs a check (with the answers given so far) and returns its
// id; its progress and result arrive on /api/events.
func (s *Server) startCheck(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Answers map[string]string `json:"answers"`
		Service string            `json:"service"`
		// Code: absent keeps the launch's; "" is "no code".
		Code *string `json:"code"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "the request is not {\"answers\": {question: yes|no}, \"service\": id, \"code\": code}", http.StatusBadRequest)
		return
	}
	prof, ok := s.service(body.Service)
	if !ok {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	// The launch's code for the launch's service; a typed one replaces it.
	// A code not in the catalogue (or of another class) is checked without.
	code := ""
	if body.Service == "" || body.Service == s.cfg.Profile.Name {
		code = s.cfg.Code
	}
	if body.Code != nil {
		code = ""
		if len(*body.Code) <= 64 {
			code = s.cfg.KB.CheckKey(prof.Name, *body.Code)
		}
	}
	ans := evidence.Answers{}
	for q, a := range body.Answers {
		v, err := evidence.Answer(q, a)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ans[q] = v
	}
	s.mu.Lock()
	busy := s.checks >= MaxChecks
	if !busy {
		s.checks++
	}
	s.mu.Unlock()
	if busy {
		tooMany(w, langOf(r).T("error.too_many", "What", langOf(r).T("error.checks_running")))
		return
	}
	urls := probe.BrowserURLs(prof)
	id, rn := s.newRun(urls)
	rn.answers, rn.prof, rn.code, rn.lang = ans, prof, code, langOf(r)
	go func() {
		defer func() { s.mu.Lock(); s.checks--; s.mu.Unlock() }()
		s.runCheck(rn)
	}()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "browser": urls, "browser_timeout_ms": probe.BrowserTimeout.Milliseconds()})
}

// newRun registers a run (a check, or a speed test) whose events the page
// follows; urls are the browser-side requests it asks the page for.
func (s *Server) newRun(urls []string) (string, *run) {
	id := randomHex(8)
	rn := &run{wake: make(chan struct{}), bwant: map[string]bool{}, bresults: make(chan probe.BrowserResult, len(urls)+1)}
	for _, u := range urls {
		rn.bwant[u] = false
	}
	s.mu.Lock()
	s.runs[id] = rn
	s.order = append(s.order, id)
	for len(s.order) > keepRuns { // a long-open page keeps its recent runs only
		delete(s.runs, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	return id, rn
}

// finish ends the run's event stream.
func (rn *run) finish() { rn.send("end", struct{}{}) }

// browserResult takes one of the page's own timed requests. Only the URLs
// the server asked for are taken, each once.
func (s *Server) browserResult(w http.ResponseWriter, r *http.Request) {
	rn := s.lookupRun(w, r)
	if rn == nil {
		return
	}
	var res probe.BrowserResult
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil || res.MS < 0 || res.MS > 600000 || (res.Error != "" && res.Error != "timeout" && res.Error != "network") {
		http.Error(w, `the request is not {"url": U, "ok": true|false, "ms": N, "error": "timeout"|"network"}`, http.StatusBadRequest)
		return
	}
	rn.bmu.Lock()
	done, asked := rn.bwant[res.URL]
	if asked && !done {
		rn.bwant[res.URL] = true
	}
	rn.bmu.Unlock()
	if !asked || done {
		http.Error(w, "this check did not ask for that request, or has it already", http.StatusConflict)
		return
	}
	select {
	case rn.bresults <- res:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// askVideo adds the video server the probes used to the page's requests,
// if it is one of the service's (p.VideoDomain).
func (rn *run) askVideo(p profile.Profile, server string) string {
	u := probe.VideoURL(server)
	if u == "" || p.VideoDomain == "" || !strings.HasSuffix(profile.HostOf(u), "."+p.VideoDomain) {
		return ""
	}
	rn.bmu.Lock()
	defer rn.bmu.Unlock()
	if _, ok := rn.bwant[u]; ok {
		return ""
	}
	rn.bwant[u] = false
	return u
}

// browser waits for the page's results (check.Request.Browser): every URL
// asked for, or until ctx ends.
func (rn *run) browser(ctx context.Context, _ []probe.Observation) []probe.Observation {
	rn.bmu.Lock()
	want := len(rn.bwant)
	rn.bmu.Unlock()
	return probe.CollectBrowser(ctx, rn.bresults, want)
}

func (rn *run) send(name string, v any) {
	b, _ := json.Marshal(v)
	rn.mu.Lock()
	rn.events = append(rn.events, event{name, b})
	close(rn.wake)
	rn.wake = make(chan struct{})
	rn.mu.Unlock()
}

// layerView is one checklist line: its status and its line in plain
// words; "waiting" while a probe under it still runs.
type layerView struct {
	Name, Status, Plain string
}

// layers are the checklist lines of what finished; a line with a probe
// still running (pending, by name) stays "waiting", so no line says ok
// before everything under it is known.
func layers(l *lang.L, obs []probe.Observation, pending map[string]bool, service string) []layerView {
	waiting := map[string]bool{}
	for name := range pending {
		if p, ok := catalog.Spec(name); ok {
			waiting[report.LayerTitle(p.Layer)] = true
		}
	}
	var out []layerView
	for _, ly := range report.LayersIn(l, obs, service) {
		v := layerView{Name: ly.Name, Status: string(ly.Status), Plain: ly.Plain}
		if waiting[ly.Name] {
			v.Status, v.Plain = "waiting", ""
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) runCheck(rn *run) {
	var mu sync.Mutex
	var seen []probe.Observation
	pending := map[string]bool{}
	for _, n := range probe.Planned() {
		pending[n] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+5*time.Second)
	defer cancel()
	res, err := check.Run(ctx, s.cfg.KB, s.cfg.Env(), check.Request{Profile: rn.prof, Code: rn.code, Answers: rn.answers, Timeout: s.cfg.Timeout, Lang: rn.lang,
		Browser: func(ctx context.Context, probed []probe.Observation) []probe.Observation {
			b := rn.browser(ctx, probed)
			rn.send("layers", layers(rn.lang, append(append([]probe.Observation(nil), probed...), b...), nil, rn.prof.Title))
			return b
		},
		Progress: func(_, _ int, name string) {
			mu.Lock()
			delete(pending, name)
			view := layers(rn.lang, seen, pending, rn.prof.Title)
			mu.Unlock()
			rn.send("layers", view)
		},
		OnResult: func(obs []probe.Observation) {
			for _, o := range obs {
				if o.Probe == catalog.PThroughput && o.Status != probe.NotRun {
					if u := rn.askVideo(rn.prof, o.Target); u != "" {
						rn.send("browser", map[string]string{"url": u})
					}
				}
			}
			mu.Lock()
			seen = append(seen, obs...)
			mu.Unlock()
		}})
	if err != nil {
		rn.send("failed", map[string]string{"error": rn.lang.T("page.error.run_because", "Error", err.Error())})
	} else {
		rn.mu.Lock()
		rn.rep, rn.view = res.Report, res.View
		rn.mu.Unlock()
		rn.send("result", res.View)
	}
	rn.finish()
}

func (s *Server) lookupRun(w http.ResponseWriter, r *http.Request) *run {
	s.mu.Lock()
	rn := s.runs[r.URL.Query().Get("id")]
	s.mu.Unlock()
	if rn == nil {
		http.Error(w, "no such check", http.StatusNotFound)
	}
	return rn
}

// events streams a check's progress as server-sent events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rn := s.lookupRun(w, r)
	if rn == nil {
		return
	}
	s.mu.Lock()
	full := s.streams >= MaxStreams || rn.streams >= MaxStreamsPerRun
	if !full {
		s.streams++
		rn.streams++
	}
	s.mu.Unlock()
	if full {
		tooMany(w, langOf(r).T("error.too_many", "What", langOf(r).T("error.streams_open")))
		return
	}
	defer func() { s.mu.Lock(); s.streams--; rn.streams--; s.mu.Unlock() }()
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	sent := 0
	for {
		rn.mu.Lock()
		evs, wake := rn.events[sent:], rn.wake
		rn.mu.Unlock()
		for _, e := range evs {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
			sent++
			if e.name == "end" {
				if fl != nil {
					fl.Flush()
				}
				return
			}
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}

// tooMany refuses a request over one of the bounds, with 429.
func tooMany(w http.ResponseWriter, what string) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, what, http.StatusTooManyRequests)
}

// reportFile serves the finished check's report in the renderers' formats.
func (s *Server) reportFile(w http.ResponseWriter, r *http.Request) {
	rn := s.lookupRun(w, r)
	if rn == nil {
		return
	}
	rn.mu.Lock()
	rep, view := rn.rep, rn.view
	rn.mu.Unlock()
	if rep == nil {
		http.Error(w, "the check has not finished", http.StatusConflict)
		return
	}
	format := r.URL.Query().Get("format")
	name := "streamdoctor-report." + map[string]string{"html": "html", "md": "md", "json": "json"}[format]
	var err error
	switch format {
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		err = report.HTML(w, s.cfg.KB, view)
	case "md":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		err = report.Markdown(w, s.cfg.KB, view)
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		err = report.JSON(w, rep)
	default:
		http.Error(w, "format must be html, md or json", http.StatusBadRequest)
		return
	}
	if err != nil {
		s.cfg.Log.Printf("report: %v", err)
	}
}
