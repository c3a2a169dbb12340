package netmap

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// EnvFile describes a whole probe environment: the network, the trust
// stores and the machine's facts.
type EnvFile struct {
	Schema      string        `json:"schema"`
	World       World         `json:"world"`
	PublicDNS   string        `json:"public_dns"`
	DoHURL      string        `json:"doh_url"`
	SystemRoots string        `json:"system_roots_pem"`
	PublicRoots string        `json:"public_roots_pem"`
	Facts       sysinfo.Facts `json:"facts"`
	// ClockOffsetS is how far the device's clock is off, in seconds.
	ClockOffsetS float64 `json:"clock_offset_s,omitempty"`
	// OutageServer is the world's crowd outage service, if it has one.
	OutageServer string `json:"outage_server,omitempty"`
}

// EnvSchema is EnvFile's schema id.
const EnvSchema = "streamdoctor.env/v1"

// Env builds the probe environment the file describes.
func (f *EnvFile) Env() (*probe.Env, error) {
	if err := f.World.Validate(); err != nil {
		return nil, err
	}
	pool := func(pem string) (*x509.CertPool, error) {
		if pem == "" {
			return nil, nil
		}
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM([]byte(pem)) {
			return nil, errors.New("no certificate in PEM")
		}
		return p, nil
	}
	sys, err := pool(f.SystemRoots)
	if err != nil {
		return nil, fmt.Errorf("system_roots_pem: %w", err)
	}
	pub, err := pool(f.PublicRoots)
	if err != nil {
		return nil, fmt.Errorf("public_roots_pem: %w", err)
	}
	env := &probe.Env{
		Dialer: New(f.World), Facts: sysinfo.Fixture{F: f.Facts},
		PublicDNS: f.PublicDNS, DoHURL: f.DoHURL, SystemRoots: sys, PublicRoots: pub,
	}
	if f.ClockOffsetS != 0 {
		off := time.Duration(f.ClockOffsetS * float64(time.Second))
		env.Clock = func() time.Time { return time.Now().Add(off) }
	}
	if f.OutageServer != "" {
		if env.OutageServer, err = outage.ParseServer(f.OutageServer); err != nil {
			return nil, fmt.Errorf("outage_server: %w", err)
		}
	}
	return env, nil
}

// LoadEnv reads an environment file.
func LoadEnv(path string) (*probe.Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f EnvFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Schema != EnvSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, f.Schema, EnvSchema)
	}
	env, err := f.Env()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}
