package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/profile"
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
	OS            string   `yaml:"os"`
	Link          string   `yaml:"link"`
	WiFiSignalDBM *float64 `yaml:"wifi_signal_dbm"`
	// WiFiDegrades applies the signal's effect to the line (round trip,
	// jitter, loss and rate by band), as a weak signal really does.
	WiFiDegrades bool   `yaml:"wifi_degrades"`
	DHCP         string `yaml:"dhcp"`
	// Route: none is an interface with its address but no default route.
	Route        string    `yaml:"route"`
	Gateway      string    `yaml:"gateway"`
	RouterRTTms  float64   `yaml:"router_rtt_ms"`
	VPN          string    `yaml:"vpn"`
	Proxy        string    `yaml:"proxy"`
	UptimeHours  *float64  `yaml:"uptime_hours"`
	ClockOffsetS float64   `yaml:"clock_offset_s"`
	Browsers     []Browser `yaml:"browsers"`
	// BrowserRequests is how the web page's requests from inside the
	// viewer's browser fare (none: no page, as with check in a terminal).
	BrowserRequests string `yaml:"browser_requests"`
}

// Network is the scenario's network and service.
type Network struct {
	DNS        string            `yaml:"dns"`
	DNSDelayMs float64           `yaml:"dns_delay_ms"`
	DNSNames   map[string]string `yaml:"dns_names"`
	PublicDNS  string            `yaml:"public_dns"`
	Uplink     string            `yaml:"uplink"`
	Service    string            `yaml:"service"`
	Controls   string            `yaml:"controls"`
	TLS        string            `yaml:"tls"`
	Video      string            `yaml:"video"`
	VideoMbps  float64           `yaml:"video_mbps"`
	HTTP       string            `yaml:"http"`
	// CaptivePortal accepts yes/no as well as true/false.
	CaptivePortal      bool     `yaml:"captive_portal"`
	IPv6               string   `yaml:"ipv6"`
	BandwidthMbps      *float64 `yaml:"bandwidth_mbps"`
	RTTms              float64  `yaml:"rtt_ms"`
	JitterMs           float64  `yaml:"jitter_ms"`
	ConnectFailureRate float64  `yaml:"connect_failure_rate"`
	LossPct            float64  `yaml:"loss_pct"`
	// Crowd is what the crowd outage service says in this world.
	Crowd string `yaml:"crowd"`
	// ServiceConnectMs: the service's servers accept each connection this
	// late (an overloaded front end with a full accept queue).
	ServiceConnectMs float64 `yaml:"service_connect_ms"`
}

// Values each enumerated key takes (the first is the default). docs/scenarios.md
// lists them with their meaning; TestScenarioDocCoversEveryKey keeps the two
// in step.
var (
	DNSModes     = []string{"ok", "servfail", "timeout", "nxdomain", "hijack", "refused", "slow", "empty", "intermittent", "redirect", "redirect_lapsed", "filter", "none"}
	DNSNameModes = []string{"ok", "nxdomain", "empty", "servfail", "refused", "timeout", "redirect", "redirect_lapsed"}
	ServiceModes = []string{"ok", "http_503", "refused", "blackhole", "proxy_detected", "slow"}
	TLSModes     = []string{"ok", "intercepted", "intercepted_untrusted", "expired", "wrong_name", "unknown_authority", "reset_sni", "handshake_closed", "handshake_silent"}
	ProxyModes   = []string{"none", "manual", "pac", "dead", "denied", "auth_required"}
	BrowserNames = []string{"chrome", "chromium", "edge", "brave", "firefox", "safari"}
	// BrowserRequestModes: see docs/scenarios.md.
	BrowserRequestModes = []string{"none", "ok", "extension_blocks", "own_proxy_dead"}
)

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
	// Fault names the keys that make the story's fault, when they are not
	// simply those that differ from the healthy default (perturb moves the
	// others).
	Fault []string `yaml:"fault"`

	File string `yaml:"-"`
}

// LoadFile reads and validates a scenario file.
func LoadFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file", path)
	}
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
	// "" stands for a key left out (its default); it is not a value to offer.
	shown := slices.DeleteFunc(slices.Clone(allowed), func(a string) bool { return a == "" })
	return d.ErrAt(fmt.Sprintf("%q is not one of %s", v, strings.Join(shown, " | ")), path...)
}

