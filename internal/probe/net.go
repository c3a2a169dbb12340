package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/speed"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func probeGateway(ctx context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactRoute); ok {
		return notRun(catalog.PGateway, why)
	}
	r := s.facts.DefaultRoute
	if r == nil {
		return []Observation{{Status: Problem, Failure: catalog.FNoRoute, Detail: "no default route, so no gateway to reach"}}
	}
	if r.Gateway == "" {
		return notRun(catalog.PGateway, "the default route ("+r.Interface+") has no gateway address")
	}
	// A TCP connect needs no privilege; an answer of any kind, even
	// "refused", proves the router is there.
	type res struct {
		port int
		err  error
		d    time.Duration
	}
	ports := []int{53, 80, 443}
	ch := make(chan res, len(ports))
	for _, p := range ports {
		goSafe(ctx, func() {
			start := time.Now()
			c, err := s.env.Dialer.DialContext(ctx, "tcp", net.JoinHostPort(r.Gateway, strconv.Itoa(p)))
			if c != nil {
				c.Close()
			}
			ch <- res{p, err, time.Since(start)}
		})
	}
	var last error
	for range ports {
		x := <-ch
		if x.err == nil || Classify(x.err) == catalog.FRefused {
			// Two more connects to the port that answered; the shortest is
			// the router's round trip (a pause of this process lengthens
			// single connects, not all three).
			best := x.d
			for range 2 {
				cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				d, err := dialRTT(cctx, s.env.Dialer.DialContext, net.JoinHostPort(r.Gateway, strconv.Itoa(x.port)))
				cancel()
				if (err == nil || Classify(err) == catalog.FRefused) && d < best {
					best = d
				}
			}
			return []Observation{{Target: r.Gateway, Status: OK, Value: ms(best),
				Detail: fmt.Sprintf("router answered on port %d in %.0f ms", x.port, ms(best))}}
		}
		last = x.err
	}
	return []Observation{{Target: r.Gateway, Status: Problem, Failure: Classify(last), Detail: "router did not answer: " + last.Error()}}
}

func probeDNS(name, via string) probeFunc {
	return func(ctx context.Context, s *state) []Observation {
		return parallel(ctx, s.serviceHosts(), func(h string) Observation {
			a, err := s.lookup(ctx, via, h, dns.TypeA)
			o := Observation{Probe: name, Target: h, Value: ms(a.RTT), Retries: a.Resent}
			if err != nil {
				o.Status, o.Failure = Problem, Classify(err)
				o.Detail = fmt.Sprintf("no address for %s: %s", h, o.Failure)
				return o
			}
			o.Status = OK
			o.Detail = fmt.Sprintf("%s in %.0f ms", joinAddrs(a.IPs), ms(a.RTT))
			for _, ip := range a.IPs {
				o.Addrs = append(o.Addrs, ip.String())
			}
			if c := ClassifyAnswer(a.IPs); c != "" {
				o.Status, o.Failure = Problem, c
				o.Detail = fmt.Sprintf("answered with addresses no public site uses (%s)", joinAddrs(a.IPs))
			}
			return o
		})
	}
}

func probeHijack(ctx context.Context, s *state) []Observation {
	name := s.env.randomLabel() + ".com"
	a, err := s.lookup(ctx, "system", name, dns.TypeA)
	o := Observation{Target: name, Value: ms(a.RTT)}
	switch {
	case err == nil && len(a.IPs) > 0:
		o.Status, o.Failure = Problem, catalog.FNXHijack
		o.Detail = "a name that does not exist resolved to " + joinAddrs(a.IPs)
	case Classify(err) == catalog.FNXDomain || Classify(err) == catalog.FNoAnswer:
		o.Status, o.Detail = OK, "a name that does not exist is reported as missing"
	default:
		o.Status, o.Detail = NotRun, "resolver did not answer: "+Classify(err)
	}
	return []Observation{o}
}

