// Package catalog declares every probe once: its name, the checklist layer
// it belongs to, the failure codes it can report, the thresholds it judges
// by and the words a viewer reads; and, per layer, the evidence symbols the
// evidence rules derive. The probes, the evidence rules, the reports and the
// knowledge base's checks all read it, so adding a probe touches its own
// file, this catalogue and its layer's rule. It imports nothing.
package catalog

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Layers of the checklist, in the order they are shown. Optional layers are
// left out of a report when nothing in them was measured.
const (
	LayerLink     = "link"
	LayerRouter   = "router"
	LayerDNS      = "dns"
	LayerInternet = "internet"
	LayerSpeed    = "speed"
	LayerService  = "service"
	LayerBrowser  = "browser"
	LayerComputer = "computer"
	LayerOthers   = "others"
)

// Layer is one line of the checklist.
type Layer struct {
	ID       string
	Title    string
	Optional bool
}

// Layers are the checklist's lines, in order.
var Layers = []Layer{
	{LayerLink, "Link", false},
	{LayerRouter, "Router", false},
	{LayerDNS, "DNS", false},
	{LayerInternet, "Internet", false},
	{LayerSpeed, "Speed", false},
	{LayerService, "Service", false},
	{LayerBrowser, "Browser", true},
	{LayerComputer, "Computer", false},
	{LayerOthers, "Others", true},
}

// Probe names: stable, used in observations, reports and the JSON document.
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
	// PTrusted reaches a name at the trusted resolvers' address where the
	// system resolver's answer differs (the second opinion).
	PTrusted      = "https.trusted"
	PTCPService   = "tcp.service"
	PTCP6Service  = "tcp6.service"
	PTLSService   = "tls.service"
	PHTTPSService = "https.service"
	PHTTPSProxy   = "https.service.proxy"
	PHTTPSControl = "https.control"
	// PHTTPSPeers opens the front door of every other built-in streaming
	// service: "only this one fails" or "all of them fail".
	PHTTPSPeers = "https.peers"
	PPortal     = "http.portal"
	PProxy      = "proxy"
	PVPN        = "vpn"
	PClock      = "clock"
	PLatency    = "latency"
	PJitter     = "jitter"
	PLoss       = "loss"
	PThroughput = "throughput"
	PLoadedRTT  = "throughput.loaded_latency"
	// PThroughputRef is the same quick sample from a neutral server (not
	// the service's), so a slow path to the service tells from a slow line.
	PThroughputRef = "throughput.reference"
	PBrowserData   = "browser.data"
	PBrowserVer    = "browser.version"
	PBrowserCache  = "browser.cache"
	PUptime        = "uptime"
	PCrowd         = "crowd"
	// PBrowser is the viewer's own browser: timed requests the web page
	// makes from inside it.
	PBrowser = "browser.fetch"
)

// Failure codes: what went wrong, classified once (probe.Classify for
// errors from the network stack). They are stable: reports, the engine and
// scenarios use them.
const (
	FTimeout         = "timeout"
	FRefused         = "refused"
	FReset           = "reset"
	FNetUnreachable  = "network_unreachable"
	FHostUnreachable = "host_unreachable"
	FEOF             = "eof"
	FNXDomain        = "dns_nxdomain"
	FServFail        = "dns_servfail"
	FDNSRefused      = "dns_refused"
	FNoAnswer        = "dns_no_answer"
	FBogonAnswer     = "dns_bogon_answer"
	FNXHijack        = "dns_nxdomain_hijacked"
	// Name-resolution failures met by a later probe (TCP, TLS, HTTP): the
	// failure belongs to the resolver, never to the service.
	FDNSTimeout     = "dns_timeout"
	FNoResolver     = "dns_no_resolver_configured"
	FDNSUnreachable = "dns_unreachable"
	FUnknownCA      = "tls_unknown_authority"
	FIntercepted    = "tls_intercepted"
	FCertTime       = "tls_cert_time_invalid"
	FHostname       = "tls_hostname_mismatch"
	FTLSFailed      = "tls_handshake_failed"
	FHTTP503        = "http_503"
	FHTTP5xx        = "http_5xx"
	FHTTP4xx        = "http_4xx"
	FBlockProxy     = "block_page_proxy"
	FBlockFilter    = "block_page_filter"
	FPortal         = "captive_portal"
	FLimited        = "limited_connectivity"
	// A proxy that answered CONNECT with something other than 200.
	FProxyDenied       = "proxy_denied"         // 403 and other 4xx
	FProxyAuthRequired = "proxy_auth_required"  // 407
	FProxyUpstream     = "proxy_upstream_error" // 5xx: the proxy could not reach the site
	FNoLink            = "no_link"
	FNoRoute           = "no_route"
	FVideoUnreachable  = "video_unreachable"
	// FBrowserBlocked: the browser's request failed before any answer.
	FBrowserBlocked = "browser_blocked"
	// FBrowserTimeout: no answer within the page's time limit.
	FBrowserTimeout = "browser_timeout"
	// FWired is why the Wi-Fi probe did not run: traffic leaves by cable.
	FWired   = "wired"
	FPanic   = "panic"
	FUnknown = "unknown_error"
)

