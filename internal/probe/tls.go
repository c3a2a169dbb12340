package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

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
		c, err := s.handshake(ctx, raw, cfg)
		if err != nil {
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
