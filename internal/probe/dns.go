package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// Answer is the result of one DNS query.
type Answer struct {
	Rcode string // "NOERROR", "NXDOMAIN", ...
	IPs   []netip.Addr
	RTT   time.Duration
	// Resent counts UDP queries sent again for want of an answer.
	Resent int
}

// udpRetry is how long a UDP query waits before it is sent again, as stub
// resolvers do (glibc and Windows resend after about a second; the probe's
// budget is shorter, so it resends sooner). A lost datagram then costs a
// resend, not the lookup.
const udpRetry = 400 * time.Millisecond

// exchangeUDP sends m to server over UDP through the dialer, resending it
// while no answer came, and retries over TCP when the answer is truncated.
// It also says how often the query was resent.
func exchangeUDP(ctx context.Context, d Dialer, server string, m *dns.Msg) (*dns.Msg, time.Duration, int, error) {
	start := time.Now()
	r, resent, err := exchangeDatagram(ctx, d, server, m)
	if err != nil || !r.Truncated {
		return r, time.Since(start), resent, err
	}
	c, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, time.Since(start), resent, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cl := &dns.Client{Net: "tcp", UDPSize: 1232}
	r, _, err = cl.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: c, UDPSize: 1232})
	if err == nil && r.Truncated {
		err = errors.New("truncated answer over TCP")
	}
	return r, time.Since(start), resent, err
}

// exchangeDatagram sends m over UDP every udpRetry until an answer with its
// id comes back; it returns the answer and how many times m was resent.
func exchangeDatagram(ctx context.Context, d Dialer, server string, m *dns.Msg) (*dns.Msg, int, error) {
	c, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	co := &dns.Conn{Conn: c, UDPSize: 1232}
	var lastErr error
	resent := 0
	for try := 0; ctx.Err() == nil; try++ {
		resent = try
		if err := co.WriteMsg(m); err != nil {
			return nil, resent, err
		}
		wait := time.Now().Add(udpRetry)
		if dl, ok := ctx.Deadline(); ok && dl.Before(wait) {
			wait = dl
		}
		_ = c.SetReadDeadline(wait)
		for {
			r, err := co.ReadMsg()
			if err != nil {
				lastErr = err
				break
			}
			if r.Id == m.Id {
				return r, resent, nil
			}
		}
		var ne net.Error
		if !errors.As(lastErr, &ne) || !ne.Timeout() {
			return nil, resent, lastErr // refused (ICMP port unreachable) and the like
		}
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return nil, resent, lastErr
}

// dohExchange sends m as an RFC 8484 POST to url, verifying the server against
// the public roots only.
func (e *Env) dohExchange(ctx context.Context, url string, m *dns.Msg) (*dns.Msg, time.Duration, error) {
	start := time.Now()
	q := m.Copy()
	q.Id = 0
	wire, err := q.Pack()
	if err != nil {
		return nil, 0, err
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:       e.Dialer.DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: e.publicRoots()},
		ForceAttemptHTTP2: true,
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(wire))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/dns-message")
	req.Header.Set("Accept", "application/dns-message")
	resp, err := client.Do(req)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 65536))
	if err != nil {
		return nil, time.Since(start), err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, time.Since(start), fmt.Errorf("doh: HTTP %d", resp.StatusCode)
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		return nil, time.Since(start), err
	}
	return r, time.Since(start), nil
}

// ParseAnswer turns a DNS response into an Answer, and an error for the
// outcomes that mean "this name did not resolve".
func ParseAnswer(r *dns.Msg, qtype uint16) (Answer, error) {
	a := Answer{Rcode: dns.RcodeToString[r.Rcode]}
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
					a.IPs = append(a.IPs, ip)
				}
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
					a.IPs = append(a.IPs, ip)
				}
			}
		}
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		if len(a.IPs) == 0 && qtype == dns.TypeA {
			return a, &DNSError{catalog.FNoAnswer}
		}
		return a, nil
	case dns.RcodeNameError:
		return a, &DNSError{catalog.FNXDomain}
	case dns.RcodeRefused:
		return a, &DNSError{catalog.FDNSRefused}
	default:
		return a, &DNSError{catalog.FServFail}
	}
}

