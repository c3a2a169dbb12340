package lab

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/yamlx"
)

// Browser is one browser of a scenario's system.
type Browser struct {
	Name               string `yaml:"name"`
	Version            string `yaml:"version"`
	Running            bool   `yaml:"running"`
	SiteCookies        int    `yaml:"site_cookies"`
	ExpiredSiteCookies int    `yaml:"expired_site_cookies"`
	CacheMB            int64  `yaml:"cache_mb"`
}

// System is the scenario's device.
type System struct {
	Link          string    `yaml:"link"`
	WiFiSignalDBM *float64  `yaml:"wifi_signal_dbm"`
	Gateway       string    `yaml:"gateway"`
	VPN           string    `yaml:"vpn"`
	Proxy         string    `yaml:"proxy"`
	UptimeHours   *float64  `yaml:"uptime_hours"`
	ClockOffsetS  float64   `yaml:"clock_offset_s"`
	Browsers      []Browser `yaml:"browsers"`
}

// Network is the scenario's network and service.
type Network struct {
	DNS                string   `yaml:"dns"`
	Service            string   `yaml:"service"`
	Controls           string   `yaml:"controls"`
	TLS                string   `yaml:"tls"`
	CaptivePortal      bool     `yaml:"captive_portal"`
	IPv6               string   `yaml:"ipv6"`
	BandwidthMbps      *float64 `yaml:"bandwidth_mbps"`
	RTTms              float64  `yaml:"rtt_ms"`
	JitterMs           float64  `yaml:"jitter_ms"`
	ConnectFailureRate float64  `yaml:"connect_failure_rate"`
}

// Expect is what the engine should conclude.
type Expect struct {
	TopCause  string   `yaml:"top_cause"`
	NotCauses []string `yaml:"not_causes"`
}

// Scenario is one failure story.
type Scenario struct {
	Version int               `yaml:"version"`
	Name    string            `yaml:"name"`
	About   string            `yaml:"about"`
	Code    string            `yaml:"code"`
	Service string            `yaml:"service"`
	System  System            `yaml:"system"`
	Network Network           `yaml:"network"`
	Answers map[string]string `yaml:"answers"`
	Expect  Expect            `yaml:"expect"`

	File string `yaml:"-"`
}

// LoadFile reads and validates a scenario file.
func LoadFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse validates a scenario's bytes; file names errors.
func Parse(file string, src []byte) (*Scenario, error) {
	var s Scenario
	d, err := yamlx.Decode(file, src, &s)
	if err != nil {
		return nil, err
	}
	s.File = file
	if err := s.validate(d); err != nil {
		return nil, err
	}
	s.defaults()
	return &s, nil
}

func oneOf(d *yamlx.Doc, v string, allowed []string, path ...any) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return d.ErrAt(fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, " | ")), path...)
}

