package speed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Backend measures a line through one kind of server.
type Backend interface {
	Name() string
	Measure(ctx context.Context, o Options) (Result, error)
}

// errUnusable marks a backend that could not even start (no servers handed
// out, nothing reachable), as opposed to a measurement that failed.
type errUnusable struct{ err error }

func (e errUnusable) Error() string { return e.err.Error() }
func (e errUnusable) Unwrap() error { return e.err }

// measureTargets finds a range backend's targets, then measures them.
func measureTargets(ctx context.Context, targets func(context.Context) ([]Target, error), o Options) (Result, error) {
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ts, err := targets(tctx)
	cancel()
	if err != nil {
		return Result{LossPct: -1}, errUnusable{err}
	}
	return Measure(ctx, ts, o)
}

// Server is a self-hosted `streamdoctor speed serve` (or any server that
// follows the range convention), given by its base URL.
type Server struct{ URL string }

// Name implements Backend.
func (s Server) Name() string { return "server" }

// Measure implements Backend.
func (s Server) Measure(ctx context.Context, o Options) (Result, error) {
	return measureTargets(ctx, s.Targets, o)
}

// Targets returns the server as the one target.
func (s Server) Targets(context.Context) ([]Target, error) {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: give one such as http://host:8080/speedtest", s.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/speedtest"
	}
	return []Target{{Name: u.Host, URL: u.String()}}, nil
}

// Fast is Netflix's fast.com: the page's script carries an API token, and
// the API hands out Open Connect appliances — the servers that deliver
// Netflix's video — as URLs that serve byte ranges.
type Fast struct {
	Client *http.Client
	Home   string // default https://fast.com/
	API    string // default https://api.fast.com/netflix/speedtest/v2
	Count  int    // targets to ask for (default 5)
}

// Name implements Backend.
func (f Fast) Name() string { return "fast.com" }

var (
	fastScript = regexp.MustCompile(`<script src="(/app-[A-Za-z0-9._-]+\.js)"`)
	fastToken  = regexp.MustCompile(`token:"([A-Za-z0-9]+)"`)
)

func get(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "StreamDoctor")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", hostOf(u), resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// Measure implements Backend.
func (f Fast) Measure(ctx context.Context, o Options) (Result, error) {
	return measureTargets(ctx, f.Targets, o)
}

// Targets asks fast.com for Open Connect targets.
func (f Fast) Targets(ctx context.Context) ([]Target, error) {
	c := f.Client
	if c == nil {
		c = &http.Client{}
	}
	home, api, n := f.Home, f.API, f.Count
	if home == "" {
		home = "https://fast.com/"
	}
	if api == "" {
		api = "https://api.fast.com/netflix/speedtest/v2"
	}
	if n <= 0 {
		n = 5
	}
	page, err := get(ctx, c, home, 1<<20)
	if err != nil {
		return nil, err
	}
	m := fastScript.FindSubmatch(page)
	if m == nil {
		return nil, errors.New("fast.com's page has no app script (its layout changed)")
	}
	hu, _ := url.Parse(home)
	su, _ := hu.Parse(string(m[1]))
	script, err := get(ctx, c, su.String(), 8<<20)
	if err != nil {
		return nil, err
	}
	tm := fastToken.FindSubmatch(script)
	if tm == nil {
		return nil, errors.New("fast.com's script has no API token (its layout changed)")
	}
	q := url.Values{"https": {"true"}, "token": {string(tm[1])}, "urlCount": {fmt.Sprint(n)}}
	body, err := get(ctx, c, api+"?"+q.Encode(), 1<<20)
	if err != nil {
		return nil, err
	}
	return ParseFastTargets(body)
}

// ParseFastTargets reads the fast.com API's answer.
func ParseFastTargets(body []byte) ([]Target, error) {
	var doc struct {
		Targets []struct {
			Name     string `json:"name"`
			URL      string `json:"url"`
			Location struct {
				City    string `json:"city"`
				Country string `json:"country"`
			} `json:"location"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("fast.com's API answered something else than JSON: %w", err)
	}
	var out []Target
	for _, t := range doc.Targets {
		if _, err := RangeURL(t.URL, 1); err != nil {
			continue
		}
		name := hostOf(t.URL)
		if t.Location.City != "" {
			name += " (" + strings.TrimSpace(t.Location.City+", "+t.Location.Country) + ")"
		}
		out = append(out, Target{Name: name, URL: t.URL})
	}
	if len(out) == 0 {
		return nil, ErrNoTargets
	}
	return out, nil
}

// Run tries each backend in turn: one that cannot be used, or whose
// measurement fails, is reported in one line (in notes) and the next is tried.
func Run(ctx context.Context, backends []Backend, o Options) (Result, []string, error) {
	var notes []string
	var measureErr error
	for _, b := range backends {
		res, err := b.Measure(ctx, o)
		res.Backend = b.Name()
		if err != nil {
			var u errUnusable
			if errors.As(err, &u) {
				notes = append(notes, fmt.Sprintf("%s could not be used: %s", b.Name(), oneLine(u.err)))
			} else {
				notes = append(notes, fmt.Sprintf("%s: %s", b.Name(), oneLine(err)))
				measureErr = err
			}
			continue
		}
		return res, notes, nil
	}
	if measureErr != nil {
		return Result{LossPct: -1}, notes, &MeasureError{Err: measureErr}
	}
	return Result{LossPct: -1}, notes, errors.New("no speed-test server could be reached")
}

// MeasureError says servers were handed out but the transfer from them
// failed: the video servers themselves could not be used.
type MeasureError struct{ Err error }

func (e *MeasureError) Error() string { return "the speed-test servers failed: " + e.Err.Error() }
func (e *MeasureError) Unwrap() error { return e.Err }

func oneLine(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s did not answer (%w)", hostOf(ue.URL), ue.Err)
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