// Judgements: a setting found, or a measurement past one of the thresholds
// below. A probe reports them as its observation's failure (report/v1);
// the evidence rules grade the values themselves.
const (
	FSlow          = "slow"
	FProxy         = "proxy_configured"
	FVPN           = "vpn_active"
	FWeakSignal    = "weak_signal"
	FClockSkew     = "clock_skew"
	FStaleData     = "stale_site_data"
	FLargeCache    = "large_cache"
	FOutdated      = "outdated_browser"
	FLongUptime    = "long_uptime"
	FHighLatency   = "high_latency"
	FHighJitter    = "high_jitter"
	FLoss          = "packet_loss"
	FLowThroughput = "low_throughput"
	FBelowSD       = "throughput_below_sd"
	FBufferbloat   = "bufferbloat"
	FCrowdElevated = "crowd_elevated"
	FCrowdOutage   = "crowd_outage"
)

// Network marks a probe whose failures include any error class of the
// network stack (probe.Classify's codes).
var networkErrors = []string{FTimeout, FRefused, FReset, FNetUnreachable, FHostUnreachable, FEOF, FTLSFailed, FUnknown,
	FDNSTimeout, FNoResolver, FDNSUnreachable, FNXDomain, FServFail, FDNSRefused, FNoAnswer}

// NameLookupFailures are the failures of looking a name up: a probe that
// fails with one of them never reached what it tests.
var NameLookupFailures = []string{FDNSTimeout, FNoResolver, FDNSUnreachable, FNXDomain, FServFail, FDNSRefused, FNoAnswer}

// Probe is one probe's declaration.
type Probe struct {
	Name  string
	Layer string
	// Plain is what it looks at, in a viewer's words ("%s" is the service).
	Plain string
	// Network: it may report any error class of the network stack.
	Network bool
	// Failures are the codes of its own it may report.
	Failures []string
}

// Probes are every probe, in the order they run.
var Probes = []Probe{
	{PLink, LayerLink, "the connection", false, []string{FNoLink, FNoRoute}},
	{PWiFi, LayerLink, "Wi-Fi", false, []string{FWeakSignal, FWired}},
	{PConnectivity, LayerRouter, "the network settings", false, []string{FPortal, FLimited}},
	{PProxy, LayerInternet, "a proxy", false, []string{FProxy}},
	{PVPN, LayerInternet, "a VPN", false, []string{FVPN}},
	{PUptime, LayerComputer, "time since restart", false, []string{FLongUptime}},
	{PBrowserVer, LayerComputer, "the browser's version", false, []string{FOutdated}},
	{PBrowserData, LayerComputer, "the browser's saved data", false, []string{FStaleData}},
	{PBrowserCache, LayerComputer, "the browser's cache", false, []string{FLargeCache}},
	{PGateway, LayerRouter, "the router", true, []string{FNoRoute}},
	{PDNSSystem, LayerDNS, "your network's name lookup", true, []string{FBogonAnswer}},
	{PDNSDoH, LayerDNS, "a public name lookup", true, []string{FBogonAnswer, FUnknownCA, FHostname, FCertTime, FHTTP5xx}},
	{PDNSPublic, LayerDNS, "a public name lookup", true, []string{FBogonAnswer}},
	{PDNSHijack, LayerDNS, "name lookup of a name that does not exist", true, []string{FNXHijack}},
	{PDNSResolver, LayerDNS, "name lookup", false, nil},
	{PTrusted, LayerDNS, "reaching the sites at the addresses public name lookup gives", true, []string{FUnknownCA, FIntercepted, FCertTime, FHostname, FPortal}},
	{PTCPService, LayerService, "connecting to %s", true, nil},
	{PTCP6Service, LayerService, "connecting to %s over IPv6", true, nil},
	{PTLSService, LayerService, "the secure connection to %s", true, []string{FUnknownCA, FIntercepted, FCertTime, FHostname}},
	{PHTTPSService, LayerService, "%s's pages", true, []string{FHTTP503, FHTTP5xx, FHTTP4xx, FBlockProxy, FBlockFilter, FSlow, FUnknownCA, FCertTime, FHostname}},
	{PHTTPSProxy, LayerService, "%s through the proxy", true, []string{FHTTP503, FHTTP5xx, FBlockProxy, FBlockFilter, FSlow, FProxyDenied, FProxyAuthRequired, FProxyUpstream}},
	{PHTTPSControl, LayerInternet, "other websites", true, []string{FHTTP5xx, FUnknownCA, FCertTime, FHostname}},
	{PHTTPSPeers, LayerInternet, "other streaming services", true, []string{FHTTP5xx, FBlockProxy, FBlockFilter, FUnknownCA, FCertTime, FHostname}},
	{PPortal, LayerInternet, "the sign-in page check", true, []string{FPortal, FBlockFilter}},
	{PClock, LayerInternet, "this computer's clock", false, []string{FClockSkew}},
	{PLatency, LayerInternet, "round trips", true, []string{FHighLatency}},
	{PJitter, LayerInternet, "steadiness", false, []string{FHighJitter}},
	{PLoss, LayerInternet, "lost connections", false, []string{FLoss}},
	{PThroughput, LayerSpeed, "the speed", true, []string{FLowThroughput, FBelowSD, FVideoUnreachable}},
	{PLoadedRTT, LayerSpeed, "delay while busy", false, []string{FBufferbloat}},
	{PThroughputRef, LayerSpeed, "the speed from a neutral server", true, []string{FLowThroughput, FBelowSD}},
	{PCrowd, LayerOthers, "other viewers", true, []string{FCrowdElevated, FCrowdOutage}},
	{PBrowser, LayerBrowser, "your browser reaching %s", false, []string{FBrowserBlocked, FBrowserTimeout}},
}

