package lab

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// startDNS runs a DNS server on UDP and TCP; it returns both addresses.
func (w *World) startDNS(h func(dns.ResponseWriter, *dns.Msg)) ([2]string, error) {
	var out [2]string
	pc, err := net.ListenPacket("udp", net.JoinHostPort(w.host, "0"))
	if err != nil {
		return out, err
	}
	l, err := w.listen("tcp")
	if err != nil {
		pc.Close()
		return out, err
	}
	us := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(h)}
	ts := &dns.Server{Listener: l, Handler: dns.HandlerFunc(h)}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	w.closers = append(w.closers, func() { _ = us.Shutdown(); _ = ts.Shutdown(); pc.Close() })
	out[0], out[1] = pc.LocalAddr().String(), l.Addr().String()
	return out, nil
}

// truthHandler answers from the world's real zone, as a public resolver.
func (w *World) truthHandler(rw dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	w.answer(m, q, nil)
	_ = rw.WriteMsg(m)
}

// answer fills m from the zone; override, when set, replaces every A answer.
func (w *World) answer(m, q *dns.Msg, override *netip.Addr) {
	if len(q.Question) == 0 {
		m.Rcode = dns.RcodeFormatError
		return
	}
	qq := q.Question[0]
	name := strings.TrimSuffix(strings.ToLower(qq.Name), ".")
	v4, ok4 := w.zone4[name]
	v6, ok6 := w.zone6[name]
	if override != nil {
		v4, ok4, ok6 = *override, true, false
	}
	if !ok4 && !ok6 {
		m.Rcode = dns.RcodeNameError
		return
	}
	hdr := dns.RR_Header{Name: qq.Name, Class: dns.ClassINET, Ttl: 60}
	switch qq.Qtype {
	case dns.TypeA:
		if ok4 {
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: v4.AsSlice()})
		}
	case dns.TypeAAAA:
		if ok6 {
			hdr.Rrtype = dns.TypeAAAA
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: v6.AsSlice()})
		}
	}
}

// systemDNSHandler is the router's resolver, broken as the scenario says:
// network.dns for every name, network.dns_names for single names, and the
// uplink (a resolver with no way out answers SERVFAIL).
func (w *World) systemDNSHandler(rw dns.ResponseWriter, q *dns.Msg) {
	n := w.Scenario.Network
	name := ""
	if len(q.Question) > 0 {
		name = strings.TrimSuffix(strings.ToLower(q.Question[0].Name), ".")
	}
	mode := n.DNS
	if m, ok := n.DNSNames[name]; ok {
		mode = m
	} else if n.Uplink == "down" && (mode == "ok" || mode == "slow") {
		mode = "servfail"
	}
	if n.DNSDelayMs > 0 && mode != "timeout" {
		time.Sleep(time.Duration(n.DNSDelayMs * float64(time.Millisecond)))
	}
	m := new(dns.Msg)
	m.SetReply(q)
	switch mode {
	case "timeout":
		return // queries vanish
	case "intermittent":
		if w.dnsCoin() {
			return // half the queries get no answer
		}
		w.answer(m, q, nil)
	case "servfail":
		m.Rcode = dns.RcodeServerFailure
	case "refused":
		m.Rcode = dns.RcodeRefused
	case "nxdomain":
		m.Rcode = dns.RcodeNameError
	case "empty":
		// NOERROR with no records (NODATA).
	case "filter":
		if w.isServiceName(name) {
			m.Rcode = dns.RcodeNameError
			break
		}
		w.answer(m, q, nil)
	case "redirect", "redirect_lapsed":
		// A Smart DNS service answers the service's names with its relay
		// (one whose subscription lapsed, with a relay that now refuses).
		relay := netip.MustParseAddr(addrSmartDNS)
		if mode == "redirect_lapsed" {
			relay = netip.MustParseAddr(addrLapsedRelay)
		}
		// A Smart DNS subscription carries every streaming service it
		// unblocks, not one: the other services' names go to the relay too.
		if w.isServiceName(name) || n.DNSNames[name] == mode || (n.DNS == mode && w.peerNames[name]) {
			w.answer(m, q, &relay)
			break
		}
		w.answer(m, q, nil)
	case "hijack":
		// Every name, real or not — the service's, the control sites', the
		// portal check's — goes to the resolver's ad server.
		ad := netip.MustParseAddr(addrAdServer)
		w.answer(m, q, &ad)
	default:
		w.answer(m, q, nil)
	}
	_ = rw.WriteMsg(m)
}

// dnsCoin is a fair coin from the world's seeded source.
func (w *World) dnsCoin() bool {
	w.coinMu.Lock()
	defer w.coinMu.Unlock()
	w.coin = w.coin*6364136223846793005 + 1442695040888963407
	return w.coin>>63 == 1
}

func (w *World) smartDNS() bool {
	if w.Scenario.Network.DNS == "redirect" {
		return true
	}
	for _, m := range w.Scenario.Network.DNSNames {
		if m == "redirect" {
			return true
		}
	}
	return false
}
