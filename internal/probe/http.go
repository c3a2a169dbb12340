package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// httpClient makes a client that resolves through the system resolver (as the
// browser does), verifies with the system roots at the local clock, and uses
// proxyURL when it is not nil.
func (s *state) httpClient(proxyURL *url.URL, follow bool) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			p, _ := strconv.Atoi(port)
			c, _, err := s.dialHost(ctx, "tcp4", host, p, false)
			return c, err
		},
		TLSClientConfig:     &tls.Config{RootCAs: s.env.SystemRoots, Time: s.env.now},
		ForceAttemptHTTP2:   true,
		DisableCompression:  false,
		MaxIdleConnsPerHost: 1,
	}
	if proxyURL != nil {
		tr.Proxy = http.ProxyURL(proxyURL)
		tr.OnProxyConnectResponse = func(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
			if resp.StatusCode != http.StatusOK {
				return &ProxyStatusError{Code: resp.StatusCode}
			}
			return nil
		}
	}
	cl := &http.Client{Transport: tr}
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) >= 3 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return cl
}

// probeClient is httpClient (direct, as the browser goes) for the probes
// that judge a site: its TLS handshakes get the same silence budget as a
// connect (see state.handshake), verified as the browser does — or, for
// the clock probe (insecure), not at all: a wrong clock is exactly what
// makes certificates fail.
func (s *state) probeClient(follow, insecure bool) *http.Client {
	cl := s.httpClient(nil, follow)
	tr := cl.Transport.(*http.Transport)
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		raw, err := tr.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := s.tlsConfig(host, s.env.SystemRoots)
		cfg.InsecureSkipVerify = insecure
		c, err := s.handshake(ctx, raw, cfg)
		if err != nil {
			raw.Close()
			return nil, err
		}
		return c, nil
	}
	return cl
}

// fetch GETs u and returns status, the start of the body, the Date header and
// the time to the response headers.
func fetch(ctx context.Context, cl *http.Client, u string) (*http.Response, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (StreamDoctor) like Chrome")
	start := time.Now()
	resp, err := cl.Do(req)
	ttfb := time.Since(start)
	if err != nil {
		return nil, nil, ttfb, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	return resp, body, ttfb, nil
}

// ClassifyPage says whether an HTTP answer is a block page: the service's own
// "proxy or unblocker" page (any of markers, case-insensitive), or a
// filter's page (HTTP 451, or 403 with blocking words). It returns "" for an
// ordinary answer.
func ClassifyPage(status int, body []byte, markers []string) string {
	low := strings.ToLower(string(body))
	for _, m := range markers {
		if m != "" && strings.Contains(low, strings.ToLower(m)) {
			return catalog.FBlockProxy
		}
	}
	if status == http.StatusUnavailableForLegalReasons {
		return catalog.FBlockFilter
	}
	if status == http.StatusForbidden {
		for _, w := range []string{"has been blocked", "access denied", "is blocked", "site blocked", "web filter", "content filter", "blocked by"} {
			if strings.Contains(low, w) {
				return catalog.FBlockFilter
			}
		}
	}
	return ""
}

// blockAnswer: the status is the service's refusal from this host.
func blockAnswer(p profile.Profile, resp *http.Response) bool {
	if resp.Request == nil || resp.Request.URL == nil {
		return false
	}
	for _, b := range p.BlockAnswers {
		if strings.EqualFold(resp.Request.URL.Hostname(), b.Host) && resp.StatusCode == b.Status {
			return true
		}
	}
	return false
}

func (s *state) judgeHTTP(o *Observation, resp *http.Response, body []byte, ttfb time.Duration) {
	judgeHTTP(s.prof, o, resp, body, ttfb)
}

// judgeHTTP judges an answer of one of prof's hosts.
func judgeHTTP(prof profile.Profile, o *Observation, resp *http.Response, body []byte, ttfb time.Duration) {
	o.Value = ms(ttfb)
	o.Detail = fmt.Sprintf("HTTP %d in %.0f ms", resp.StatusCode, o.Value)
	switch {
	case ClassifyPage(resp.StatusCode, body, prof.BlockMarkers) != "":
		o.Status, o.Failure = Problem, ClassifyPage(resp.StatusCode, body, prof.BlockMarkers)
		o.Detail += ": a block page"
	case blockAnswer(prof, resp):
		o.Status, o.Failure = Problem, catalog.FBlockProxy
		o.Detail += ": the service's refusal of this address"
	case resp.StatusCode == http.StatusServiceUnavailable:
		o.Status, o.Failure = Problem, catalog.FHTTP503
	case resp.StatusCode >= 500:
		o.Status, o.Failure = Problem, catalog.FHTTP5xx
	case ttfb > catalog.SlowTTFB:
		o.Status, o.Failure = Problem, catalog.FSlow
	default:
		// Any other answer, 4xx included, proves the front end is up.
		o.Status = OK
	}
}

func probeHTTPSService(ctx context.Context, s *state) []Observation {
	cl := s.probeClient(true, false)
	defer cl.CloseIdleConnections()
	return parallel(ctx, s.prof.Hosts, func(h profile.Host) Observation {
		u := h.URL()
		o := Observation{Probe: catalog.PHTTPSService, Target: u}
		resp, body, ttfb, err := fetch(ctx, cl, u)
		if err != nil {
			o.Status, o.Failure, o.Value = Problem, Classify(err), ms(ttfb)
			o.Detail = err.Error()
			return o
		}
		s.judgeHTTP(&o, resp, body, ttfb)
		return o
	})
}

// pacProxy finds the first "PROXY host:port" a PAC script names. The script
// is not evaluated: the first proxy directive is what most scripts return for
// sites outside the company network.
func pacProxy(script string) string {
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "PROXY ")
		if i < 0 {
			continue
		}
		f := strings.FieldsFunc(line[i+6:], func(r rune) bool { return r == ';' || r == '"' || r == '\'' || r == ' ' })
		if len(f) > 0 {
			return "http://" + f[0]
		}
	}
	return ""
}