// ClassifyAnswer looks at the addresses a resolver gave for a public name and
// says whether they are ones no public service uses: private, loopback,
// link-local, CGNAT, unspecified or documentation ranges. Filtering
// resolvers, sinkholes and captive portals answer that way. It returns "" for
// plausible answers and catalog.FBogonAnswer otherwise.
func ClassifyAnswer(ips []netip.Addr) string {
	if len(ips) == 0 {
		return ""
	}
	for _, ip := range ips {
		if !isBogon(ip) {
			return ""
		}
	}
	return catalog.FBogonAnswer
}

var bogonPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "100::/64",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

func isBogon(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range bogonPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// lookupKey identifies one memoised query.
type lookupKey struct {
	via   string // "system", "doh", "public"
	host  string
	qtype uint16
}

type lookupResult struct {
	done chan struct{}
	ans  Answer
	err  error
}

// lookup resolves host through one path, once per check: concurrent probes
// asking the same question share one query.
func (s *state) lookup(ctx context.Context, via, host string, qtype uint16) (Answer, error) {
	k := lookupKey{via, strings.ToLower(host), qtype}
	s.mu.Lock()
	r, ok := s.lookups[k]
	if !ok {
		r = &lookupResult{done: make(chan struct{})}
		s.lookups[k] = r
		s.mu.Unlock()
		// The query runs under the check's context, bounded by the DNS timeout,
		// so one impatient caller cannot cancel it for the others.
		qctx, cancel := context.WithTimeout(s.ctx, s.timeouts.DNS)
		r.ans, r.err = s.query(qctx, via, host, qtype)
		cancel()
		close(r.done)
	} else {
		s.mu.Unlock()
	}
	select {
	case <-r.done:
		return r.ans, r.err
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
}

func (s *state) query(ctx context.Context, via, host string, qtype uint16) (Answer, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	var r *dns.Msg
	var rtt time.Duration
	var resent int
	var err error
	switch via {
	case "system":
		if len(s.facts.DNSServers) == 0 {
			if _, skipped := s.facts.Skipped(sysinfo.FactDNS); !skipped {
				// Read, and empty: nothing to ask.
				return Answer{}, &DNSError{catalog.FNoResolver}
			}
			return s.goLookup(ctx, host, qtype)
		}
		// Ask each configured server in turn, as the stub resolver does.
		for _, srv := range s.facts.DNSServers {
			var n int
			r, rtt, n, err = exchangeUDP(ctx, s.env.Dialer, srv, m)
			resent += n
			if err == nil && r.Rcode != dns.RcodeServerFailure && r.Rcode != dns.RcodeRefused {
				break
			}
		}
	case "public":
		r, rtt, resent, err = exchangeUDP(ctx, s.env.Dialer, s.env.PublicDNS, m)
	case "doh":
		r, rtt, err = s.env.dohExchange(ctx, s.env.DoHURL, m)
	default:
		return Answer{}, fmt.Errorf("unknown resolver %q", via)
	}
	if err != nil {
		return Answer{RTT: rtt, Resent: resent}, err
	}
	a, err := ParseAnswer(r, qtype)
	a.RTT, a.Resent = rtt, resent
	return a, err
}

// goLookup uses the OS resolver through Go's net package, where the DNS
// servers could not be read (it cannot see rcodes, only outcomes).
func (s *state) goLookup(ctx context.Context, host string, qtype uint16) (Answer, error) {
	start := time.Now()
	network := "ip4"
	if qtype == dns.TypeAAAA {
		network = "ip6"
	}
	ips, err := s.env.osResolver().LookupNetIP(ctx, network, host)
	a := Answer{Rcode: "NOERROR", IPs: ips, RTT: time.Since(start)}
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return a, &DNSError{catalog.FNXDomain}
		case de.IsTimeout:
			return a, err
		default:
			return a, &DNSError{catalog.FServFail}
		}
	}
	return a, err
}

func joinAddrs(ips []netip.Addr) string {
	s := make([]string, 0, len(ips))
	for i, ip := range ips {
		if i == 4 {
			s = append(s, fmt.Sprintf("and %d more", len(ips)-4))
			break
		}
		s = append(s, ip.String())
	}
	return strings.Join(s, ", ")
}
