package lab

import (
	"hash/fnv"
	"net"
	"net/netip"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
)

// buildNet turns the scenario into dialing rules. asProxy builds the view
// of the proxy's upstream connections, which reach the web server's
// "via proxy" face.
func (w *World) buildNet(asProxy bool) netmap.World {
	sc := w.Scenario
	var rules []netmap.Rule
	add := func(match, action, to string, delay int) {
		rules = append(rules, netmap.Rule{Match: match, Action: action, To: to, DelayMS: delay})
	}
	if sc.System.Link == "none" || sc.System.DHCP == "failed" {
		// No link, or associated without an address: no route anywhere.
		add("*", netmap.NetUnreachable, "", 0)
	}
	if sc.Network.IPv6 == "none" {
		add("*/6", netmap.NetUnreachable, "", 0)
	}
	if sc.System.Gateway == "unreachable" {
		// ARP for the router gets no answer: the kernel reports the host unreachable.
		add("*", netmap.HostUnreachable, "", 1000)
	}
	if asProxy {
		for ip := range w.serviceIPs {
			add(net.JoinHostPort(ip.String(), "443")+"/tcp", netmap.Route, w.viaProxy, 0)
		}
	}
	// The router and its resolver are always one hop away.
	for _, r := range w.routes {
		if strings.HasPrefix(r.Match, addrGateway+":") || strings.HasPrefix(r.Match, addrSystemDNS+":") || strings.HasPrefix(r.Match, addrProxy+":") {
			rules = append(rules, r)
		}
	}
	if sc.System.Route == "none" && !asProxy {
		// An address but no default route: the router and its resolver, on
		// the same link, answer; the kernel has no route to anything else.
		add("*", netmap.NetUnreachable, "", 0)
	}
	if sc.Network.PublicDNS == "blocked" {
		// A firewall that also drops the public resolvers (plain and DoH).
		add(addrPublicDNS, netmap.Blackhole, "", 0)
	}
	if sc.Network.Uplink == "down" || (sc.Network.BandwidthMbps != nil && *sc.Network.BandwidthMbps == 0) {
		// Nothing beyond the router gets through.
		add("*", netmap.Blackhole, "", 0)
	}
	if sc.Network.HTTP == "blocked" {
		// Plain HTTP (port 80) dropped to every site of the world.
		for _, ip := range w.zone4 {
			add(net.JoinHostPort(ip.String(), "80")+"/tcp", netmap.Blackhole, "", 0)
		}
	}
	oca := w.zone4[ocaHost].String()
	video := sc.Network.Video
	if video == "ok" && (sc.Network.Service == "blackhole" || sc.Network.Service == "refused") {
		// The video servers are the service's too: what silences or refuses
		// its front ends does the same to them, unless the file says otherwise.
		video = sc.Network.Service
	}
	switch video {
	case "refused", "blackhole":
		action := map[string]string{"refused": netmap.Refuse, "blackhole": netmap.Blackhole}[video]
		for _, h := range videoHosts {
			add(w.zone4[h].String(), action, "", 0)
		}
	case "blocked":
		add(oca, netmap.Blackhole, "", 0)
	case "throttled":
		for _, r := range w.routes {
			if r.Match == net.JoinHostPort(oca, "443")+"/tcp" {
				r.RateMbps = sc.Network.VideoMbps
				rules = append(rules, r)
			}
		}
	}
	if sc.Network.CaptivePortal {
		// Until sign-in, the portal answers web traffic itself and drops the rest.
		add("*:80/tcp", netmap.Route, w.special["portal80"], 0)
		add("*:443/tcp", netmap.Route, w.special["portal443"], 0)
		add("*", netmap.Blackhole, "", 0)
	}
	if sc.Network.IPv6 == "broken" {
		add("*/6", netmap.Blackhole, "", 0)
	}
	for _, set := range []struct {
		ips  map[netip.Addr]bool
		mode string
	}{{w.serviceIPs, sc.Network.Service}, {w.controlIPs, sc.Network.Controls}} {
		for ip := range set.ips {
			switch set.mode {
			case "refused":
				add(ip.String(), netmap.Refuse, "", 0)
			case "blackhole", "timeout", "down":
				add(ip.String(), netmap.Blackhole, "", 0)
			}
		}
	}
	if d := sc.Network.ServiceConnectMs; d > 0 {
		for _, r := range w.routes {
			if ip, _, err := net.SplitHostPort(strings.TrimSuffix(r.Match, "/tcp")); err == nil && w.serviceIPs[netip.MustParseAddr(ip)] {
				r.DelayMS = int(d)
				rules = append(rules, r)
			}
		}
	}
	rules = append(rules, w.routes...)
	for _, ip := range []string{addrGateway, addrProxy, addrSinkhole, addrLapsedRelay} {
		add(ip, netmap.Refuse, "", 0)
	}
	add("*", netmap.Blackhole, "", 0)
	n, ln := sc.Network, w.line()
	nw := netmap.World{Rules: rules, Local: []string{addrGateway, addrSystemDNS, addrProxy},
		RTTMS: ln.rttMS, JitterMS: ln.jitterMS, LossRate: n.ConnectFailureRate, PacketLoss: ln.lossPct / 100,
		LocalRTTMS: ln.routerRTTms, Seed: seedOf(sc.Name)}
	if n.BandwidthMbps != nil && *n.BandwidthMbps > 0 {
		nw.BandwidthMbps = *n.BandwidthMbps
	}
	if ln.capMbps > 0 && (nw.BandwidthMbps == 0 || ln.capMbps < nw.BandwidthMbps) {
		nw.BandwidthMbps = ln.capMbps
	}
	return nw
}

// seedOf makes the world's random seed from the scenario's name, so a
// scenario always plays the same network.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