func probeTCP(name, family string) probeFunc {
	return func(ctx context.Context, s *state) []Observation {
		if family == "tcp6" && s.facts.DefaultRoute6 == nil {
			return notRun(name, "no IPv6 route")
		}
		return parallel(ctx, s.prof.Hosts, func(host profile.Host) Observation {
			h, port := host.Name, host.ServicePort()
			o := Observation{Probe: name, Target: net.JoinHostPort(h, strconv.Itoa(port))}
			// The name first (shared, cached), so the time is the connect's.
			_, _, _ = s.addrsFor(ctx, h, family, true)
			start := time.Now()
			c, via, err := s.dialHost(ctx, family, h, port, true)
			o.Value = ms(time.Since(start))
			if err != nil {
				var re *ResolveError
				if errors.As(err, &re) {
					// Charged to the resolver: no connect was tried.
					o.Status, o.Failure = NotRun, Classify(err)
					o.Detail = "no address from any resolver (" + o.Failure + ")"
					return o
				}
				o.Status, o.Failure = Problem, Classify(err)
				o.Detail = err.Error()
				return o
			}
			defer c.Close()
			o.Status = OK
			o.Detail = fmt.Sprintf("connected to %s in %.0f ms (address from %s DNS)", c.RemoteAddr(), o.Value, via)
			return o
		})
	}
}

func (s *state) tlsConfig(host string, roots *x509.CertPool) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: roots, Time: s.env.now, NextProtos: []string{"h2", "http/1.1"}}
}

func probeTLS(ctx context.Context, s *state) []Observation {
	return parallel(ctx, s.prof.Hosts, func(host profile.Host) Observation {
		h := host.Name
		o := Observation{Probe: catalog.PTLSService, Target: h}
		if !host.Secure() {
			o.Status, o.Detail = NotRun, "plain HTTP: no certificate to check"
			return o
		}
		_, _, _ = s.addrsFor(ctx, h, "tcp4", true) // timed from the connect, as tcp.service is
		start := time.Now()
		raw, _, err := s.dialHost(ctx, "tcp4", h, host.ServicePort(), true)
		if err != nil {
			o.Status, o.Detail = NotRun, "could not connect: "+Classify(err)
			return o
		}
		defer raw.Close()
		cfg := s.tlsConfig(h, nil)
		cfg.InsecureSkipVerify = true // verified below against both root sets
		c := tls.Client(raw, cfg)
		if err := c.HandshakeContext(ctx); err != nil {
			o.Status, o.Failure = Problem, Classify(err)
			o.Detail = "TLS handshake failed: " + err.Error()
			return o
		}
		o.Value = ms(time.Since(start))
		certs := c.ConnectionState().PeerCertificates
		sysErr := verifyChain(certs, h, s.env.SystemRoots, s.env.now())
		pubErr := verifyChain(certs, h, s.env.publicRoots(), s.env.now())
		issuer := ""
		if len(certs) > 0 {
			issuer = certs[0].Issuer.String()
		}
		switch {
		case sysErr == nil && pubErr == nil:
			o.Status, o.Detail = OK, "certificate valid, issued by "+issuer
		case sysErr == nil:
			o.Status, o.Failure = Problem, catalog.FIntercepted
			o.Detail = "certificate trusted only by a locally installed authority: " + issuer
		default:
			o.Status, o.Failure = Problem, Classify(sysErr)
			o.Detail = sysErr.Error()
		}
		return o
	})
}

func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now})
	return err
}

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

