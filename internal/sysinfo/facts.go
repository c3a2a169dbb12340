package sysinfo

import (
	"context"
	"time"
)

// Interface kinds.
const (
	KindEthernet  = "ethernet"
	KindWiFi      = "wifi"
	KindLoopback  = "loopback"
	KindTun       = "tun"
	KindWireGuard = "wireguard"
	KindPPP       = "ppp"
	KindOther     = "other"
)

// Interface is one network interface.
type Interface struct {
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Up    bool     `json:"up"` // administratively up and with carrier
	Addrs []string `json:"addrs,omitempty"`
}

// IsVPN reports whether the interface kind is one VPN clients create.
func (i Interface) IsVPN() bool {
	return i.Kind == KindTun || i.Kind == KindWireGuard || i.Kind == KindPPP
}

// Route is a default route.
type Route struct {
	Interface string `json:"interface"`
	Gateway   string `json:"gateway,omitempty"` // empty for point-to-point routes
}

// Proxy describes the proxy the OS or the environment tells programs to use.
type Proxy struct {
	Mode   string `json:"mode"`             // none | manual | pac
	Source string `json:"source,omitempty"` // env | gnome | registry | scutil | fixture
	URL    string `json:"url,omitempty"`    // proxy URL (manual) or PAC URL (pac)
}

// WiFi is the state of the Wi-Fi adapter in use.
type WiFi struct {
	Interface string  `json:"interface"`
	SignalDBM float64 `json:"signal_dbm"`
}

// Browser is one installed browser.
type Browser struct {
	Name    string `json:"name"` // chrome | chromium | edge | brave | firefox | safari
	Version string `json:"version,omitempty"`
	Running bool   `json:"running"`
}

// Facts is everything Source knows. A fact that could not be read is named in
// NotRun with the reason; its field is then the zero value.
type Facts struct {
	OS            string      `json:"os"`
	Interfaces    []Interface `json:"interfaces"`
	DefaultRoute  *Route      `json:"default_route,omitempty"`
	DefaultRoute6 *Route      `json:"default_route6,omitempty"`
	DNSServers    []string    `json:"dns_servers"` // host:port the OS resolver sends queries to
	DNSUpstreams  []string    `json:"dns_upstreams,omitempty"`
	DNSSource     string      `json:"dns_source,omitempty"`
	Connectivity  string      `json:"connectivity,omitempty"` // the OS's own verdict: full | limited | portal | none
	// ConnectivitySource names who gave Connectivity: NetworkManager,
	// Windows (its Network List Manager) or macOS.
	ConnectivitySource string            `json:"connectivity_source,omitempty"`
	Proxy              Proxy             `json:"proxy"`
	WiFi               *WiFi             `json:"wifi,omitempty"`
	Uptime             time.Duration     `json:"uptime_ns"`
	Browsers           []Browser         `json:"browsers"`
	Home               string            `json:"home"`
	NotRun             map[string]string `json:"not_run,omitempty"`
}

// Fact names used as keys of Facts.NotRun.
const (
	FactInterfaces = "interfaces"
	FactRoute      = "route"
	FactDNS        = "dns_servers"
	FactProxy      = "proxy"
	FactWiFi       = "wifi"
	FactUptime     = "uptime"
	FactBrowsers   = "browsers"
	// FactConnectivity: the OS's own test of internet access.
	FactConnectivity = "connectivity"
)

// Skipped reports whether fact was not read, and why.
func (f *Facts) Skipped(fact string) (string, bool) {
	r, ok := f.NotRun[fact]
	return r, ok
}

func (f *Facts) skip(fact, why string) {
	if f.NotRun == nil {
		f.NotRun = map[string]string{}
	}
	f.NotRun[fact] = why
}

// Source reads machine facts.
type Source interface {
	Facts(ctx context.Context) (*Facts, error)
}

// Fixture is a Source that returns fixed facts.
type Fixture struct{ F Facts }

// Facts returns a copy of the fixed facts.
func (x Fixture) Facts(context.Context) (*Facts, error) {
	f := x.F
	return &f, nil
}
