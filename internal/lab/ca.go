package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"time"
)

// ca is a lab certificate authority that issues leaf certificates on demand.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	mu   sync.Mutex
	// leaves caches issued certificates by name.
	leaves map[string]*tls.Certificate
}

// issue signs tmpl with parent's key (itself when parent is nil) and
// returns the certificate's DER and its new key.
func issue(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	return der, key, err
}

func newCA(name string) (*ca, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"StreamDoctor lab"}},
		NotBefore:             now.AddDate(-10, 0, 0),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, key, err := issue(tmpl, nil, nil)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, leaves: map[string]*tls.Certificate{}}, nil
}

func (c *ca) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// leaf returns a certificate for name (a host name or an IP address), valid
// like a typical 90-day web certificate a month into its life.
func (c *ca) leaf(name string) (*tls.Certificate, error) { return c.faultyLeaf(name, "") }

// faultyLeaf returns a certificate for name with a fault a real server can
// have: "expired" (ended a day ago), "wrong_name" (issued to another name);
// "" is a sound one.
func (c *ca) faultyLeaf(name, fault string) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := fault + "/" + name
	if l, ok := c.leaves[key]; ok {
		return l, nil
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   now.AddDate(0, 0, -30),
		NotAfter:    now.AddDate(0, 0, 60),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	switch fault {
	case "expired":
		tmpl.NotBefore, tmpl.NotAfter = now.AddDate(0, 0, -91), now.AddDate(0, 0, -1)
	case "wrong_name":
		tmpl.Subject.CommonName, tmpl.DNSNames, tmpl.IPAddresses = "default.lab", []string{"default.lab"}, nil
	}
	der, k, err := issue(tmpl, c.cert, c.key)
	if err != nil {
		return nil, err
	}
	l := &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: k}
	c.leaves[key] = l
	return l, nil
}

// serverConfig issues certificates by SNI; fallback names the certificate
// for clients that send no SNI (those connecting by IP address).
func (c *ca) serverConfig(fallback string) *tls.Config {
	return &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := h.ServerName
			if name == "" {
				name = fallback
				if la, ok := h.Conn.LocalAddr().(*net.TCPAddr); ok && fallback == "" {
					name = la.IP.String()
				}
			}
			return c.leaf(name)
		},
	}
}

func encodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