func (s *state) judgeHTTP(o *Observation, resp *http.Response, body []byte, ttfb time.Duration) {
	o.Value = ms(ttfb)
	o.Detail = fmt.Sprintf("HTTP %d in %.0f ms", resp.StatusCode, o.Value)
	switch {
	case ClassifyPage(resp.StatusCode, body, s.prof.BlockMarkers) != "":
		o.Status, o.Failure = Problem, ClassifyPage(resp.StatusCode, body, s.prof.BlockMarkers)
		o.Detail += ": a block page"
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
	cl := s.httpClient(nil, true)
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
	cl := s.httpClient(nil, true)
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

// probeClock compares the local clock with the Date headers of the control
// sites and the service. Certificates are not checked here: a wrong clock is
// exactly what makes them fail.
func probeClock(ctx context.Context, s *state) []Observation {
	cl := s.httpClient(nil, false)
	cl.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	defer cl.CloseIdleConnections()
	urls := append(append([]string{}, s.prof.Controls...), s.prof.Hosts[0].Origin()+"/")
	ch := make(chan *float64, len(urls))
	for _, u := range urls {
		goSafe(ctx, func() {
			resp, _, ttfb, err := fetch(ctx, cl, u)
			if err != nil {
				ch <- nil
				return
			}
			d, err := http.ParseTime(resp.Header.Get("Date"))
			if err != nil {
				ch <- nil
				return
			}
			// The server stamped its Date about half the round trip ago.
			off := s.env.now().Add(-ttfb / 2).Sub(d).Seconds()
			ch <- &off
		})
	}
	var offs []float64
	for range urls {
		if r := <-ch; r != nil {
			offs = append(offs, *r)
		}
	}
	if len(offs) == 0 {
		return notRun(catalog.PClock, "no server answered with a date")
	}
	off := speed.Median(offs)
	o := Observation{Target: "local clock", Value: math.Round(off*10) / 10, Status: OK,
		Detail: fmt.Sprintf("%+.0f s from %d server clocks", off, len(offs))}
	if math.Abs(off) > catalog.ClockSkewLimit {
		o.Status, o.Failure = Problem, catalog.FClockSkew
		o.Detail = fmt.Sprintf("local clock is %s %s the servers'", humanSeconds(math.Abs(off)), map[bool]string{true: "ahead of", false: "behind"}[off > 0])
	}
	return []Observation{o}
}

func humanSeconds(s float64) string {
	switch {
	case s >= 86400:
		return fmt.Sprintf("%.1f days", s/86400)
	case s >= 3600:
		return fmt.Sprintf("%.1f hours", s/3600)
	case s >= 60:
		return fmt.Sprintf("%.0f minutes", s/60)
	}
	return fmt.Sprintf("%.0f seconds", s)
}

// probeLatency makes repeated TCP connects: the connect time is one round
// trip (the kernel's own measurement where the OS gives it, so a busy
// machine does not inflate it). A connect that fails, or that takes at least
// one SYN retransmission (one second) longer than the path's round trip,
// counts as lost; so a 1-second satellite path is slow, not lossy. Jitter
// is the median difference between consecutive round trips (RFC 3550's
// difference, with a median instead of a mean so that one stall of this
// process does not read as a jittery line). It measures to the service; if
// the service refuses or drops every connect, it measures the line to the
// first control site instead, so that line quality is known either way.
func probeLatency(ctx context.Context, s *state) []Observation {
	defer s.latencySampled()
	hosts, ports := []string{s.prof.Hosts[0].Name}, []int{s.prof.Hosts[0].ServicePort()}
	if len(s.prof.Controls) > 0 {
		hosts, ports = append(hosts, profile.HostOf(s.prof.Controls[0])), append(ports, 443)
	}
	// Resolve and connect to every candidate at once, twice in parallel, so
	// that a dead service costs one connect timeout, not one per candidate,
	// and one lost SYN does not set the path's round trip.
	type cand struct {
		addr string
		rtt  float64
		ok   bool
		err  error
	}
	cands := make([]cand, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			ips, _, err := s.addrsFor(ctx, h, "tcp4", true)
			if err != nil || len(ips) == 0 {
				cands[i].err = err
				return
			}
			cands[i].addr = net.JoinHostPort(ips[0].String(), strconv.Itoa(ports[i]))
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			type res struct {
				d   time.Duration
				err error
			}
			ch := make(chan res, 2)
			for range 2 {
				goSafe(ctx, func() {
					d, err := s.connectRTT(cctx, cands[i].addr)
					ch <- res{d, err}
				})
			}
			// The first to connect sets the round trip; the other (a lost
			// SYN, most likely) is not waited for.
			for range 2 {
				r := <-ch
				if r.err != nil {
					cands[i].err = r.err
					continue
				}
				cands[i].rtt, cands[i].ok = ms(r.d), true
				break
			}
		})
	}
	wg.Wait()
	for i, c := range cands {
		if !c.ok {
			continue
		}
		note := ""
		if i > 0 {
			note = fmt.Sprintf(" to %s (the service did not accept connections)", hosts[i])
		}
		rtts, lost, tried := sampleConnects(ctx, s, c.addr, c.rtt)
		return latencyObservations(c.addr, rtts, lost, tried, note)
	}
	o := Observation{Probe: catalog.PLatency, Target: hosts[0], Status: Problem, Failure: catalog.FTimeout, Detail: "no connection succeeded"}
	if cands[0].addr != "" {
		o.Target = cands[0].addr
	}
	if cands[0].err != nil {
		o.Failure = Classify(cands[0].err)
	}
	return []Observation{o,
		{Probe: catalog.PJitter, Target: o.Target, Status: NotRun, Detail: "no round trip measured"},
		{Probe: catalog.PLoss, Target: o.Target, Status: NotRun, Detail: "no connection succeeded, so loss cannot be told from an outage"}}
}