// Spec returns a probe's declaration.
func Spec(name string) (Probe, bool) {
	i := slices.IndexFunc(Probes, func(p Probe) bool { return p.Name == name })
	if i < 0 {
		return Probe{}, false
	}
	return Probes[i], true
}

// Reports says whether a probe may report the failure code (a crash or an
// overrun deadline can end any probe).
func (p Probe) Reports(code string) bool {
	return code == "" || code == FPanic || code == FTimeout || slices.Contains(p.Failures, code) || (p.Network && slices.Contains(networkErrors, code))
}

// PlainFailure is what each failure code means, in the words a viewer reads.
var PlainFailure = map[string]string{
	FTimeout: "no answer", FRefused: "refused", FReset: "cut off", FNetUnreachable: "no route",
	FHostUnreachable: "unreachable", FEOF: "closed early", FNXDomain: "says the name does not exist",
	FServFail: "fails", FDNSRefused: "refuses to answer", FNoAnswer: "gives no address",
	FBogonAnswer: "gives a private address", FNXHijack: "answers names that do not exist", FUnknownCA: "certificate not trusted",
	FIntercepted: "re-signed by software on this computer or network", FCertTime: "certificate out of date",
	FHostname: "certificate for another name", FTLSFailed: "failed", FHTTP503: "overloaded (503)",
	FHTTP5xx: "server error", FHTTP4xx: "refused the request", FBlockProxy: "a \"VPN or proxy detected\" page",
	FBlockFilter: "a block page", FPortal: "a sign-in page is in the way", FLimited: "limited", FSlow: "very slow",
	FProxy: "is set", FVPN: "is on", FNoLink: "no network", FNoRoute: "no route out",
	FWeakSignal: "weak signal", FClockSkew: "wrong", FStaleData: "old or damaged cookies",
	FLargeCache: "very large", FOutdated: "out of date", FLongUptime: "a long time",
	FHighLatency: "very long", FHighJitter: "swinging", FLoss: "many",
	FLowThroughput: "too slow for HD", FBelowSD: "too slow even for SD", FVideoUnreachable: "the video servers do not answer",
	FBufferbloat: "grows a lot", FCrowdElevated: "more reports than usual", FCrowdOutage: "many report it down",
	FDNSTimeout: "name lookup got no answer", FNoResolver: "no name server is set", FDNSUnreachable: "name server unreachable",
	FProxyDenied: "the proxy refuses", FProxyAuthRequired: "the proxy wants a password", FProxyUpstream: "the proxy cannot reach it",
	FBrowserBlocked: "failed before any answer", FBrowserTimeout: "no answer",
	FPanic: "could not be checked", FUnknown: "did not work",
}

