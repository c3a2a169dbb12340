package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
)

// probeTrusted is the second opinion on the system resolver. For each name
// the check relies on — the service's hosts, the control sites and the
// captive-portal check — whose system answer shares no address with the
// trusted resolvers' (or that the system resolver could not give, or gave
// as a private address), it reaches the name at the trusted resolvers'
// address instead: an HTTPS site must present a certificate for its name
// that the public roots trust, the portal check must answer 204. Where the
// real site answers there, the resolver's answers were what failed, not
// the site or the path; where nothing answers there either (a captive
// portal intercepts every path, an outage fails every address), the
// resolver is cleared. A name both resolvers agree on is not probed again.
func probeTrusted(ctx context.Context, s *state) []Observation {
	var targets []string
	for _, h := range s.prof.Hosts {
		targets = append(targets, h.URL())
	}
	targets = append(append(targets, s.prof.Controls...), s.prof.PortalURL)
	return parallel(ctx, targets, func(u string) Observation {
		return s.trustedPath(ctx, u)
	})
}

func (s *state) trustedPath(ctx context.Context, raw string) Observation {
	o := Observation{Probe: catalog.PTrusted, Target: raw}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		o.Status, o.Detail = NotRun, "not an address"
		return o
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		o.Status, o.Detail = NotRun, "an address, not a name: nothing to look up"
		return o
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[u.Scheme]
	}
	// Both answers, asked at once (they are shared with the DNS probes).
	var sys, doh, pub Answer
	var sysErr, dohErr, pubErr error
	var wg sync.WaitGroup
	for _, q := range []struct {
		via string
		a   *Answer
		err *error
	}{{"system", &sys, &sysErr}, {"doh", &doh, &dohErr}, {"public", &pub, &pubErr}} {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			*q.a, *q.err = s.lookup(ctx, q.via, host, dns.TypeA)
		})
	}
	wg.Wait()
	trusted := doh.IPs
	if dohErr != nil || len(trusted) == 0 {
		trusted = pub.IPs
	}
	if len(trusted) == 0 || ClassifyAnswer(trusted) != "" {
		o.Status, o.Detail = NotRun, "no answer from the trusted resolvers"
		return o
	}
	if sysErr == nil && ClassifyAnswer(sys.IPs) == "" && slices.ContainsFunc(sys.IPs, func(a netip.Addr) bool { return slices.Contains(trusted, a) }) {
		o.Status, o.Detail = NotRun, "your resolver gives the same address as the trusted ones"
		return o
	}
	addr := net.JoinHostPort(trusted[0].String(), strconv.Itoa(port))
	start := time.Now()
	var status int
	if u.Scheme == "https" {
		err = s.trustedTLS(ctx, host, addr)
	} else {
		status, err = s.trustedHTTP(ctx, u, addr)
	}
	o.Value = ms(time.Since(start))
	what := "your resolver gave " + joinAddrs(sys.IPs)
	if sysErr != nil {
		what = "your resolver gave no address (" + Classify(sysErr) + ")"
	}
	switch {
	case err != nil:
		o.Status, o.Failure = Problem, Classify(err)
		o.Detail = fmt.Sprintf("%s at %s (from the trusted resolvers; %s): %s", host, addr, what, err)
	case u.Scheme == "http" && status != http.StatusNoContent:
		o.Status, o.Failure = Problem, catalog.FPortal
		o.Detail = fmt.Sprintf("%s at %s (from the trusted resolvers) answered HTTP %d, not 204: every path is intercepted", host, addr, status)
	default:
		o.Status = OK
		o.Detail = fmt.Sprintf("the real %s answers at %s, the trusted resolvers' address (%s)", host, addr, what)
	}
	return o
}

// trustedTLS connects to addr and checks that it presents a certificate
// for host that the public roots trust.
func (s *state) trustedTLS(ctx context.Context, host, addr string) error {
	raw, err := s.dialBudget(ctx, "tcp4", addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = s.handshake(ctx, raw, s.tlsConfig(host, s.env.publicRoots()))
	return err
}

// trustedHTTP fetches u from addr (plain HTTP, the Host header u's) and
// returns the status.
func (s *state) trustedHTTP(ctx context.Context, u *url.URL, addr string) (int, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return s.dialBudget(ctx, "tcp4", addr)
	}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _, _, err := fetch(ctx, cl, u.String())
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