// connectRTT connects once within the connect budget and returns the
// round trip: the kernel's figure for a real socket (or the connection's
// own, where it knows it), else the time the connect took. It teaches the
// budget the path's round trip.
func (s *state) connectRTT(ctx context.Context, addr string) (time.Duration, error) {
	d, err := dialRTT(ctx, s.dialBudget, addr)
	if err == nil {
		s.path.saw(d)
	}
	return d, err
}

// dialRTT connects once with dial and returns the round trip.
func dialRTT(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr string) (time.Duration, error) {
	start := time.Now()
	c, err := dial(ctx, "tcp4", addr)
	wall := time.Since(start)
	if err != nil {
		return wall, err
	}
	defer c.Close()
	return handshakeRTT(c, wall), nil
}

// connectSample is one connect of the latency probe.
type connectSample struct {
	at     time.Time
	rtt    float64
	failed bool
}

func (c connectSample) lostAt(ms float64) bool { return c.failed || c.rtt > ms }

// sampleConnects connects to addr from a few workers at once until it has
// its samples or the probe's deadline is near. A connect is lost when it
// fails, or when it takes longer than the path's shortest round trip (over
// all samples, the first included) plus most of a SYN retransmission
// timeout: then it completed only thanks to a resent SYN. A connect cut
// short by the probe's own deadline before that point is no evidence either
// way and is dropped; so connects start only while a loss could still be
// told apart before the deadline (dropping late failures but keeping late
// successes would hide loss).
func sampleConnects(ctx context.Context, s *state, addr string, firstRTT float64) (rtts []float64, lost, tried int) {
	// Ten at a time, 10 ms apart: forty connects in four round trips or so.
	const samples, workers, gap = 39, 10, 10 * time.Millisecond
	retransmit := float64(catalog.LostAfter.Milliseconds()) * 0.9
	type res = connectSample
	var mu sync.Mutex
	out := []res{{rtt: firstRTT}}
	// Until a sample says otherwise, a first connect of over a second is
	// taken to have needed one resent SYN, so that sampling still starts.
	minRTT := firstRTT
	if firstRTT >= float64(catalog.LostAfter.Milliseconds()) {
		minRTT = firstRTT - float64(catalog.LostAfter.Milliseconds())
	}
	next := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				floor := minRTT
				if next >= samples || (lossSettled(out, samples+1, minRTT+retransmit) && latencySettled(out, samples+1, minRTT+retransmit)) {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				dl, _ := ctx.Deadline()
				if time.Until(dl) < time.Duration((floor+retransmit+50)*float64(time.Millisecond)) {
					return
				}
				at := time.Now()
				d, err := s.connectRTT(ctx, addr)
				r := res{at: at, rtt: ms(d), failed: err != nil}
				if err != nil && ctx.Err() != nil && r.rtt <= floor+retransmit {
					return // cut short by the probe's deadline: no evidence
				}
				mu.Lock()
				out = append(out, r)
				if !r.failed && r.rtt < minRTT {
					minRTT = r.rtt
				}
				mu.Unlock()
				time.Sleep(gap)
			}
		})
	}
	wg.Wait()
	slices.SortFunc(out[1:], func(a, b res) int { return a.at.Compare(b.at) })
	floor := math.Inf(1)
	for _, r := range out {
		if !r.failed {
			floor = math.Min(floor, r.rtt)
		}
	}
	for _, r := range out {
		tried++
		if r.failed || r.rtt > floor+retransmit {
			lost++
		} else {
			rtts = append(rtts, r.rtt)
		}
	}
	return rtts, lost, tried
}

