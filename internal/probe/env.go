package probe

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// Dialer opens connections. SystemDialer is the real one; the fault lab gives
// one that maps the world's addresses onto its loopback servers.
//
// A connection it returns may know its handshake's round trip better than a
// clock in this process does (a busy machine delays this process, not the
// packets): it then has a method HandshakeRTT() (time.Duration, bool).
// SystemDialer's TCP connections carry the kernel's measure; a dialer that
// plays a network reports the round trip it played.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// handshakeTimer is a connection that knows its handshake's round trip
// (including any wait for a resent SYN); ok is false where it does not.
type handshakeTimer interface {
	HandshakeRTT() (rtt time.Duration, ok bool)
}

// SystemDialer dials the real network. Its TCP connections report the round
// trip the kernel measured for their handshake (TCP_INFO, where the OS gives
// it), so a busy machine does not lengthen what the probes measure.
type SystemDialer struct{ net.Dialer }

// DialContext dials and, for TCP, reads the kernel's round trip at once.
func (d *SystemDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	start := time.Now()
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return c, err
	}
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return c, nil
	}
	wall := time.Since(start)
	k, resent, ok := kernelRTT(tc)
	if !ok {
		return c, nil
	}
	m := &measuredConn{TCPConn: tc, rtt: wall}
	if k <= wall && !resent {
		// With a resent SYN the wait is the wall clock's: the loss rule
		// needs it, and the kernel's RTT alone would hide it.
		m.rtt = k
	}
	return m, nil
}

// measuredConn is a kernel TCP connection with its handshake's round trip.
type measuredConn struct {
	*net.TCPConn
	rtt time.Duration
}

// HandshakeRTT implements handshakeTimer.
func (m *measuredConn) HandshakeRTT() (time.Duration, bool) { return m.rtt, true }

// Env is everything probes use to reach the outside world.
type Env struct {
	Dialer Dialer
	Facts  sysinfo.Source
	// PublicDNS is a plain DNS server outside the user's network.
	PublicDNS string
	// DoHURL is a DNS-over-HTTPS endpoint addressed by IP, so that using it
	// needs no DNS lookup (8.8.8.8's certificate names its own address).
	DoHURL string
	// SystemRoots verifies TLS as the user's browser does (nil: the OS store).
	SystemRoots *x509.CertPool
	// PublicRoots is the public web PKI alone (nil: the embedded NSS bundle);
	// a certificate that passes SystemRoots but not PublicRoots was issued by
	// a locally installed CA.
	PublicRoots *x509.CertPool
	// Clock is the device's clock (nil: time.Now): certificates are
	// verified at its time and its offset from servers' clocks is measured.
	Clock func() time.Time
	// Rand is the random source of the made-up names (nil: crypto/rand).
	Rand io.Reader
	// Resolver is the OS resolver, used where the DNS servers could not be
	// read. Nil means Go's own resolver dialing through Dialer, so an Env
	// built for tests never reaches the real network.
	Resolver *net.Resolver
	// OutageServer is the crowd outage service asked whether the service
	// is down for many people (nil: none; see outage.EnvServer).
	OutageServer *url.URL
}

// DefaultEnv is the real network and the real OS.
func DefaultEnv() *Env {
	return &Env{
		Dialer:    &SystemDialer{},
		Facts:     sysinfo.Live{},
		PublicDNS: "8.8.8.8:53",
		DoHURL:    "https://8.8.8.8/dns-query",
		Resolver:  net.DefaultResolver,
	}
}

func (e *Env) osResolver() *net.Resolver {
	if e.Resolver != nil {
		return e.Resolver
	}
	return &net.Resolver{PreferGo: true, Dial: e.Dialer.DialContext}
}

var (
	publicPoolOnce sync.Once
	publicPool     *x509.CertPool
)

// EmbeddedRoots is the NSS root bundle shipped inside the binary.
func EmbeddedRoots() *x509.CertPool {
	publicPoolOnce.Do(func() {
		p := x509.NewCertPool()
		for r := range bundle.Roots() {
			c, err := x509.ParseCertificate(r.Certificate)
			if err != nil {
				continue
			}
			if r.Constraint != nil {
				p.AddCertWithConstraint(c, r.Constraint)
			} else {
				p.AddCert(c)
			}
		}
		publicPool = p
	})
	return publicPool
}

func (e *Env) publicRoots() *x509.CertPool {
	if e.PublicRoots != nil {
		return e.PublicRoots
	}
	return EmbeddedRoots()
}

func (e *Env) randomLabel() string {
	r := e.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 10)
	_, _ = io.ReadFull(r, b)
	return "nx-" + hex.EncodeToString(b)
}

// now is the device's time.
func (e *Env) now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// Timeouts bound each kind of probe; the whole check's deadline bounds them all.
type Timeouts struct {
	DNS, Connect, TLS, HTTP, Latency time.Duration
}

// DefaultTimeouts are short enough that a check of a dead network ends in
// about three seconds, and long enough for a slow but working one. Each
// probe's deadline is its own timeout (bounded by the whole check's); DNS
// answers are shared, so a probe that needs one rarely waits for it.
var DefaultTimeouts = Timeouts{
	DNS:     1500 * time.Millisecond,
	Connect: 2500 * time.Millisecond,
	TLS:     3 * time.Second,
	HTTP:    3500 * time.Millisecond,
	Latency: 2800 * time.Millisecond,
}

// Environment variables that point the trusted vantage points elsewhere:
// for networks that block 8.8.8.8, for private networks with their own
// resolvers and PKI, and for test rigs.
const (
	// EnvPublicRoots names a PEM file used as the public web PKI instead of
	// the embedded root bundle.
	EnvPublicRoots = "STREAMDOCTOR_PUBLIC_ROOTS"
	// EnvPublicDNS is host:port of the trusted plain-DNS server.
	EnvPublicDNS = "STREAMDOCTOR_PUBLIC_DNS"
	// EnvDoHURL is the trusted DNS-over-HTTPS URL (https://…/dns-query).
	EnvDoHURL = "STREAMDOCTOR_DOH_URL"
)

// FromEnviron applies the three variables (read through getenv) to e. An
// unset variable leaves e's value; a bad one is an error that says which
// variable and what would be right.
func (e *Env) FromEnviron(getenv func(string) string) error {
	if p := getenv(EnvPublicRoots); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: cannot read %s (give a PEM file of root certificates)", EnvPublicRoots, p)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: %s holds no PEM certificate (give a PEM file of root certificates)", EnvPublicRoots, p)
		}
		e.PublicRoots = pool
	}
	if a := getenv(EnvPublicDNS); a != "" {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return fmt.Errorf("%s: %q is not host:port (e.g. 9.9.9.9:53)", EnvPublicDNS, a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: port %q is not 1-65535 (e.g. 9.9.9.9:53)", EnvPublicDNS, port)
		}
		e.PublicDNS = a
	}
	if u := getenv(EnvDoHURL); u != "" {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || pu.Host == "" {
			return fmt.Errorf("%s: %q is not an https URL (e.g. https://9.9.9.9/dns-query)", EnvDoHURL, u)
		}
		e.DoHURL = u
	}
	return nil
}