func (s *Scenario) validate(d *yamlx.Doc) error {
	if s.Version != 1 {
		return d.ErrAt(fmt.Sprintf("version must be 1, got %d", s.Version), "version")
	}
	if strings.TrimSpace(s.Name) == "" {
		return d.ErrAt("missing name", "name")
	}
	type enumCheck struct {
		v       string
		allowed []string
		path    []any
	}
	checks := []enumCheck{
		{s.Service, append([]string{""}, profile.Names()...), []any{"service"}},
		{s.System.OS, []string{"", "linux", "windows", "macos"}, []any{"system", "os"}},
		{s.System.Link, []string{"", "ethernet", "wifi", "none"}, []any{"system", "link"}},
		{s.System.DHCP, []string{"", "ok", "failed"}, []any{"system", "dhcp"}},
		{s.System.Route, []string{"", "ok", "none"}, []any{"system", "route"}},
		{s.System.Gateway, []string{"", "ok", "unreachable"}, []any{"system", "gateway"}},
		{s.System.VPN, []string{"", "none", "wireguard", "openvpn", "other"}, []any{"system", "vpn"}},
		{s.System.Proxy, append([]string{""}, ProxyModes...), []any{"system", "proxy"}},
		{s.System.BrowserRequests, append([]string{""}, BrowserRequestModes...), []any{"system", "browser_requests"}},
		{s.Network.DNS, append([]string{""}, DNSModes...), []any{"network", "dns"}},
		{s.Network.PublicDNS, []string{"", "ok", "blocked"}, []any{"network", "public_dns"}},
		{s.Network.Uplink, []string{"", "ok", "down"}, []any{"network", "uplink"}},
		{s.Network.Service, append([]string{""}, ServiceModes...), []any{"network", "service"}},
		{s.Network.Controls, []string{"", "ok", "refused", "blackhole", "timeout", "down"}, []any{"network", "controls"}},
		{s.Network.TLS, append([]string{""}, TLSModes...), []any{"network", "tls"}},
		{s.Network.Video, []string{"", "ok", "blocked", "throttled"}, []any{"network", "video"}},
		{s.Network.HTTP, []string{"", "ok", "blockpage", "reset", "blocked"}, []any{"network", "http"}},
		{s.Network.IPv6, []string{"", "none", "ok", "broken"}, []any{"network", "ipv6"}},
		{s.Network.Crowd, []string{"", "none", "normal", "outage"}, []any{"network", "crowd"}},
	}
	for _, h := range slices.Sorted(maps.Keys(s.Network.DNSNames)) {
		checks = append(checks, enumCheck{s.Network.DNSNames[h], DNSNameModes, []any{"network", "dns_names", h}})
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
		if err := oneOf(d, b.Name, BrowserNames, "system", "browsers", i, "name"); err != nil {
			return err
		}
		if b.Name == "safari" && s.System.OS != "macos" {
			return d.ErrAt("safari needs system.os: macos", "system", "browsers", i, "name")
		}
		if b.SiteCookies < 0 || b.ExpiredSiteCookies < 0 || b.ExpiredSiteCookies > b.SiteCookies {
			return d.ErrAt("expired_site_cookies must be between 0 and site_cookies", "system", "browsers", i, "expired_site_cookies")
		}
		if b.CacheMB < 0 || b.CacheMB > 1<<20 {
			return d.ErrAt("must be between 0 and 1048576", "system", "browsers", i, "cache_mb")
		}
	}
	n := s.Network
	if n.BandwidthMbps != nil && !(*n.BandwidthMbps >= 0 && *n.BandwidthMbps <= 100000) {
		return d.ErrAt("must be between 0 (nothing gets through) and 100000", "network", "bandwidth_mbps")
	}
	ranges := []struct {
		v        float64
		min, max float64
		path     []any
	}{
		{s.System.RouterRTTms, 0, 2000, []any{"system", "router_rtt_ms"}},
		{n.DNSDelayMs, 0, 5000, []any{"network", "dns_delay_ms"}},
		{n.VideoMbps, 0, 100000, []any{"network", "video_mbps"}},
		{n.LossPct, 0, 100, []any{"network", "loss_pct"}},
		{n.ServiceConnectMs, 0, 10000, []any{"network", "service_connect_ms"}},
	}
	for _, r := range ranges {
		if r.v < r.min || r.v > r.max {
			return d.ErrAt(fmt.Sprintf("must be between %g and %g", r.min, r.max), r.path...)
		}
	}
	for _, h := range slices.Sorted(maps.Keys(n.DNSNames)) {
		if !validHost(h) {
			return d.ErrAt(fmt.Sprintf("%q is not a host name", h), "network", "dns_names", h)
		}
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
			return d.ErrAt("unknown question (private_window_works, other_devices_work, mobile_data_works)", "answers", q)
		}
		v, err := evidence.ParseAnswer(s.Answers[q])
		if err != nil {
			return d.ErrAt(err.Error(), "answers", q)
		}
		s.Answers[q] = v // yes | no | unknown (true/false and y/n are accepted too)
	}
	for i, key := range s.Fault {
		if !slices.Contains(Perturbable, key) {
			return d.ErrAt(fmt.Sprintf("%q is not a key perturb moves (%s)", key, strings.Join(Perturbable, ", ")), "fault", i)
		}
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
	def(&s.System.OS, "linux")
	def(&s.System.DHCP, "ok")
	def(&s.System.Route, "ok")
	def(&s.Network.PublicDNS, "ok")
	def(&s.Network.Uplink, "ok")
	def(&s.Network.Crowd, "none")
	def(&s.Network.Video, "ok")
	def(&s.Network.HTTP, "ok")
	if s.Network.DNS == "slow" && s.Network.DNSDelayMs == 0 {
		s.Network.DNSDelayMs = 800
	}
	if s.Network.Video == "throttled" && s.Network.VideoMbps == 0 {
		s.Network.VideoMbps = 1
	}
	def(&s.System.Link, "wifi")
	def(&s.System.Gateway, "ok")
	def(&s.System.VPN, "none")
	def(&s.System.Proxy, "none")
	def(&s.System.BrowserRequests, "none")
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

func validHost(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Glob expands scenario arguments: files, or directories (their *.yaml).
func Glob(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if errors.Is(err, fs.ErrNotExist) {
			// One wording on every OS (Windows says "GetFileAttributesEx
			// …: The system cannot find the file specified").
			return nil, fmt.Errorf("%s: no such file or folder", a)
		}
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(a, "*.yaml"))
			if len(m) == 0 {
				return nil, fmt.Errorf("%s holds no scenario files (*.yaml)", a)
			}
			out = append(out, m...)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}
