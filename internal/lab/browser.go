package lab

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// The viewer's browser, as the web page's browser-side check meets it: the
// same requests the page makes (probe.BrowserURLs and the video server),
// sent from this world's network with what a browser adds to the path:
// it follows the system proxy (system.proxy), and system.browser_requests
// adds an add-on that cancels the service's requests before they leave, as
// content blockers do (Chrome's net::ERR_BLOCKED_BY_CLIENT), or a proxy of
// the browser's own where nothing listens. The page's script in a real
// browser is tested against lab worlds by internal/web's browser tests.

// errBlockedByClient is what the page sees when an add-on cancels a request.
var errBlockedByClient = errors.New("net::ERR_BLOCKED_BY_CLIENT")

// blocker is an add-on's request filter: the service's hosts never leave.
type blocker struct {
	hosts map[string]bool
	next  http.RoundTripper
}

func (b blocker) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.hosts[r.URL.Hostname()] {
		return nil, errBlockedByClient
	}
	return b.next.RoundTrip(r)
}

// Browser returns the scenario's browser for check.Request.Browser (nil
// with browser_requests: none, as in a terminal). Like the page, which sends
// its requests as it loads, it starts them at once; the video server's
// request follows once the probes have named it.
func (w *World) Browser() func(context.Context, []probe.Observation) []probe.Observation {
	mode := w.Scenario.System.BrowserRequests
	if mode == "" || mode == "none" {
		return nil
	}
	urls := probe.BrowserURLs(w.Profile)
	cl := w.browserClient(mode, append(urls, probe.VideoURL(ocaHost)))
	results := make(chan probe.BrowserResult, len(urls)+1)
	for _, u := range urls {
		go func() { results <- browserFetch(context.Background(), cl, u) }()
	}
	return func(ctx context.Context, seen []probe.Observation) []probe.Observation {
		want := len(urls)
		for _, o := range seen {
			if o.Probe == catalog.PThroughput && o.Target != "" {
				if u := probe.VideoURL(o.Target); u != "" {
					want++
					go func() { results <- browserFetch(ctx, cl, u) }()
				}
				break
			}
		}
		defer cl.CloseIdleConnections()
		// Requests still out when the check ends are left out, as the page's are.
		return probe.CollectBrowser(ctx, results, want)
	}
}

// browserClient reaches the world as the probes do (the system's resolver
// and trust store, the device's clock), plus what the browser adds.
func (w *World) browserClient(mode string, urls []string) *http.Client {
	cl := probe.HTTPClient(context.Background(), w.Env())
	tr := cl.Transport.(*http.Transport)
	switch {
	case mode == "own_proxy_dead":
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: net.JoinHostPort(addrSinkhole, proxyPort)})
	case w.Scenario.System.Proxy != "none":
		// Browsers follow the system's proxy (a PAC script's too).
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: net.JoinHostPort(addrProxy, proxyPort)})
	}
	if mode == "extension_blocks" {
		hosts := map[string]bool{}
		for _, u := range urls {
			hosts[profile.HostOf(u)] = true
		}
		cl.Transport = blocker{hosts: hosts, next: tr}
	}
	return cl
}

// browserFetch is one of the page's requests: an answer of any status is
// success (a no-cors request cannot read it), anything else a failure.
func browserFetch(ctx context.Context, cl *http.Client, u string) probe.BrowserResult {
	ctx, cancel := context.WithTimeout(ctx, probe.BrowserTimeout)
	defer cancel()
	start := time.Now()
	r := probe.BrowserResult{URL: u}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = cl.Do(req); err == nil {
			resp.Body.Close()
			r.OK = true
		}
	}
	r.MS = float64(time.Since(start).Microseconds()) / 1000
	if !r.OK {
		r.Error = "network"
		if ctx.Err() != nil {
			r.Error = "timeout"
		}
	}
	return r
}

// BrowserRules leads a real browser into this world: a Chromium
// --host-resolver-rules value that maps each host the page times (the
// service's and the video server) to the loopback server the world routes
// it to, and a host the world does not route (silenced, refused) to a name
// that does not resolve, so the browser fails fast where the world fails.
// Start the browser with --ignore-certificate-errors too: the world's
// authority is not in its store. The line's delay and loss are not applied
// to the browser's requests.
func (w *World) BrowserRules() string {
	var rules []string
	for _, u := range append(probe.BrowserURLs(w.Profile), probe.VideoURL(ocaHost)) {
		h := profile.HostOf(u)
		to := "~NOTFOUND"
		if ip, ok := w.zone4[h]; ok {
			if r, ok := w.net.Rule(ip, "443", "tcp"); ok && r.Action == netmap.Route {
				to = r.To
			}
		}
		rules = append(rules, "MAP "+h+" "+to)
	}
	return strings.Join(rules, ", ")
}
