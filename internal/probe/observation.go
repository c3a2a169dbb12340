package probe

import (
	"encoding/json"
	"time"
)

// Status is the verdict of one observation.
type Status string

// Statuses.
const (
	OK      Status = "ok"
	Problem Status = "problem"
	NotRun  Status = "not_run"
)

// Observation is one measured fact; Failure is a stable code, never free text.
type Observation struct {
	Probe   string  `json:"probe"`
	Target  string  `json:"target"`
	Status  Status  `json:"status"`
	Failure string  `json:"failure"`
	Value   float64 `json:"value"`
	Detail  string  `json:"detail"`
	// Addrs are the addresses a DNS probe got (additive to report/v1).
	Addrs []string `json:"addrs,omitempty"`
	// Retries counts resent queries or connects (additive to report/v1).
	Retries  int           `json:"retries,omitempty"`
	Duration time.Duration `json:"-"`
}

// MarshalJSON writes duration_ms as the report/v1 schema asks.
func (o Observation) MarshalJSON() ([]byte, error) {
	type plain Observation
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"duration_ms"`
	}{plain(o), float64(o.Duration.Microseconds()) / 1000})
}

// Probe names. The engine keys its evidence on these.
const (
	PLink         = "link"
	PWiFi         = "wifi"
	PGateway      = "gateway"
	PConnectivity = "os.connectivity"
	PDNSSystem    = "dns.system"
	PDNSDoH       = "dns.doh"
	PDNSPublic    = "dns.public"
	PDNSHijack    = "dns.hijack"
	PDNSResolver  = "dns.resolver"
	PTCPService   = "tcp.service"
	PTCP6Service  = "tcp6.service"
	PTLSService   = "tls.service"
	PHTTPSService = "https.service"
	PHTTPSProxy   = "https.service.proxy"
	PHTTPSControl = "https.control"
	PPortal       = "http.portal"
	PProxy        = "proxy"
	PVPN          = "vpn"
	PClock        = "clock"
	PLatency      = "latency"
	PJitter       = "jitter"
	PLoss         = "loss"
	PBrowserData  = "browser.data"
	PBrowserVer   = "browser.version"
	PBrowserCache = "browser.cache"
	PUptime       = "uptime"
	PThroughput   = "throughput"
	PLoadedRTT    = "throughput.loaded_latency"
	PCrowd        = "crowd"
)