// lossSettled: the connects lost so far already put the loss in the top
// band (catalog.LossPct) whatever the rest of the planned total do, so more samples
// cannot change the evidence (a loss-free or lightly lossy line is sampled
// in full: one more loss could move it). lostAfterMS is the slowest a
// connect may take and not count as lost.
func lossSettled(out []connectSample, total int, lostAfterMS float64) bool {
	lost := 0
	for _, r := range out {
		if r.lostAt(lostAfterMS) {
			lost++
		}
	}
	return 100*float64(lost)/float64(total) >= catalog.LossPct
}

// latencySettled: the median round trip of the connects that were not lost
// stays in its band (catalog.LatencyBands) however
// the rest of the planned total fare: more than half of the most there can
// be already lie in one band. Jitter, the median swing between
// consecutive connects, can move with any further sample, so it is not
// waited for once loss and latency are settled.
func latencySettled(out []connectSample, total int, lostAfterMS float64) bool {
	var edges []float64
	for _, b := range catalog.LatencyBands[:len(catalog.LatencyBands)-1] {
		edges = append(edges, b.Edge)
	}
	var ok []float64
	for _, r := range out {
		if !r.lostAt(lostAfterMS) {
			ok = append(ok, r.rtt)
		}
	}
	most := len(ok) + total - len(out) // if every remaining connect succeeded
	bands := make([]int, len(edges)+1)
	for _, v := range ok {
		b := 0
		for b < len(edges) && v >= edges[b] {
			b++
		}
		bands[b]++
	}
	for _, n := range bands {
		if 2*n > most {
			return true
		}
	}
	return false
}

// Jitter is the median absolute difference between consecutive round trips.
func Jitter(rtts []float64) float64 {
	if len(rtts) < 2 {
		return 0
	}
	d := make([]float64, 0, len(rtts)-1)
	for i := 1; i < len(rtts); i++ {
		d = append(d, math.Abs(rtts[i]-rtts[i-1]))
	}
	return speed.Median(d)
}

func latencyObservations(addr string, rtts []float64, lost, tried int, note string) []Observation {
	med := speed.Median(rtts)
	jit := Jitter(rtts)
	lossPct := 100 * float64(lost) / float64(tried)
	lat := Observation{Probe: catalog.PLatency, Target: addr, Value: math.Round(med*10) / 10, Status: OK, Detail: fmt.Sprintf("median %.0f ms over %d connects%s", med, len(rtts), note)}
	if med >= catalog.HighLatencyMS {
		lat.Status, lat.Failure = Problem, catalog.FHighLatency
	}
	jo := Observation{Probe: catalog.PJitter, Target: addr, Value: math.Round(jit*10) / 10, Status: OK, Detail: fmt.Sprintf("%.0f ms%s", jit, note)}
	if jit >= catalog.HighJitterMS {
		jo.Status, jo.Failure = Problem, catalog.FHighJitter
	}
	lo := Observation{Probe: catalog.PLoss, Target: addr, Value: math.Round(lossPct*10) / 10, Status: OK, Detail: fmt.Sprintf("%d of %d connects lost%s", lost, tried, note)}
	if lossPct >= catalog.LossPct {
		lo.Status, lo.Failure = Problem, catalog.FLoss
	}
	return []Observation{lat, jo, lo}
}
