// Package evidence turns probe observations and a person's answers into the
// binary evidence symbols of the knowledge base. It is the one bridge between
// what was measured (probe) and what the engine reasons about, so the engine
// never sees a probe and probes never decide causes.
//
// A symbol is set only when the probes that decide it ran; otherwise it stays
// unknown and the engine ignores it. Two rules keep correlated symptoms from
// being counted twice (internal/engine/doc.go has the model): a failure is
// charged to the first layer that failed (link, router, internet, resolver,
// service), the failures beyond it left unknown; and a graded measurement
// (signal, latency, jitter, loss, throughput) sets exactly one band.
package evidence

import (
	"fmt"
	"math"
	"net"
	"slices"
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

// connectFailure: could not reach it (an error nobody could classify
// counts too).
func connectFailure(code string) bool { return probe.Unreachable(code) || code == probe.FUnknown }

// Graded measurements: exactly one band of each is set present and the
// others are left unknown, so the engine multiplies P(band | cause) once:
// the bands of one measurement are one categorical symptom, not several.
var (
	// Wi-Fi signal (dBm): -67 is the floor vendors give for video, -75 where
	// rates drop to a few Mbps, -85 where frames are lost outright.
	SignalBands = []Band{{-67, "wifi_signal_good"}, {-75, "wifi_signal_fair"}, {-85, "wifi_signal_weak"}, {math.Inf(-1), "wifi_signal_very_weak"}}
	// Round trip (ms), upper bounds: under 100 is ordinary, to 300 is far or
	// queued, beyond is a satellite hop, a detour or a path in trouble.
	LatencyBands = []Band{{100, "latency_normal"}, {300, "latency_high"}, {math.Inf(1), "latency_very_high"}}
	// Jitter (ms, median consecutive difference), upper bounds.
	JitterBands = []Band{{10, "jitter_low"}, {25, "jitter_some"}, {math.Inf(1), "jitter_high"}}
	// Lost connects (%), upper bounds: none, some (one in 16 is bad luck on
	// a good line), heavy.
	LossBands = []Band{{0.5, "loss_none"}, {probe.LossPct, "loss_some"}, {math.Inf(1), "loss_heavy"}}
)

// ThroughputBands are the grades of the quick throughput sample, judged
// against the profile's needs by the probe.
var ThroughputBands = []string{"throughput_ok", "throughput_below_hd", "throughput_below_sd"}

// Band is one grade of a measurement: for signal bands the value must be at
// least Edge; for the others below it.
type Band struct {
	Edge float64
	ID   string
}

func bandAtLeast(bands []Band, v float64) string {
	for _, b := range bands {
		if v >= b.Edge {
			return b.ID
		}
	}
	return bands[len(bands)-1].ID
}

func bandBelow(bands []Band, v float64) string {
	for _, b := range bands {
		if v < b.Edge {
			return b.ID
		}
	}
	return bands[len(bands)-1].ID
}

// notDNS drops observations whose failure was a name lookup: those are
// charged to the resolver, and say nothing about the service or the site.
func notDNS(obs []probe.Observation) []probe.Observation {
	var out []probe.Observation
	for _, o := range obs {
		if !probe.IsDNSFailure(o.Failure) {
			out = append(out, o)
		}
	}
	return out
}

// explanations say, nearest break first, which failures a present symptom
// already explains: those are left unknown instead of multiplied (successes
// are kept: they contradict the break and must count). The first five are
// the layers — link, router, internet, resolver filter, resolver — so a
// failure is charged to the first layer that failed; the rest charge
// failures to a path that is too long, a line that loses, a clock days off.
// Each rule sees what the earlier ones left.
var explanations = []struct {
	when, explains []string
	// line: nothing past this break was measured at all, so its grades of
	// line quality are this break's failure too.
	line bool
}{
	{[]string{"link_down"}, []string{"gateway_fail", "internet_down", "dns_system_fail", "dns_trusted_fail", "controls_fail", "service_tcp_fail",
		"service_refused", "service_exchange_fail", "ipv6_fail", "dns_blocked_name", "portal", "proxy_path_fail", "router_slow", "dns_unreliable"}, true},
	{[]string{"gateway_fail"}, []string{"internet_down", "dns_system_fail", "dns_trusted_fail", "controls_fail", "service_tcp_fail",
		"service_refused", "service_exchange_fail", "ipv6_fail", "dns_blocked_name", "portal", "proxy_path_fail", "dns_unreliable"}, true},
	{[]string{"internet_down"}, []string{"dns_system_fail", "dns_trusted_fail", "controls_fail", "service_tcp_fail", "service_exchange_fail", "ipv6_fail", "proxy_path_fail"}, false},
	{[]string{"dns_blocked_name"}, []string{"dns_system_fail"}, false},
	{[]string{"dns_system_fail"}, []string{"controls_fail"}, false},
	// Over 300 ms a round trip, a handshake and a request take most of a
	// probe's budget: exchanges that ran out of time are the path's.
	{[]string{"latency_very_high"}, []string{"service_exchange_fail", "controls_fail", "service_slow"}, false},
	// A lossy line explains a failed transfer from the video servers.
	{[]string{"loss_heavy", "loss_some"}, []string{"video_fail"}, false},
	// Expired-looking certificates, and sites failing on them, are what a
	// clock days off predicts.
	{[]string{"clock_off_days"}, []string{"tls_time", "controls_fail", "service_exchange_fail"}, false},
}

// screen applies the explanations to ev.
func screen(ev engine.Evidence) {
	for _, x := range explanations {
		if !slices.ContainsFunc(x.when, func(id string) bool { return ev[id] }) {
			continue
		}
		for _, id := range x.explains {
			if ev[id] {
				delete(ev, id)
			}
		}
		if x.line {
			for _, bands := range [][]Band{LatencyBands, JitterBands, LossBands} {
				for _, b := range bands {
					delete(ev, b.ID)
				}
			}
			for _, id := range ThroughputBands {
				delete(ev, id)
			}
		}
	}
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

	// Wi-Fi: wired (or no Wi-Fi adapter) is a known "no"; a not-run Wi-Fi
	// probe for another reason is unknown.
	wifi := v.by[probe.PWiFi]
	if len(wifi) > 0 {
		w := wifi[0]
		switch {
		case w.Status != probe.NotRun:
			ev["on_wifi"] = true
			ev[bandAtLeast(SignalBands, w.Value)] = true
		case w.Failure == probe.FWired:
			ev["on_wifi"] = false
		}
	}

	gw := v.ran(probe.PGateway)
	set("gateway_fail", len(gw) > 0, count(gw, problem) > 0 || has(link, probe.FNoRoute))
	if len(gw) > 0 && gw[0].Status == probe.OK {
		// A router one hop away answers within a few milliseconds; a slow
		// answer means the local link itself is struggling.
		ev["router_slow"] = gw[0].Value > RouterSlowMS
	}

	sys := v.ran(probe.PDNSSystem)
	sysFail := func(o probe.Observation) bool { return problem(o) && o.Failure != probe.FBogonAnswer }
	set("dns_system_fail", len(sys) > 0, majority(sys, sysFail))
	set("dns_bogon", len(sys) > 0, has(sys, probe.FBogonAnswer))
	// The resolver answered, but late or only to a resent query (over every
	// query it answered during the check): one that drops or queues queries.
	if rs := v.ran(probe.PDNSResolver); len(rs) > 0 {
		ev["dns_unreliable"] = rs[0].Retries > 0 || rs[0].Value > DNSSlowMS
	}

	doh, pub := v.ran(probe.PDNSDoH), v.ran(probe.PDNSPublic)
	trusted := append(append([]probe.Observation{}, doh...), pub...)
	trustedOK := map[string]bool{}
	trustedAddrs := map[string]map[string]bool{}
	for _, o := range trusted {
		if o.Status == probe.OK {
			trustedOK[o.Target] = true
			if trustedAddrs[o.Target] == nil {
				trustedAddrs[o.Target] = map[string]bool{}
			}
			for _, a := range o.Addrs {
				trustedAddrs[o.Target][a] = true
			}
		}
	}
	if len(trusted) > 0 {
		hosts := map[string]bool{}
		for _, o := range trusted {
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

	ctl := v.ran(probe.PHTTPSControl)
	// Control sites that failed for want of a name are charged to the
	// resolver by the explanations (dns_system_fail explains controls_fail).
	set("controls_fail", len(ctl) > 0, len(ctl) > 0 && count(ctl, problem) == len(ctl))
	controlsUp := count(ctl, func(o probe.Observation) bool { return o.Status == probe.OK }) > 0

	hj := v.ran(probe.PDNSHijack)
	set("nx_hijack", len(hj) > 0, has(hj, probe.FNXHijack))
	// The resolver works for other names: a control site resolved, or it
	// answered the made-up name honestly.
	resolverWorks := controlsUp || count(hj, func(o probe.Observation) bool { return o.Status == probe.OK }) > 0
	if len(sys) > 0 && len(trustedOK) > 0 {
		// "No such name" only for the service, from a resolver that answers
		// other names: a filter, not a broken resolver.
		ev["dns_blocked_name"] = resolverWorks && count(sys, func(o probe.Observation) bool {
			return problem(o) && (o.Failure == probe.FNXDomain || o.Failure == probe.FNoAnswer) && trustedOK[o.Target]
		}) > 0
		// Both answered, with public addresses, and they share none for at
		// least one of the service's names: the system resolver sends that
		// name somewhere else (or a content network answered the two
		// differently, which the KB's base rate allows for).
		compared, differ := 0, 0
		for _, o := range sys {
			if o.Status != probe.OK || trustedAddrs[o.Target] == nil {
				continue
			}
			compared++
			shared := false
			for _, a := range o.Addrs {
				shared = shared || trustedAddrs[o.Target][a]
			}
			if !shared {
				differ++
			}
		}
		if compared > 0 {
			ev["dns_redirected"] = differ > 0
		}
	}

	tcp := v.ran(probe.PTCPService)
	// Internet layer: the resolvers outside the home (reached by address)
	// fail, no site was reached and no connection to the service opened.
	// One broken uplink, one symptom: the local resolver's failures and the
	// sites' are what it predicts.
	// It is set only when present: when absent, its parts (trusted DNS,
	// sites, service) are observed one by one and already say so.
	if ev["dns_trusted_fail"] && ev["controls_fail"] &&
		count(tcp, func(o probe.Observation) bool { return o.Status == probe.OK }) == 0 {
		ev["internet_down"] = true
	}

	tcpFail := func(o probe.Observation) bool { return problem(o) && connectFailure(o.Failure) }
	set("service_tcp_fail", len(tcp) > 0, majority(tcp, tcpFail))
	set("service_refused", len(tcp) > 0, majority(tcp, func(o probe.Observation) bool { return o.Failure == probe.FRefused }))
	tcpOK := map[string]bool{}
	for _, o := range tcp {
		if o.Status == probe.OK {
			tcpOK[strings.TrimSuffix(o.Target, ":443")] = true
		}
	}

	https := notDNS(v.ran(probe.PHTTPSService))
	if len(https) > 0 {
		ev["service_5xx"] = has(https, probe.FHTTP503, probe.FHTTP5xx)
		ev["service_blockpage"] = has(https, probe.FBlockProxy)
		ev["filter_blockpage"] = has(https, probe.FBlockFilter)
		// Slow beyond what the path's round trip explains: a first byte
		// takes about four round trips (DNS, TCP, TLS, HTTP), so a long path
		// is charged to the latency grade, not to the service.
		pathMS := 0.0
		if l := v.ran(probe.PLatency); len(l) > 0 && l[0].Value > 0 {
			pathMS = l[0].Value
		}
		ev["service_slow"] = count(https, func(o probe.Observation) bool {
			return o.Failure == probe.FSlow && o.Value > 5*pathMS+1000
		}) > 0
	}

	tls := v.ran(probe.PTLSService)
	lateAccept := false
	if len(tls) > 0 {
		ev["tls_intercepted"] = has(tls, probe.FIntercepted)
		ev["tls_untrusted"] = has(tls, probe.FUnknownCA)
		// Go checks the chain before the name, so a name mismatch comes with
		// a valid chain: a real server, misrouted or misconfigured.
		ev["tls_wrong_name"] = has(tls, probe.FHostname)
		ev["tls_time"] = has(tls, probe.FCertTime)
		// Opened at the TCP level, then broke or stalled in the handshake.
		ev["service_exchange_fail"] = count(tls, func(o probe.Observation) bool {
			return problem(o) && (connectFailure(o.Failure) || o.Failure == probe.FTLSFailed)
		}) > 0
	}
	if len(https) > 0 && len(tcpOK) > 0 {
		if count(https, func(o probe.Observation) bool {
			h := profile.HostOf(o.Target)
			return problem(o) && tcpOK[h] && (o.Failure == probe.FTimeout || o.Failure == probe.FReset || o.Failure == probe.FEOF || o.Failure == probe.FTLSFailed)
		}) > 0 {
			ev["service_exchange_fail"] = true
		}
	}

	// A service slow to accept: its connects take far longer than the TLS
	// exchange that follows on the same path (which costs a round trip or
	// two), so the time went into the server's accept queue, not the path.
	// That is an overloaded front end, and the round trips the latency probe
	// timed to it are its queue, not the line's, so their grades are left
	// unknown.
	if len(tcp) > 0 && len(tls) > 0 {
		lateAccept = acceptSlow(tcp, tls, v.ran(probe.PLatency))
		ev["service_accept_slow"] = lateAccept
	}

	ck := v.ran(probe.PClock)
	if len(ck) > 0 {
		off := math.Abs(ck[0].Value)
		ev["clock_skewed"] = has(ck, probe.FClockSkew)
		if ev["clock_skewed"] {
			// Graded: a day or more breaks certificates; less only breaks
			// signed tokens and licences.
			ev["clock_off_days"] = off >= 86400
		}
	}

	portal := v.ran(probe.PPortal)
	nm := v.ran(probe.PConnectivity)
	// Known only from an answer: a check URL that could not be fetched at
	// all says nothing about a portal either way.
	answered := count(portal, func(o probe.Observation) bool {
		return o.Status == probe.OK || o.Failure == probe.FPortal || o.Failure == probe.FBlockFilter
	})
	if answered > 0 || len(nm) > 0 {
		ev["portal"] = has(portal, probe.FPortal) || has(nm, probe.FPortal)
	}

	px := v.ran(probe.PProxy)
	set("proxy_set", len(px) > 0, has(px, probe.FProxy))
	pxp := notDNS(v.ran(probe.PHTTPSProxy))
	set("proxy_path_fail", len(pxp) > 0, count(pxp, problem) > 0)

	vpn := v.ran(probe.PVPN)
	set("vpn_on", len(vpn) > 0, has(vpn, probe.FVPN))

	// IPv6 counts only where IPv4 works: otherwise everything is down.
	t6 := v.ran(probe.PTCP6Service)
	if len(t6) > 0 && len(tcp) > 0 && !majority(tcp, tcpFail) {
		ev["ipv6_fail"] = majority(t6, tcpFail)
	}

	lat, jit, loss := v.ran(probe.PLatency), v.ran(probe.PJitter), v.ran(probe.PLoss)
	// Known only when round trips were measured (not when every connect
	// failed), and were the path's (not a slow accept's).
	if len(lat) > 0 && (lat[0].Status == probe.OK || lat[0].Failure == probe.FHighLatency) && !lateAccept {
		ev[bandBelow(LatencyBands, lat[0].Value)] = true
	}
	if len(jit) > 0 && !lateAccept {
		ev[bandBelow(JitterBands, jit[0].Value)] = true
	}
	if len(loss) > 0 {
		ev[bandBelow(LossBands, loss[0].Value)] = true
	}

	tp, lr := v.ran(probe.PThroughput), v.ran(probe.PLoadedRTT)
	// The video servers fail while the service's own site answers: the
	// player loads and nothing plays.
	if len(tp) > 0 && len(https) > 0 {
		ev["video_fail"] = has(tp, probe.FVideoUnreachable) && count(https, func(o probe.Observation) bool { return o.Status == probe.OK }) > 0
	}
	if len(tp) > 0 && !has(tp, probe.FVideoUnreachable) {
		switch {
		case has(tp, probe.FBelowSD):
			ev["throughput_below_sd"] = true
		case has(tp, probe.FLowThroughput):
			ev["throughput_below_hd"] = true
		default:
			ev["throughput_ok"] = true
		}
	}
	set("bufferbloat", len(lr) > 0, has(lr, probe.FBufferbloat))

	bd := v.ran(probe.PBrowserData)
	set("stale_data", len(bd) > 0, has(bd, probe.FStaleData))
	bc := v.ran(probe.PBrowserCache)
	set("large_cache", len(bc) > 0, has(bc, probe.FLargeCache))
	bv := v.ran(probe.PBrowserVer)
	set("outdated", len(bv) > 0, has(bv, probe.FOutdated))
	up := v.ran(probe.PUptime)
	set("long_uptime", len(up) > 0, has(up, probe.FLongUptime))

	// The viewer's browser, from the web page: it counts only where this
	// computer's own requests got answers from the service, so a failure the
	// network already explains is not counted twice. Then a browser that
	// cannot reach the hosts points inside the browser (an extension, its own
	// proxy or secure-DNS setting) or at a proxy the browser follows.
	if br := v.ran(probe.PBrowser); len(br) > 0 && BrowserCounts(obs) {
		ev["browser_blocked"] = majority(br, problem)
	}

	// The crowd outage service's answer: the one vantage point outside this
	// network (unknown when no server is set or it did not answer).
	if cr := v.ran(probe.PCrowd); len(cr) > 0 {
		switch {
		case has(cr, probe.FCrowdOutage):
			ev["crowd_outage"] = true
		case has(cr, probe.FCrowdElevated):
			ev["crowd_elevated"] = true
		default:
			ev["crowd_normal"] = true
		}
	}

	screen(ev)

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

// AcceptSlowMS: a connect this much longer than the TLS exchange after it
// (and over three times as long) waited in the server's accept queue.
const AcceptSlowMS = 500.0

// acceptSlow: for most of the service's hosts that connected and shook
// hands, the connect took far longer than the handshake after it, and so
// did the latency probe's typical connect (a lost SYN, on a lossy line,
// delays some connects; a full accept queue delays every one).
func acceptSlow(tcp, tls, lat []probe.Observation) bool {
	if len(lat) == 0 || lat[0].Status == probe.NotRun {
		return false
	}
	connect := map[string]float64{}
	for _, o := range tcp {
		if h, _, err := net.SplitHostPort(o.Target); err == nil && o.Status == probe.OK {
			connect[h] = o.Value
		}
	}
	n, slow := 0, 0
	for _, o := range tls {
		c, ok := connect[o.Target]
		if !ok || o.Status != probe.OK || o.Value <= 0 {
			continue
		}
		n++
		hs := max(o.Value-c, 0) // the TLS exchange, on a connection of its own that connected as long
		if c > 3*hs+AcceptSlowMS && lat[0].Value > 3*hs+AcceptSlowMS {
			slow++
		}
	}
	return n > 0 && 2*slow > n
}

// BrowserCounts reports whether the browser's requests are evidence given
// the probes' observations: only where this computer got an HTTP answer from
// the service (otherwise the failure that stopped it explains the browser's).
func BrowserCounts(obs []probe.Observation) bool {
	for _, o := range obs {
		if o.Probe == probe.PHTTPSService && !probe.IsDNSFailure(o.Failure) && gotAnswer(o) {
			return true
		}
	}
	return false
}

// gotAnswer: the service's server sent an HTTP answer, whatever it said.
func gotAnswer(o probe.Observation) bool {
	switch o.Failure {
	case "", probe.FHTTP503, probe.FHTTP5xx, probe.FHTTP4xx, probe.FBlockProxy, probe.FBlockFilter, probe.FSlow:
		return o.Status != probe.NotRun
	}
	return false
}

// DNSSlowMS: a resolver's answer later than this is slow: recursive
// lookups take tens to a few hundred milliseconds.
const DNSSlowMS = 400.0

// RouterSlowMS: the router is one hop away; a connect to it slower than
// this means the local link retries or queues.
const RouterSlowMS = 60.0