func probeHTTPSProxy(ctx context.Context, s *state) []Observation {
	p := s.facts.Proxy
	if p.Mode != "manual" && p.Mode != "pac" {
		return notRun(catalog.PHTTPSProxy, "no proxy configured")
	}
	proxy := p.URL
	if p.Mode == "pac" {
		resp, body, _, err := fetch(ctx, s.httpClient(nil, true), p.URL)
		if err != nil {
			return []Observation{{Target: p.URL, Status: Problem, Failure: Classify(err), Detail: "could not fetch the proxy script: " + err.Error()}}
		}
		if proxy = pacProxy(string(body)); proxy == "" || resp.StatusCode != http.StatusOK {
			return notRun(catalog.PHTTPSProxy, "the proxy script sends traffic direct")
		}
	}
	pu, err := url.Parse(proxy)
	if err != nil || pu.Host == "" {
		return []Observation{{Target: proxy, Status: Problem, Failure: catalog.FUnknown, Detail: "proxy address is not valid"}}
	}
	cl := s.httpClient(pu, true)
	defer cl.CloseIdleConnections()
	h := s.prof.Hosts[0]
	u := h.URL()
	o := Observation{Target: u + " via " + pu.Host}
	resp, body, ttfb, err := fetch(ctx, cl, u)
	if err != nil {
		o.Status, o.Failure, o.Value = Problem, Classify(err), ms(ttfb)
		o.Detail = "through the proxy: " + err.Error()
		return []Observation{o}
	}
	s.judgeHTTP(&o, resp, body, ttfb)
	o.Detail = "through the proxy: " + o.Detail
	return []Observation{o}
}

func probeControls(ctx context.Context, s *state) []Observation {
	cl := s.probeClient(true, false)
	defer cl.CloseIdleConnections()
	return parallel(ctx, s.prof.Controls, func(u string) Observation {
		o := Observation{Probe: catalog.PHTTPSControl, Target: u}
		resp, _, ttfb, err := fetch(ctx, cl, u)
		o.Value = ms(ttfb)
		if err != nil {
			o.Status, o.Failure, o.Detail = Problem, Classify(err), err.Error()
			return o
		}
		o.Status, o.Detail = OK, fmt.Sprintf("HTTP %d in %.0f ms", resp.StatusCode, o.Value)
		if resp.StatusCode >= 500 {
			o.Status, o.Failure = Problem, catalog.FHTTP5xx
		}
		return o
	})
}

// probePeers opens the front door of every other built-in streaming
// service, judged as its own service would judge it (its refusal markers).
func probePeers(ctx context.Context, s *state) []Observation {
	cl := s.probeClient(true, false)
	defer cl.CloseIdleConnections()
	return parallel(ctx, profile.Peers(s.prof.Name), func(p profile.Profile) Observation {
		h := p.Hosts[0]
		o := Observation{Probe: catalog.PHTTPSPeers, Target: h.URL()}
		resp, body, ttfb, err := fetch(ctx, cl, h.URL())
		if err != nil {
			o.Status, o.Failure, o.Value = Problem, Classify(err), ms(ttfb)
			o.Detail = p.Title + ": " + err.Error()
			return o
		}
		judgeHTTP(p, &o, resp, body, ttfb)
		if o.Failure == catalog.FSlow {
			// A slow page still opened: the service is reachable.
			o.Status, o.Failure = OK, ""
		}
		o.Detail = p.Title + ": " + o.Detail
		return o
	})
}

func probePortal(ctx context.Context, s *state) []Observation {
	cl := s.httpClient(nil, false)
	defer cl.CloseIdleConnections()
	u := s.prof.PortalURL
	o := Observation{Target: u}
	resp, body, ttfb, err := fetch(ctx, cl, u)
	o.Value = ms(ttfb)
	switch {
	case err != nil:
		o.Status, o.Failure, o.Detail = Problem, Classify(err), err.Error()
	case resp.StatusCode == http.StatusNoContent:
		o.Status, o.Detail = OK, "no captive portal (HTTP 204 as expected)"
	case ClassifyPage(resp.StatusCode, body, nil) == catalog.FBlockFilter:
		// A filter's page injected into plain HTTP, not a sign-in page.
		o.Status, o.Failure = Problem, catalog.FBlockFilter
		o.Detail = fmt.Sprintf("expected HTTP 204, got a filter's block page (HTTP %d)", resp.StatusCode)
	default:
		o.Status, o.Failure = Problem, catalog.FPortal
		o.Detail = fmt.Sprintf("expected HTTP 204, got %d", resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" {
			o.Detail += " redirecting to " + loc
		} else if len(body) > 0 {
			o.Detail += " with a page"
		}
	}
	return []Observation{o}
}
