// Package evidence turns probe observations and a person's answers into the
// binary evidence symbols of the knowledge base. It is the one bridge between
// what was measured (probe) and what the engine reasons about, so the engine
// never sees a probe and probes never decide causes.
//
// A symbol is set only when the probes that decide it ran; otherwise it stays
// unknown and the engine ignores it.
package evidence

import (
	"fmt"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// Answers are a person's answers to the questions: evidence id -> yes|no|unknown.
type Answers map[string]string

// ParseAnswer normalises yes/no/unknown.
func ParseAnswer(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true":
		return "yes", nil
	case "no", "n", "false":
		return "no", nil
	case "unknown", "", "?":
		return "unknown", nil
	}
	return "", fmt.Errorf("answer %q must be yes, no or unknown", s)
}

type view struct {
	by map[string][]probe.Observation
}

func (v view) ran(p string) []probe.Observation {
	var out []probe.Observation
	for _, o := range v.by[p] {
		if o.Status != probe.NotRun {
			out = append(out, o)
		}
	}
	return out
}

func has(obs []probe.Observation, failures ...string) bool {
	for _, o := range obs {
		for _, f := range failures {
			if o.Status == probe.Problem && o.Failure == f {
				return true
			}
		}
	}
	return false
}

func count(obs []probe.Observation, pred func(probe.Observation) bool) int {
	n := 0
	for _, o := range obs {
		if pred(o) {
			n++
		}
	}
	return n
}

func problem(o probe.Observation) bool { return o.Status == probe.Problem }

// majority: more than half of the observations satisfy pred.
func majority(obs []probe.Observation, pred func(probe.Observation) bool) bool {
	return len(obs) > 0 && 2*count(obs, pred) > len(obs)
}

// connectFailures are the failures that mean "could not reach it".
var connectFailures = map[string]bool{
	probe.FTimeout: true, probe.FRefused: true, probe.FReset: true, probe.FNetUnreachable: true,
	probe.FHostUnreachable: true, probe.FEOF: true, probe.FUnknown: true,
}

