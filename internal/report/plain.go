package report

import (
	"fmt"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// What each probe looks at, and what each failure means, in the words a
// viewer reads; the ids stay in the details and the JSON.
var (
	plainProbe = map[string]string{
		probe.PLink: "the connection", probe.PWiFi: "Wi-Fi", probe.PGateway: "the router", probe.PConnectivity: "the network settings",
		probe.PDNSSystem: "your network's name lookup", probe.PDNSDoH: "a public name lookup", probe.PDNSPublic: "a public name lookup",
		probe.PDNSHijack: "name lookup of a name that does not exist", probe.PDNSResolver: "name lookup",
		probe.PTCPService: "connecting to %s", probe.PTCP6Service: "connecting to %s over IPv6", probe.PTLSService: "the secure connection to %s",
		probe.PHTTPSService: "%s's pages", probe.PHTTPSProxy: "%s through the proxy", probe.PHTTPSControl: "other websites",
		probe.PPortal: "the sign-in page check", probe.PProxy: "a proxy", probe.PVPN: "a VPN", probe.PClock: "this computer's clock",
		probe.PLatency: "round trips", probe.PJitter: "steadiness", probe.PLoss: "lost connections",
		probe.PThroughput: "the speed", probe.PLoadedRTT: "delay while busy", probe.PBrowserData: "the browser's saved data",
		probe.PBrowserVer: "the browser's version", probe.PBrowserCache: "the browser's cache", probe.PUptime: "time since restart",
		probe.PCrowd: "other viewers", probe.PBrowser: "your browser reaching %s",
	}
	plainFailure = map[string]string{
		probe.FTimeout: "no answer", probe.FRefused: "refused", probe.FReset: "cut off", probe.FNetUnreachable: "no route",
		probe.FHostUnreachable: "unreachable", probe.FEOF: "closed early", probe.FNXDomain: "says the name does not exist",
		probe.FServFail: "fails", probe.FDNSRefused: "refuses to answer", probe.FNoAnswer: "gives no address",
		probe.FBogonAnswer: "gives a private address", probe.FNXHijack: "answers names that do not exist", probe.FUnknownCA: "certificate not trusted",
		probe.FIntercepted: "re-signed by software on this computer or network", probe.FCertTime: "certificate out of date",
		probe.FHostname: "certificate for another name", probe.FTLSFailed: "failed", probe.FHTTP503: "overloaded (503)",
		probe.FHTTP5xx: "server error", probe.FHTTP4xx: "refused the request", probe.FBlockProxy: "a \"VPN or proxy detected\" page",
		probe.FBlockFilter: "a block page", probe.FPortal: "a sign-in page is in the way", probe.FSlow: "very slow",
		probe.FProxy: "is set", probe.FVPN: "is on", probe.FNoLink: "no network", probe.FNoRoute: "no route out",
		probe.FWeakSignal: "weak signal", probe.FClockSkew: "wrong", probe.FStaleData: "old or damaged cookies",
		probe.FLargeCache: "very large", probe.FOutdated: "out of date", probe.FLongUptime: "a long time",
		probe.FHighLatency: "very long", probe.FHighJitter: "swinging", probe.FLoss: "many",
		probe.FLowThroughput: "too slow for HD", probe.FBelowSD: "too slow even for SD", probe.FVideoUnreachable: "the video servers do not answer",
		probe.FBufferbloat: "grows a lot", probe.FCrowdElevated: "more reports than usual", probe.FCrowdOutage: "many report it down",
		probe.FDNSTimeout: "name lookup got no answer", probe.FNoResolver: "no name server is set", probe.FDNSUnreachable: "name server unreachable",
		probe.FProxyDenied: "the proxy refuses", probe.FProxyAuthRequired: "the proxy wants a password", probe.FProxyUpstream: "the proxy cannot reach it",
		probe.FBrowserBlocked: "failed before any answer", probe.FBrowserTimeout: "no answer",
		probe.FPanic: "could not be checked", probe.FUnknown: "did not work",
	}
)

// plainSummary says a layer's problems in plain words: what failed and how,
// with counts, no ids or raw errors.
func plainSummary(bad []probe.Observation, service string) string {
	return summarise(bad, 3, func(o probe.Observation) string {
		what := plainProbe[o.Probe]
		if what == "" {
			what = "a check"
		}
		if strings.Contains(what, "%s") {
			what = fmt.Sprintf(what, service)
		}
		how := plainFailure[o.Failure]
		if how == "" {
			how = "did not work"
		}
		return what + ": " + how
	}, func(key string, n int, _ probe.Observation) string {
		if n > 1 {
			return key + fmt.Sprintf(" (%d times)", n)
		}
		return key
	})
}

// plainOK says a passed measurement in plain words. Most details already
// are; the speed sample's name servers, streams and RPM are for help desks
// (they stay in the summary and under the details).
func plainOK(o probe.Observation) string {
	switch o.Probe {
	case probe.PThroughput:
		s := fmt.Sprintf("%s Mbps down", mbps(o.Value))
		if strings.HasPrefix(o.Detail, probe.AtLeast) {
			s = "at least " + s + ", enough for every quality"
		}
		return s
	case probe.PLoadedRTT:
		return fmt.Sprintf("%.0f ms delay while the line is busy", o.Value)
	}
	return o.Detail
}

// mbps writes a rate with the precision it deserves.
func mbps(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
