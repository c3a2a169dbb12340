package evidence

import (
	"math"
	"net"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// rules derive each layer's symbols (catalog.Derived lists them) from the
// observations of the probes in it. They run in the catalogue's layer order;
// a rule reads other layers' observations where a symptom needs them (the
// uplink is down only if no site and no service connect answered), and
// sets only its own layer's symbols.
var rules = map[string]func(view, symbols){
	catalog.LayerLink:     linkRule,
	catalog.LayerRouter:   routerRule,
	catalog.LayerDNS:      dnsRule,
	catalog.LayerInternet: internetRule,
	catalog.LayerSpeed:    speedRule,
	catalog.LayerService:  serviceRule,
	catalog.LayerBrowser:  browserRule,
	catalog.LayerComputer: computerRule,
	catalog.LayerOthers:   othersRule,
}

func linkRule(v view, ev symbols) {
	link := v.ran(catalog.PLink)
	// An interface that is up with no route out (DHCP got no answer) is the
	// router's failure as the user sees it; it counts under gateway_fail.
	ev.set(catalog.ELinkDown, len(link) > 0, has(link, catalog.FNoLink))
	// Up, with no default route: no lease, or a route lost.
	ev.set(catalog.ENoRoute, len(link) > 0 && !has(link, catalog.FNoLink), has(link, catalog.FNoRoute))
	// Wi-Fi: wired (or no Wi-Fi adapter) is a known "no"; a not-run Wi-Fi
	// probe for another reason is unknown.
	if wifi := v.by[catalog.PWiFi]; len(wifi) > 0 {
		switch w := wifi[0]; {
		case w.Status != probe.NotRun:
			ev[catalog.EOnWiFi] = true
			ev[catalog.BandAtLeast(catalog.SignalBands, w.Value)] = true
		case w.Failure == catalog.FWired:
			ev[catalog.EOnWiFi] = false
		}
	}
}

func routerRule(v view, ev symbols) {
	gw := v.ran(catalog.PGateway)
	ev.set(catalog.EGatewayFail, len(gw) > 0, count(gw, problem) > 0 || has(v.ran(catalog.PLink), catalog.FNoRoute))
	if len(gw) > 0 && gw[0].Status == probe.OK {
		// A router one hop away answers within a few milliseconds; a slow
		// answer means the local link itself is struggling.
		ev[catalog.ERouterSlow] = gw[0].Value > catalog.RouterSlowMS
	}
}

func dnsRule(v view, ev symbols) {
	sys := v.ran(catalog.PDNSSystem)
	sysFail := func(o probe.Observation) bool { return problem(o) && o.Failure != catalog.FBogonAnswer }
	ev.set(catalog.EDNSSystemFail, len(sys) > 0, majority(sys, sysFail))
	ev.set(catalog.EDNSBogon, len(sys) > 0, has(sys, catalog.FBogonAnswer))
	// The resolver answered, but late or only to a resent query (over every
	// query it answered during the check): one that drops or queues queries.
	if rs := v.ran(catalog.PDNSResolver); len(rs) > 0 {
		ev[catalog.EDNSUnreliable] = rs[0].Retries > 0 || rs[0].Value > catalog.DNSSlowMS
	}

	trusted := append(append([]probe.Observation{}, v.ran(catalog.PDNSDoH)...), v.ran(catalog.PDNSPublic)...)
	trustedOK := map[string]bool{}
	trustedAddrs := map[string]map[string]bool{}
	hosts := map[string]bool{}
	for _, o := range trusted {
		hosts[o.Target] = true
		if o.Status != probe.OK {
			continue
		}
		trustedOK[o.Target] = true
		if trustedAddrs[o.Target] == nil {
			trustedAddrs[o.Target] = map[string]bool{}
		}
		for _, a := range o.Addrs {
			trustedAddrs[o.Target][a] = true
		}
	}
	if len(trusted) > 0 {
		failed := 0
		for h := range hosts {
			if !trustedOK[h] {
				failed++
			}
		}
		ev[catalog.EDNSTrustedFail] = 2*failed > len(hosts)
	}

	hj := v.ran(catalog.PDNSHijack)
	ev.set(catalog.ENXHijack, len(hj) > 0, has(hj, catalog.FNXHijack))
	// The second opinion: where the system resolver's answer for a site
	// differed or failed, the real site answered at the trusted resolvers'
	// address (the portal check is judged on its own, below).
	var sites []probe.Observation
	for _, o := range v.ran(catalog.PTrusted) {
		if o.Target != portalURL(v) {
			sites = append(sites, o)
		}
	}
	ev.set(catalog.ETrustedPathOK, len(sites) > 0, majority(sites, ok))
	if len(sys) == 0 || len(trustedOK) == 0 {
		return
	}
	// The resolver works for other names: a control site's name resolved
	// (the site itself may still fail). A resolver that calls every name
	// missing answers the made-up one "honestly" too, so that is no sign.
	resolverWorks := count(v.ran(catalog.PHTTPSControl), func(o probe.Observation) bool { return !probe.IsDNSFailure(o.Failure) }) > 0
	// "No such name" only for the service, from a resolver that answers
	// other names: a filter, not a broken resolver.
	ev[catalog.EDNSBlockedName] = resolverWorks && count(sys, func(o probe.Observation) bool {
		return problem(o) && (o.Failure == catalog.FNXDomain || o.Failure == catalog.FNoAnswer) && trustedOK[o.Target]
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
		ev[catalog.EDNSRedirected] = differ > 0
	}
}

func internetRule(v view, ev symbols) {
	ctl := v.ran(catalog.PHTTPSControl)
	// Control sites that failed for want of a name are charged to the
	// resolver by the explanations (dns_system_fail explains controls_fail).
	ev.set(catalog.EControlsFail, len(ctl) > 0, len(ctl) > 0 && count(ctl, problem) == len(ctl))
	// The other streaming services: said only while other websites work,
	// where it tells a block of streaming (a category filter, a lapsed
	// Smart DNS that carried them all) from this one service failing; when
	// every site fails, controls_fail already says it, and once is enough.
	if peers := v.ran(catalog.PHTTPSPeers); len(peers) >= 2 && len(ctl) > 0 && count(ctl, problem) < len(ctl) {
		ev[catalog.EPeersFail] = count(peers, problem) == len(peers)
	}
	// The uplink: the resolvers outside the home (reached by address) fail,
	// no site was reached and no connection to the service opened. One
	// broken uplink, one symptom: the local resolver's failures and the
	// sites' are what it predicts. It is set only when present: when
	// absent, its parts (trusted DNS, sites, service) are observed one by
	// one and already say so.
	if ev[catalog.EDNSTrustedFail] && ev[catalog.EControlsFail] && count(v.ran(catalog.PTCPService), ok) == 0 {
		ev[catalog.EInternetDown] = true
	}

	// Known only from an answer: a check URL that could not be fetched at
	// all says nothing about a portal either way.
	portal, nm := v.ran(catalog.PPortal), v.ran(catalog.PConnectivity)
	answered := count(portal, func(o probe.Observation) bool {
		return o.Status == probe.OK || o.Failure == catalog.FPortal || o.Failure == catalog.FBlockFilter
	})
	if answered > 0 || len(nm) > 0 {
		ev[catalog.EPortal] = has(portal, catalog.FPortal) || has(nm, catalog.FPortal)
	}
	// The portal check's name, reached at the trusted resolvers' address,
	// answered 204: what answered instead was the resolver's choice of
	// server, not a sign-in page (a portal intercepts every address).
	for _, o := range v.ran(catalog.PTrusted) {
		if o.Target == portalURL(v) && o.Status == probe.OK && !has(nm, catalog.FPortal) {
			ev[catalog.EPortal] = false
		}
	}

	px := v.ran(catalog.PProxy)
	ev.set(catalog.EProxySet, len(px) > 0, has(px, catalog.FProxy))
	vpn := v.ran(catalog.PVPN)
	ev.set(catalog.EVPNOn, len(vpn) > 0, has(vpn, catalog.FVPN))

	if ck := v.ran(catalog.PClock); len(ck) > 0 {
		ev[catalog.EClockSkewed] = has(ck, catalog.FClockSkew)
		if ev[catalog.EClockSkewed] {
			// Graded: a day or more breaks certificates; less only breaks
			// signed tokens and licences.
			ev[catalog.EClockOffDays] = math.Abs(ck[0].Value) >= catalog.ClockOffDays
		}
	}

	// Line quality. Known only when round trips were measured (not when
	// every connect failed), and were the path's (not a slow accept's).
	lateAccept := acceptSlow(v)
	lat, jit, loss := v.ran(catalog.PLatency), v.ran(catalog.PJitter), v.ran(catalog.PLoss)
	if len(lat) > 0 && (lat[0].Status == probe.OK || lat[0].Failure == catalog.FHighLatency) && !lateAccept {
		ev[catalog.BandBelow(catalog.LatencyBands, lat[0].Value)] = true
	}
	if len(jit) > 0 && !lateAccept {
		ev[catalog.BandBelow(catalog.JitterBands, jit[0].Value)] = true
	}
	if len(loss) > 0 {
		ev[catalog.BandBelow(catalog.LossBands, loss[0].Value)] = true
	}
}

func speedRule(v view, ev symbols) {
	tp, lr := v.ran(catalog.PThroughput), v.ran(catalog.PLoadedRTT)
	// The video servers fail while the service's own site answers: the
	// player loads and nothing plays.
	if https := notDNS(v.ran(catalog.PHTTPSService)); len(tp) > 0 && len(https) > 0 {
		ev[catalog.EVideoFail] = has(tp, catalog.FVideoUnreachable) && count(https, ok) > 0
	}
	if len(tp) > 0 && !has(tp, catalog.FVideoUnreachable) {
		switch {
		case has(tp, catalog.FBelowSD):
			ev[catalog.EThroughputBelowSD] = true
		case has(tp, catalog.FLowThroughput):
			ev[catalog.EThroughputBelowHD] = true
		default:
			ev[catalog.EThroughputOK] = true
		}
	}
	ev.set(catalog.EBufferbloat, len(lr) > 0, has(lr, catalog.FBufferbloat))
	// The line is fast, the path to the service's video servers slow: a
	// neutral server carries HD and four times what they do.
	if ref := v.ran(catalog.PThroughputRef); len(ref) > 0 && len(tp) > 0 && has(tp, catalog.FBelowSD, catalog.FLowThroughput) {
		ev[catalog.EVideoPathSlow] = ref[0].Status == probe.OK && ref[0].Value >= 4*tp[0].Value
	}
}

// portalURL is the captive-portal check's address in this check.
func portalURL(v view) string {
	if p := v.by[catalog.PPortal]; len(p) > 0 {
		return p[0].Target
	}
	return ""
}

func serviceRule(v view, ev symbols) {
	tcp := v.ran(catalog.PTCPService)
	tcpFail := func(o probe.Observation) bool { return problem(o) && connectFailure(o.Failure) }
	ev.set(catalog.EServiceTCPFail, len(tcp) > 0, majority(tcp, tcpFail))
	ev.set(catalog.EServiceRefused, len(tcp) > 0, majority(tcp, func(o probe.Observation) bool { return o.Failure == catalog.FRefused }))
	tcpOK := map[string]bool{}
	for _, o := range tcp {
		if o.Status == probe.OK {
			tcpOK[strings.TrimSuffix(o.Target, ":443")] = true
		}
	}

	https := notDNS(v.ran(catalog.PHTTPSService))
	if len(https) > 0 {
		ev[catalog.EService5xx] = has(https, catalog.FHTTP503, catalog.FHTTP5xx)
		ev[catalog.EServiceBlockpage] = has(https, catalog.FBlockProxy)
		ev[catalog.EFilterBlockpage] = has(https, catalog.FBlockFilter)
		// Slow beyond what the path's round trip explains: a first byte
		// takes about four round trips (DNS, TCP, TLS, HTTP), so a long path
		// is charged to the latency grade, not to the service.
		pathMS := 0.0
		if l := v.ran(catalog.PLatency); len(l) > 0 && l[0].Value > 0 {
			pathMS = l[0].Value
		}
		ev[catalog.EServiceSlow] = count(https, func(o probe.Observation) bool {
			return o.Failure == catalog.FSlow && o.Value > 5*pathMS+1000
		}) > 0
	}

	tls := v.ran(catalog.PTLSService)
	if len(tls) > 0 {
		ev[catalog.ETLSIntercepted] = has(tls, catalog.FIntercepted)
		ev[catalog.ETLSUntrusted] = has(tls, catalog.FUnknownCA)
		// Go checks the chain before the name, so a name mismatch comes with
		// a valid chain: a real server, misrouted or misconfigured.
		ev[catalog.ETLSWrongName] = has(tls, catalog.FHostname)
		ev[catalog.ETLSTime] = has(tls, catalog.FCertTime)
		// Opened at the TCP level, then broke or stalled in the handshake.
		ev[catalog.EServiceExchangeFail] = count(tls, func(o probe.Observation) bool {
			return problem(o) && (connectFailure(o.Failure) || o.Failure == catalog.FTLSFailed)
		}) > 0
	}
	if len(https) > 0 && len(tcpOK) > 0 && count(https, func(o probe.Observation) bool {
		h := profile.HostOf(o.Target)
		return problem(o) && tcpOK[h] && (o.Failure == catalog.FTimeout || o.Failure == catalog.FReset || o.Failure == catalog.FEOF || o.Failure == catalog.FTLSFailed)
	}) > 0 {
		ev[catalog.EServiceExchangeFail] = true
	}
	if len(tcp) > 0 && len(tls) > 0 {
		ev[catalog.EServiceAcceptSlow] = acceptSlow(v)
	}

	pxp := notDNS(v.ran(catalog.PHTTPSProxy))
	ev.set(catalog.EProxyPathFail, len(pxp) > 0, count(pxp, problem) > 0)

	// IPv6 counts only where IPv4 works: otherwise everything is down.
	if t6 := v.ran(catalog.PTCP6Service); len(t6) > 0 && len(tcp) > 0 && !majority(tcp, tcpFail) {
		ev[catalog.EIPv6Fail] = majority(t6, tcpFail)
	}
}

// acceptSlow: a service slow to accept. For most of the service's hosts
// that connected and shook hands, the connect took far longer than the TLS
// exchange after it on the same path (which costs a round trip or two), and
// so did the latency probe's typical connect: the time went into the
// server's accept queue, not the path (a lost SYN, on a lossy line, delays
// some connects; a full accept queue delays every one). The round trips the
// latency probe timed to it are then its queue, not the line's.
func acceptSlow(v view) bool {
	tcp, tls, lat := v.ran(catalog.PTCPService), v.ran(catalog.PTLSService), v.ran(catalog.PLatency)
	if len(tcp) == 0 || len(tls) == 0 || len(lat) == 0 || lat[0].Status == probe.NotRun {
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
		c, found := connect[o.Target]
		if !found || o.Status != probe.OK || o.Value <= 0 {
			continue
		}
		n++
		hs := max(o.Value-c, 0) // the TLS exchange, on a connection of its own that connected as long
		// Twice the exchange and half a second more: the exchange costs a
		// round trip or two on the same path, and on a busy machine also
		// this process's own time, which a queue at the server's door does
		// not; so the margin is relative, not a multiple a busy CPU eats.
		limit := max(2*hs, hs+catalog.AcceptSlowMS)
		if c > limit && lat[0].Value > limit {
			slow++
		}
	}
	return n > 0 && 2*slow > n
}

func browserRule(v view, ev symbols) {
	// The viewer's browser, from the web page: it counts only where this
	// computer's own requests got answers from the service, so a failure the
	// network already explains is not counted twice. Then a browser that
	// cannot reach the hosts points inside the browser (an extension, its own
	// proxy or secure-DNS setting) or at a proxy the browser follows.
	if br := v.ran(catalog.PBrowser); len(br) > 0 && BrowserCounts(v.all) {
		ev[catalog.EBrowserBlocked] = majority(br, problem)
	}
}

func computerRule(v view, ev symbols) {
	for _, r := range []struct{ probe, failure, id string }{
		{catalog.PBrowserData, catalog.FStaleData, catalog.EStaleData},
		{catalog.PBrowserCache, catalog.FLargeCache, catalog.ELargeCache},
		{catalog.PBrowserVer, catalog.FOutdated, catalog.EOutdated},
		{catalog.PUptime, catalog.FLongUptime, catalog.ELongUptime},
	} {
		obs := v.ran(r.probe)
		ev.set(r.id, len(obs) > 0, has(obs, r.failure))
	}
}

func othersRule(v view, ev symbols) {
	// The crowd outage service's answer: the one vantage point outside this
	// network (unknown when no server is set or it did not answer).
	if cr := v.ran(catalog.PCrowd); len(cr) > 0 {
		switch {
		case has(cr, catalog.FCrowdOutage):
			ev[catalog.ECrowdOutage] = true
		case has(cr, catalog.FCrowdElevated):
			ev[catalog.ECrowdElevated] = true
		default:
			ev[catalog.ECrowdNormal] = true
		}
	}
}
