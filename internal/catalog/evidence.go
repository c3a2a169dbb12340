package catalog

import "slices"

// Evidence symbols, by the layer whose rule derives them (package
// evidence). The knowledge base gives each its likelihoods.
const (
	// Link.
	ELinkDown     = "link_down"
	ENoRoute      = "no_route"
	EOnWiFi       = "on_wifi"
	EWiFiGood     = "wifi_signal_good"
	EWiFiFair     = "wifi_signal_fair"
	EWiFiWeak     = "wifi_signal_weak"
	EWiFiVeryWeak = "wifi_signal_very_weak"
	// Router.
	EGatewayFail = "gateway_fail"
	ERouterSlow  = "router_slow"
	// DNS.
	EDNSSystemFail  = "dns_system_fail"
	EDNSUnreliable  = "dns_unreliable"
	EDNSBlockedName = "dns_blocked_name"
	EDNSRedirected  = "dns_redirected"
	EDNSBogon       = "dns_bogon"
	EDNSTrustedFail = "dns_trusted_fail"
	ENXHijack       = "nx_hijack"
	// ETrustedPathOK: where the system resolver's answer differed or failed,
	// the real sites answered at the trusted resolvers' addresses.
	ETrustedPathOK = "trusted_path_ok"
	// Internet.
	EInternetDown = "internet_down"
	EControlsFail = "controls_fail"
	// EPeersFail: every other streaming service's site fails too, while
	// other websites work (unset when they do not: that is controls_fail).
	EPeersFail       = "peers_fail"
	EPortal          = "portal"
	EProxySet        = "proxy_set"
	EVPNOn           = "vpn_on"
	EClockSkewed     = "clock_skewed"
	EClockOffDays    = "clock_off_days"
	ELatencyNormal   = "latency_normal"
	ELatencyHigh     = "latency_high"
	ELatencyVeryHigh = "latency_very_high"
	EJitterLow       = "jitter_low"
	EJitterSome      = "jitter_some"
	EJitterHigh      = "jitter_high"
	ELossNone        = "loss_none"
	ELossSome        = "loss_some"
	ELossHeavy       = "loss_heavy"
	// Speed.
	EThroughputOK      = "throughput_ok"
	EThroughputBelowHD = "throughput_below_hd"
	EThroughputBelowSD = "throughput_below_sd"
	EVideoFail         = "video_fail"
	EBufferbloat       = "bufferbloat"
	// EVideoPathSlow: the service's video servers carry under HD while a
	// neutral server carries far more (the line is fast, the path is slow).
	EVideoPathSlow = "video_path_slow"
	// Service.
	EServiceTCPFail      = "service_tcp_fail"
	EServiceRefused      = "service_refused"
	EService5xx          = "service_5xx"
	EServiceBlockpage    = "service_blockpage"
	EFilterBlockpage     = "filter_blockpage"
	EServiceSlow         = "service_slow"
	EServiceAcceptSlow   = "service_accept_slow"
	EServiceExchangeFail = "service_exchange_fail"
	ETLSIntercepted      = "tls_intercepted"
	ETLSUntrusted        = "tls_untrusted"
	ETLSWrongName        = "tls_wrong_name"
	ETLSTime             = "tls_time"
	EProxyPathFail       = "proxy_path_fail"
	EIPv6Fail            = "ipv6_fail"
	// Browser.
	EBrowserBlocked = "browser_blocked"
	// Computer.
	EStaleData  = "stale_data"
	ELargeCache = "large_cache"
	EOutdated   = "outdated"
	ELongUptime = "long_uptime"
	// Others.
	ECrowdNormal   = "crowd_normal"
	ECrowdElevated = "crowd_elevated"
	ECrowdOutage   = "crowd_outage"
)

// Derived lists, per layer, every symbol its rule may set.
var Derived = map[string][]string{
	LayerLink:     {ELinkDown, ENoRoute, EOnWiFi, EWiFiGood, EWiFiFair, EWiFiWeak, EWiFiVeryWeak},
	LayerRouter:   {EGatewayFail, ERouterSlow},
	LayerDNS:      {EDNSSystemFail, EDNSUnreliable, EDNSBlockedName, EDNSRedirected, EDNSBogon, EDNSTrustedFail, ENXHijack, ETrustedPathOK},
	LayerInternet: {EInternetDown, EControlsFail, EPeersFail, EPortal, EProxySet, EVPNOn, EClockSkewed, EClockOffDays, ELatencyNormal, ELatencyHigh, ELatencyVeryHigh, EJitterLow, EJitterSome, EJitterHigh, ELossNone, ELossSome, ELossHeavy},
	LayerSpeed:    {EThroughputOK, EThroughputBelowHD, EThroughputBelowSD, EVideoFail, EBufferbloat, EVideoPathSlow},
	LayerService:  {EServiceTCPFail, EServiceRefused, EService5xx, EServiceBlockpage, EFilterBlockpage, EServiceSlow, EServiceAcceptSlow, EServiceExchangeFail, ETLSIntercepted, ETLSUntrusted, ETLSWrongName, ETLSTime, EProxyPathFail, EIPv6Fail},
	LayerBrowser:  {EBrowserBlocked},
	LayerComputer: {EStaleData, ELargeCache, EOutdated, ELongUptime},
	LayerOthers:   {ECrowdNormal, ECrowdElevated, ECrowdOutage},
}

// Answered are the symbols a person's answers give (the knowledge base
// words them as questions).
var Answered = []string{"private_window_works", "other_devices_work", "mobile_data_works"}

// EvidenceIDs are every symbol the engine may be given: the layers' and
// the answers', in layer order.
func EvidenceIDs() []string {
	var out []string
	for _, l := range Layers {
		out = append(out, Derived[l.ID]...)
	}
	return append(out, Answered...)
}

// IsEvidence says whether id is a symbol the rules derive or an answer gives.
func IsEvidence(id string) bool { return slices.Contains(EvidenceIDs(), id) }