func (s *Scenario) validate(d *yamlx.Doc) error {
	if s.Version != 1 {
		return d.ErrAt(fmt.Sprintf("version must be 1, got %d", s.Version), "version")
	}
	if strings.TrimSpace(s.Name) == "" {
		return d.ErrAt("missing name", "name")
	}
	checks := []struct {
		v       string
		allowed []string
		path    []any
	}{
		{s.Service, []string{"", "netflix"}, []any{"service"}},
		{s.System.Link, []string{"", "ethernet", "wifi", "none"}, []any{"system", "link"}},
		{s.System.Gateway, []string{"", "ok", "unreachable"}, []any{"system", "gateway"}},
		{s.System.VPN, []string{"", "none", "wireguard", "openvpn", "other"}, []any{"system", "vpn"}},
		{s.System.Proxy, []string{"", "none", "manual", "pac"}, []any{"system", "proxy"}},
		{s.Network.DNS, []string{"", "ok", "servfail", "timeout", "nxdomain", "hijack"}, []any{"network", "dns"}},
		{s.Network.Service, []string{"", "ok", "http_503", "refused", "blackhole", "proxy_detected", "slow"}, []any{"network", "service"}},
		{s.Network.Controls, []string{"", "ok", "refused", "blackhole", "timeout", "down"}, []any{"network", "controls"}},
		{s.Network.TLS, []string{"", "ok", "intercepted"}, []any{"network", "tls"}},
		{s.Network.IPv6, []string{"", "none", "ok", "broken"}, []any{"network", "ipv6"}},
	}
	for _, c := range checks {
		if err := oneOf(d, c.v, c.allowed, c.path...); err != nil {
			return err
		}
	}
	if s.System.WiFiSignalDBM != nil && (*s.System.WiFiSignalDBM > 0 || *s.System.WiFiSignalDBM < -120) {
		return d.ErrAt("must be between -120 and 0 dBm", "system", "wifi_signal_dbm")
	}
	if s.System.UptimeHours != nil && *s.System.UptimeHours < 0 {
		return d.ErrAt("must not be negative", "system", "uptime_hours")
	}
	for i, b := range s.System.Browsers {
		if err := oneOf(d, b.Name, []string{"chrome", "chromium", "edge", "brave", "firefox"}, "system", "browsers", i, "name"); err != nil {
			return err
		}
		if b.SiteCookies < 0 || b.ExpiredSiteCookies < 0 || b.ExpiredSiteCookies > b.SiteCookies {
			return d.ErrAt("expired_site_cookies must be between 0 and site_cookies", "system", "browsers", i, "expired_site_cookies")
		}
		if b.CacheMB < 0 || b.CacheMB > 1<<20 {
			return d.ErrAt("must be between 0 and 1048576", "system", "browsers", i, "cache_mb")
		}
	}
	n := s.Network
	if n.BandwidthMbps != nil && !(*n.BandwidthMbps > 0) {
		return d.ErrAt("must be above 0", "network", "bandwidth_mbps")
	}
	if n.RTTms < 0 || n.RTTms > 5000 {
		return d.ErrAt("must be between 0 and 5000", "network", "rtt_ms")
	}
	if n.JitterMs < 0 || n.JitterMs > 5000 {
		return d.ErrAt("must be between 0 and 5000", "network", "jitter_ms")
	}
	if n.ConnectFailureRate < 0 || n.ConnectFailureRate > 1 {
		return d.ErrAt("must be between 0 and 1", "network", "connect_failure_rate")
	}
	k := kb.MustDefault()
	for _, q := range slices.Sorted(maps.Keys(s.Answers)) {
		e := k.Ev(q)
		if e == nil || e.Question == "" {
			return d.ErrAt("unknown question (private_window_works, other_devices_work)", "answers", q)
		}
		v, err := evidence.ParseAnswer(s.Answers[q])
		if err != nil {
			return d.ErrAt(err.Error(), "answers", q)
		}
		s.Answers[q] = v // yes | no | unknown (true/false and y/n are accepted too)
	}
	if s.Expect.TopCause == "" {
		return d.ErrAt("missing expected top_cause", "expect")
	}
	if k.Cause(s.Expect.TopCause) == nil {
		return d.ErrAt(fmt.Sprintf("unknown cause %q", s.Expect.TopCause), "expect", "top_cause")
	}
	for i, c := range s.Expect.NotCauses {
		if k.Cause(c) == nil {
			return d.ErrAt(fmt.Sprintf("unknown cause %q", c), "expect", "not_causes", i)
		}
	}
	return nil
}

// defaults fills the healthy default of every key left out.
func (s *Scenario) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.Service, "netflix")
	def(&s.System.Link, "wifi")
	def(&s.System.Gateway, "ok")
	def(&s.System.VPN, "none")
	def(&s.System.Proxy, "none")
	def(&s.Network.DNS, "ok")
	def(&s.Network.Service, "ok")
	def(&s.Network.Controls, "ok")
	def(&s.Network.TLS, "ok")
	def(&s.Network.IPv6, "none")
	if s.System.WiFiSignalDBM == nil {
		v := -55.0
		s.System.WiFiSignalDBM = &v
	}
	if s.System.UptimeHours == nil {
		v := 30.0
		s.System.UptimeHours = &v
	}
}

// Glob expands scenario arguments: files, or directories (their *.yaml).
func Glob(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(a, "*.yaml"))
			out = append(out, m...)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}