// PlainProbe says what a probe looks at, with "%s" filled by service.
func PlainProbe(name, service string) string {
	p, ok := Spec(name)
	if !ok || p.Plain == "" {
		return "a check"
	}
	if slices.Contains([]rune(p.Plain), '%') {
		return fmt.Sprintf(p.Plain, service)
	}
	return p.Plain
}

// Thresholds, each declared once: the probes judge by them and the
// evidence rules grade by the same numbers.
const (
	// SlowTTFB: a service front end that takes longer than this to answer
	// makes the player time out its first requests.
	SlowTTFB = 2500 * time.Millisecond
	// ClockSkewLimit (seconds): past five minutes, signed tokens and
	// licences are rejected (the window Kerberos and most token issuers allow).
	ClockSkewLimit = 300.0
	// ClockOffDays (seconds): a day or more breaks certificates; less only
	// breaks signed tokens and licences.
	ClockOffDays = 86400.0
	// LostAfter: the kernel resends a SYN after one second, so a connect
	// slower than the path's round trip by this counts as a lost SYN.
	LostAfter = time.Second
	// LongUptimeHours: two weeks without a restart.
	LongUptimeHours = 14 * 24
	// LargeCacheMB: a browser cache past 1 GB has gone a long time uncleaned.
	LargeCacheMB = 1024
	// BufferbloatMS: latency that grows this much under load means queues
	// in the line fill up, which stalls a stream's requests while it buffers.
	BufferbloatMS = 100.0
	// DNSSlowMS: a resolver's answer later than this is slow: recursive
	// lookups take tens to a few hundred milliseconds.
	DNSSlowMS = 400.0
	// RouterSlowMS: the router is one hop away; a connect to it slower
	// than this means the local link retries or queues.
	RouterSlowMS = 60.0
	// AcceptSlowMS: a connect this much longer than the TLS exchange after
	// it (and over twice as long) waited in the server's accept queue.
	AcceptSlowMS = 500.0
)

// Band is one grade of a graded measurement, with its evidence symbol.
// For signal bands the value must be at least Edge; for the others below it.
type Band struct {
	Edge float64
	ID   string
}

// Graded measurements: exactly one band of each is observed and the others
// stay unknown, so the engine multiplies P(band | cause) once. The probe
// marks its observation a problem from the band named below each.
var (
	// Wi-Fi signal (dBm): -67 is the floor vendors give for video, -75
	// where rates drop to a few Mbps, -85 where frames are lost outright.
	// The Wi-Fi probe reports a weak signal from the weak band on.
	SignalBands = []Band{{-67, EWiFiGood}, {-75, EWiFiFair}, {-85, EWiFiWeak}, {math.Inf(-1), EWiFiVeryWeak}}
	// Round trip (ms), upper bounds: under 100 is ordinary, to 300 is far
	// or queued, beyond is a satellite hop, a detour or a path in trouble
	// (the latency probe's problem mark).
	LatencyBands = []Band{{100, ELatencyNormal}, {300, ELatencyHigh}, {math.Inf(1), ELatencyVeryHigh}}
	// Jitter (ms, median difference between two round trips), upper bounds; the top
	// band is the jitter probe's problem mark.
	JitterBands = []Band{{10, EJitterLow}, {25, EJitterSome}, {math.Inf(1), EJitterHigh}}
	// Lost connects (%), upper bounds: none, some (one in 16 is bad luck on
	// a good line), heavy (the loss probe's problem mark).
	LossBands = []Band{{0.5, ELossNone}, {10, ELossSome}, {math.Inf(1), ELossHeavy}}
	// Throughput, judged against the profile's needs by the probe.
	ThroughputBands = []string{EThroughputOK, EThroughputBelowHD, EThroughputBelowSD}
)

// Problem edges of the graded probes, read off their bands.
var (
	WeakSignalDBM = SignalBands[1].Edge  // below this: weak_signal
	HighLatencyMS = LatencyBands[1].Edge // from this on: high_latency
	HighJitterMS  = JitterBands[1].Edge  // above this: high_jitter
	LossPct       = LossBands[1].Edge    // from this on: packet_loss
)

// BandAtLeast is the band of v where each band's value is at least its edge.
func BandAtLeast(bands []Band, v float64) string {
	for _, b := range bands {
		if v >= b.Edge {
			return b.ID
		}
	}
	return bands[len(bands)-1].ID
}

// BandBelow is the band of v where each band's value is below its edge.
func BandBelow(bands []Band, v float64) string {
	for _, b := range bands {
		if v < b.Edge {
			return b.ID
		}
	}
	return bands[len(bands)-1].ID
}