// Derive builds the evidence from observations and answers.
func Derive(obs []probe.Observation, ans Answers) engine.Evidence {
	v := view{by: map[string][]probe.Observation{}}
	for _, o := range obs {
		v.by[o.Probe] = append(v.by[o.Probe], o)
	}
	ev := engine.Evidence{}
	set := func(id string, known, val bool) {
		if known {
			ev[id] = val
		}
	}

	link := v.ran(probe.PLink)
	// An interface that is up with no route out (DHCP got no answer) is the
	// router's failure as the user sees it; it counts under gateway_fail.
	set("link_down", len(link) > 0, has(link, probe.FNoLink))

	// Wi-Fi: wired is a known "no"; a not-run Wi-Fi probe for another reason is unknown.
	wifi := v.by[probe.PWiFi]
	if len(wifi) > 0 {
		w := wifi[0]
		switch {
		case w.Status != probe.NotRun:
			ev["on_wifi"] = true
			ev["wifi_weak"] = w.Failure == probe.FWeakSignal
		case w.Failure == probe.FWired:
			ev["on_wifi"] = false
		}
	}

	gw := v.ran(probe.PGateway)
	set("gateway_fail", len(gw) > 0, count(gw, problem) > 0 || has(link, probe.FNoRoute))

	sys := v.ran(probe.PDNSSystem)
	sysFail := func(o probe.Observation) bool { return problem(o) && o.Failure != probe.FBogonAnswer }
	set("dns_system_fail", len(sys) > 0, majority(sys, sysFail))
	set("dns_bogon", len(sys) > 0, has(sys, probe.FBogonAnswer))

	trustedOK := map[string]bool{}
	doh, pub := v.ran(probe.PDNSDoH), v.ran(probe.PDNSPublic)
	for _, o := range append(append([]probe.Observation{}, doh...), pub...) {
		if o.Status == probe.OK {
			trustedOK[o.Target] = true
		}
	}
	if len(doh)+len(pub) > 0 {
		hosts := map[string]bool{}
		for _, o := range append(append([]probe.Observation{}, doh...), pub...) {
			hosts[o.Target] = true
		}
		failed := 0
		for h := range hosts {
			if !trustedOK[h] {
				failed++
			}
		}
		ev["dns_trusted_fail"] = 2*failed > len(hosts)
	}
	if len(sys) > 0 && len(trustedOK) > 0 {
		ev["dns_blocked_name"] = count(sys, func(o probe.Observation) bool {
			return problem(o) && (o.Failure == probe.FNXDomain || o.Failure == probe.FNoAnswer) && trustedOK[o.Target]
		}) > 0
	}
	hj := v.ran(probe.PDNSHijack)
	set("nx_hijack", len(hj) > 0, has(hj, probe.FNXHijack))

	tcp := v.ran(probe.PTCPService)
	tcpFail := func(o probe.Observation) bool { return problem(o) && connectFailures[o.Failure] }
	set("service_tcp_fail", len(tcp) > 0, majority(tcp, tcpFail))
	set("service_refused", len(tcp) > 0, majority(tcp, func(o probe.Observation) bool { return o.Failure == probe.FRefused }))
	tcpOK := map[string]bool{}
	for _, o := range tcp {
		if o.Status == probe.OK {
			tcpOK[strings.TrimSuffix(o.Target, ":443")] = true
		}
	}

	https := v.ran(probe.PHTTPSService)
	if len(https) > 0 {
		ev["service_5xx"] = has(https, probe.FHTTP503, probe.FHTTP5xx)
		ev["service_blockpage"] = has(https, probe.FBlockProxy)
		ev["filter_blockpage"] = has(https, probe.FBlockFilter)
		ev["service_slow"] = has(https, probe.FSlow)
	}

	tls := v.ran(probe.PTLSService)
	if len(tls) > 0 {
		ev["tls_intercepted"] = has(tls, probe.FIntercepted)
		ev["tls_untrusted"] = has(tls, probe.FUnknownCA, probe.FHostname)
		ev["tls_time"] = has(tls, probe.FCertTime)
		// Opened at the TCP level, then broke or stalled in the handshake.
		ev["service_exchange_fail"] = count(tls, func(o probe.Observation) bool {
			return problem(o) && (connectFailures[o.Failure] || o.Failure == probe.FTLSFailed)
		}) > 0
	}
	if len(https) > 0 && len(tcpOK) > 0 {
		if count(https, func(o probe.Observation) bool {
			h := profile.HostOf(o.Target)
			return problem(o) && tcpOK[h] && (o.Failure == probe.FTimeout || o.Failure == probe.FReset || o.Failure == probe.FEOF)
		}) > 0 {
			ev["service_exchange_fail"] = true
		}
	}

	ck := v.ran(probe.PClock)
	set("clock_skewed", len(ck) > 0, has(ck, probe.FClockSkew))

	ctl := v.ran(probe.PHTTPSControl)
	set("controls_fail", len(ctl) > 0, len(ctl) > 0 && count(ctl, problem) == len(ctl))

	portal := v.ran(probe.PPortal)
	nm := v.ran(probe.PConnectivity)
	if len(portal) > 0 || len(nm) > 0 {
		ev["portal"] = has(portal, probe.FPortal) || has(nm, probe.FPortal)
	}

	px := v.ran(probe.PProxy)
	set("proxy_set", len(px) > 0, has(px, probe.FProxy))
	pxp := v.ran(probe.PHTTPSProxy)
	set("proxy_path_fail", len(pxp) > 0, count(pxp, problem) > 0)

	vpn := v.ran(probe.PVPN)
	set("vpn_on", len(vpn) > 0, has(vpn, probe.FVPN))

	// IPv6 counts only where IPv4 works: otherwise everything is down.
	t6 := v.ran(probe.PTCP6Service)
	if len(t6) > 0 && len(tcp) > 0 && !majority(tcp, tcpFail) {
		ev["ipv6_fail"] = majority(t6, tcpFail)
	}

	lat, jit, loss := v.ran(probe.PLatency), v.ran(probe.PJitter), v.ran(probe.PLoss)
	// Known only when round trips were measured (not when every connect failed).
	highLat := has(lat, probe.FHighLatency)
	set("high_latency", highLat || len(lat) > 0 && lat[0].Status == probe.OK, highLat)
	set("high_jitter", len(jit) > 0, has(jit, probe.FHighJitter))
	set("loss", len(loss) > 0, has(loss, probe.FLoss))

	tp, lr := v.ran(probe.PThroughput), v.ran(probe.PLoadedRTT)
	set("low_throughput", len(tp) > 0, has(tp, probe.FLowThroughput))
	set("bufferbloat", len(lr) > 0, has(lr, probe.FBufferbloat))

	bd := v.ran(probe.PBrowserData)
	set("stale_data", len(bd) > 0, has(bd, probe.FStaleData))
	bc := v.ran(probe.PBrowserCache)
	set("large_cache", len(bc) > 0, has(bc, probe.FLargeCache))
	bv := v.ran(probe.PBrowserVer)
	set("outdated", len(bv) > 0, has(bv, probe.FOutdated))
	up := v.ran(probe.PUptime)
	set("long_uptime", len(up) > 0, has(up, probe.FLongUptime))

	for id, a := range ans {
		switch a {
		case "yes":
			ev[id] = true
		case "no":
			ev[id] = false
		}
	}
	return ev
}
