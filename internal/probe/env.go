package probe

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// Dialer opens connections. *net.Dialer is the real one; the fault lab gives
// one that maps the world's addresses onto its loopback servers.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

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
	// RandomLabel makes the random name of the NXDOMAIN-hijack check.
	RandomLabel func() string
	// Resolver is the OS resolver, used where the DNS servers could not be
	// read. Nil means Go's own resolver dialing through Dialer, so an Env
	// built for tests never reaches the real network.
	Resolver *net.Resolver
}

// DefaultEnv is the real network and the real OS.
func DefaultEnv() *Env {
	return &Env{
		Dialer:    &net.Dialer{},
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
	if e.RandomLabel != nil {
		return e.RandomLabel()
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "nx-" + hex.EncodeToString(b)
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
