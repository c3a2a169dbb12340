package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/speed"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// The world's fixed addresses (documentation ranges, and the real public
// resolver address the probes use).
const (
	addrGateway   = "192.0.2.1"
	addrSystemDNS = "192.0.2.53"
	addrProxy     = "192.0.2.80"
	addrPAC       = "192.0.2.81"
	addrPublicDNS = "8.8.8.8"
	addrSinkhole  = "10.10.10.10"
	// A Smart DNS provider's relay: a public address that passes TLS on to
	// the real service, which sees the relay's address.
	addrSmartDNS = "203.0.113.50"
	proxyPort    = "3128"
)

// BlockPage is the text of the service's proxy block page in the lab.
const BlockPage = `<html><body><h1>Whoops, something went wrong...</h1>
<p>You seem to be using an unblocker or proxy. Please turn off any of these services and try again.</p>
<p>Error code: m7111-1331-5059</p></body></html>`

// World is one running scenario.
type World struct {
	Scenario *Scenario
	Profile  profile.Profile
	Home     string

	public, intercept, portal *ca
	zone4, zone6              map[string]netip.Addr
	serviceIPs, controlIPs    map[netip.Addr]bool
	routes                    []netmap.Rule // explicit routes to the servers, in the order added
	special                   map[string]string
	viaProxy                  string // the web server as the proxy's upstream reaches it
	toxi                      *toxiproxy.ApiServer
	closers                   []func()
	facts                     sysinfo.Facts
	net                       netmap.World
	speed                     http.Handler
	host                      string // where the servers listen
	proxies                   map[string]*toxiproxy.Proxy
	coinMu                    sync.Mutex
	coin                      uint64
}

// Start builds and starts the world of a scenario on loopback. Close it when done.
func Start(sc *Scenario) (*World, error) { return StartOn(sc, "127.0.0.1") }

// StartOn starts the world with its servers listening on host, so that a
// check in another network namespace can reach them (kernel-level tests).
func StartOn(sc *Scenario, host string) (w *World, err error) {
	prof, err := profile.Get(sc.Service)
	if err != nil {
		return nil, err
	}
	w = &World{Scenario: sc, Profile: prof, special: map[string]string{},
		zone4: map[string]netip.Addr{}, zone6: map[string]netip.Addr{},
		serviceIPs: map[netip.Addr]bool{}, controlIPs: map[netip.Addr]bool{},
		toxi:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		speed: speed.Handler(), host: host, proxies: map[string]*toxiproxy.Proxy{}}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.public, err = newCA("Lab Public Root"); err != nil {
		return nil, err
	}
	if w.intercept, err = newCA("Lab Inspection Root"); err != nil {
		return nil, err
	}
	if w.portal, err = newCA("Captive Portal Self-Signed"); err != nil {
		return nil, err
	}
	w.buildZone()
	if w.Home, err = os.MkdirTemp("", "streamdoctor-lab-home-"); err != nil {
		return nil, err
	}
	home := w.Home
	w.closers = append(w.closers, func() { os.RemoveAll(home) })
	if err = w.startServers(); err != nil {
		return nil, err
	}
	if err = w.startCrowd(); err != nil {
		return nil, err
	}
	if err = w.buildFacts(); err != nil {
		return nil, err
	}
	w.net = w.buildNet(false)
	return w, nil
}

// Close stops every server and removes the fake home directory.
func (w *World) Close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
	w.closers = nil
}

// Env is the probe environment that points the real probes at this world.
func (w *World) Env() *probe.Env {
	return &probe.Env{
		Dialer:       netmap.New(w.net),
		Facts:        sysinfo.Fixture{F: w.facts},
		PublicDNS:    addrPublicDNS + ":53",
		DoHURL:       "https://" + addrPublicDNS + "/dns-query",
		SystemRoots:  w.systemRoots(),
		PublicRoots:  w.public.pool(),
		Clock:        w.clock(),
		OutageServer: w.crowdURL(),
	}
}

// clock is the device's clock: off by system.clock_offset_s.
func (w *World) clock() func() time.Time {
	off := time.Duration(w.Scenario.System.ClockOffsetS * float64(time.Second))
	return func() time.Time { return time.Now().Add(off) }
}

// systemRoots is the device's trust store: the public roots, plus the
// inspection CA when the scenario's security software installed it.
func (w *World) systemRoots() *x509.CertPool {
	p := w.public.pool()
	if w.Scenario.Network.TLS == "intercepted" {
		p.AddCert(w.intercept.cert)
	}
	return p
}

// Answers are the scenario's answers to the questions.
func (w *World) Answers() evidence.Answers {
	a := evidence.Answers{}
	for k, v := range w.Scenario.Answers {
		a[k] = v
	}
	return a
}

func (w *World) buildZone() {
	for i, h := range w.Profile.Hosts {
		v4 := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
		v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 0x10+i))
		w.zone4[h.Name], w.zone6[h.Name] = v4, v6
		w.serviceIPs[v4], w.serviceIPs[v6] = true, true
	}
	for i, u := range w.Profile.Controls {
		h := profile.HostOf(u)
		v4 := netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + i)})
		v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 0x100+i))
		w.zone4[h], w.zone6[h] = v4, v6
		w.controlIPs[v4], w.controlIPs[v6] = true, true
	}
	w.zone4[profile.HostOf(w.Profile.PortalURL)] = netip.AddrFrom4([4]byte{198, 51, 100, 200})
	// fast.com, its API and one Open Connect appliance for the speed test.
	for i, h := range videoHosts {
		w.zone4[h] = netip.AddrFrom4([4]byte{198, 51, 100, byte(150 + i)})
	}
}

const ocaHost = "ipv4-c001-lab001-ix.1.oca.nflxvideo.net"

// videoHosts are the service's speed-test and video servers.
var videoHosts = []string{"fast.com", "api.fast.com", ocaHost}

func (w *World) listen(network string) (net.Listener, error) {
	l, err := net.Listen(network, net.JoinHostPort(w.host, "0"))
	if err == nil {
		w.closers = append(w.closers, func() { l.Close() })
	}
	return l, err
}

// route records that ip:port over network reaches the loopback address to.
func (w *World) route(ip, port, network, to string) {
	w.routes = append(w.routes, netmap.Rule{Match: net.JoinHostPort(ip, port) + "/" + network, Action: netmap.Route, To: to})
}

// expose puts a toxiproxy proxy in front of a listener and returns the
// proxy's address. Remote servers get the scenario's network conditions:
// latency and jitter on every chunk (half the round trip each way) and
// connect_failure_rate as connections reset by the peer. The bandwidth cap
// is the line's, shared by all connections, so netmap applies it (toxiproxy's
// bandwidth toxic limits each connection on its own).
func (w *World) expose(name string, l net.Listener, remote bool) (string, error) {
	p := toxiproxy.NewProxy(w.toxi, name, net.JoinHostPort(w.host, "0"), l.Addr().String())
	if err := p.Start(); err != nil {
		return "", err
	}
	w.proxies[name] = p
	w.closers = append(w.closers, p.Stop)
	if !remote {
		return p.Listen, nil
	}
	n, ln := w.Scenario.Network, w.line()
	var toxics []string
	for _, stream := range []string{"upstream", "downstream"} {
		if ln.rttMS > 0 || ln.jitterMS > 0 {
			toxics = append(toxics, fmt.Sprintf(`{"name":"latency_%s","type":"latency","stream":%q,"toxicity":1,"attributes":{"latency":%d,"jitter":%d}}`,
				stream, stream, int64(ln.rttMS/2), int64(ln.jitterMS/2)))
		}
	}
	if n.ConnectFailureRate > 0 {
		toxics = append(toxics, fmt.Sprintf(`{"name":"reset","type":"reset_peer","stream":"downstream","toxicity":%g,"attributes":{"timeout":0}}`, n.ConnectFailureRate))
	}
	for _, t := range toxics {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
			return "", fmt.Errorf("toxic %s: %w", t, err)
		}
	}
	return p.Listen, nil
}

// toxic adds one more toxic to a named proxy.
func (w *World) toxic(proxy, spec string) error {
	p, ok := w.proxies[proxy]
	if !ok {
		return fmt.Errorf("no proxy %q", proxy)
	}
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
		return fmt.Errorf("toxic %s: %w", spec, err)
	}
	return nil
}

func (w *World) serveHTTP(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietLog()}
	go srv.Serve(l)
	w.closers = append(w.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	})
}

func (w *World) startServers() error {
	sc := w.Scenario
	// The device's resolver (the router's) and a public one.
	sysDNS, err := w.startDNS(w.systemDNSHandler)
	if err != nil {
		return err
	}
	w.route(addrSystemDNS, "53", "udp", sysDNS[0])
	w.route(addrSystemDNS, "53", "tcp", sysDNS[1])
	pubDNS, err := w.startDNS(w.truthHandler)
	if err != nil {
		return err
	}
	w.route(addrPublicDNS, "53", "udp", pubDNS[0])
	w.route(addrPublicDNS, "53", "tcp", pubDNS[1])

	// The web: one HTTPS server for every public name, reached through a
	// service proxy and a controls proxy (so conditions can differ per path),
	// and the same server as the proxy's upstream reaches it (the service can
	// tell proxied requests by their address).
	webCA := w.public
	if sc.Network.TLS == "intercepted" {
		webCA = w.intercept
	}
	for _, viaProxy := range []bool{false, true} {
		l, err := w.listen("tcp")
		if err != nil {
			return err
		}
		w.serveHTTP(tls.NewListener(l, w.serviceTLS(webCA)), w.webHandler(viaProxy))
		if viaProxy {
			if w.viaProxy, err = w.expose("via-proxy", l, true); err != nil {
				return err
			}
			continue
		}
		svc, err := w.expose("service", l, true)
		if err != nil {
			return err
		}
		if sc.Network.Service == "slow" {
			// An overloaded service: besides its late first byte (the
			// handler's delay), its answers drip out in small, spaced pieces.
			if err := w.toxic("service", `{"name":"drip","type":"slicer","stream":"downstream","toxicity":1,"attributes":{"average_size":512,"size_variation":128,"delay":20000}}`); err != nil {
				return err
			}
		}
		switch sc.Network.TLS {
		case "reset_sni", "handshake_closed", "handshake_silent":
			if svc, err = w.tlsFront(sc.Network.TLS, svc); err != nil {
				return err
			}
		}
		ctl, err := w.expose("controls", l, true)
		if err != nil {
			return err
		}
		for name, ip := range w.zone4 {
			to := ctl
			if w.isServiceName(name) {
				to = svc
			}
			w.route(ip.String(), "443", "tcp", to)
			if v6, ok := w.zone6[name]; ok {
				w.route(v6.String(), "443", "tcp", to)
			}
		}
	}
	// DoH lives on the public resolver's address; clients send no SNI to an
	// IP address, so it gets a listener whose certificate names 8.8.8.8.
	dl, err := w.listen("tcp")
	if err != nil {
		return err
	}
	w.serveHTTP(tls.NewListener(dl, webCA.serverConfig(addrPublicDNS)), w.webHandler(false))
	doh, err := w.expose("doh", dl, true)
	if err != nil {
		return err
	}
	w.route(addrPublicDNS, "443", "tcp", doh)
	// The Smart DNS relay reaches the service as a proxy does.
	w.route(addrSmartDNS, "443", "tcp", w.viaProxy)
	// Plain HTTP: the portal check answers 204; the PAC file.
	lh, err := w.listen("tcp")
	if err != nil {
		return err
	}
	w.serveHTTP(lh, w.plainHandler())
	plain, err := w.expose("plain", lh, true)
	if err != nil {
		return err
	}
	if sc.Network.HTTP == "reset" {
		// A middlebox resets plain-HTTP exchanges once it sees the request.
		if err := w.toxic("plain", `{"name":"tamper","type":"reset_peer","stream":"upstream","toxicity":1,"attributes":{"timeout":0}}`); err != nil {
			return err
		}
	}
	for _, ip := range w.zone4 {
		w.route(ip.String(), "80", "tcp", plain)
	}
	w.route(addrPAC, "80", "tcp", plain)

	// The captive portal's own servers.
	pl, err := w.listen("tcp")
	if err != nil {
		return err
	}
	w.serveHTTP(pl, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://portal.lab/login?continue="+r.Host, http.StatusFound)
	}))
	if w.special["portal80"], err = w.expose("portal-http", pl, false); err != nil {
		return err
	}
	pls, err := w.listen("tcp")
	if err != nil {
		return err
	}
	w.serveHTTP(tls.NewListener(pls, w.portal.serverConfig("portal.lab")), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://portal.lab/login", http.StatusFound)
	}))
	if w.special["portal443"], err = w.expose("portal-https", pls, false); err != nil {
		return err
	}

	// A DNS sinkhole's web server presents its own certificate.
	sl, err := w.listen("tcp")
	if err != nil {
		return err
	}
	w.serveHTTP(tls.NewListener(sl, w.portal.serverConfig("blocked.lab")), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusForbidden)
		io.WriteString(rw, "This site has been blocked by your network's DNS filter.")
	}))
	sink, err := w.expose("sinkhole", sl, true)
	if err != nil {
		return err
	}
	w.route(addrSinkhole, "443", "tcp", sink)

	// The router answers on its DNS and admin ports.
	gl, err := w.listen("tcp")
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := gl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gw, err := w.expose("router", gl, false)
	if err != nil {
		return err
	}
	for _, p := range []string{"53", "80", "443"} {
		w.route(addrGateway, p, "tcp", gw)
	}

	// The proxy.
	if sc.System.Proxy != "none" && sc.System.Proxy != "dead" {
		xl, err := w.listen("tcp")
		if err != nil {
			return err
		}
		w.serveHTTP(xl, w.proxyHandler())
		px, err := w.expose("proxy", xl, false)
		if err != nil {
			return err
		}
		w.route(addrProxy, proxyPort, "tcp", px)
	}
	return nil
}

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
	_, known := w.zone4[name]
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
	case "redirect":
		// A Smart DNS service answers the service's names with its relay.
		if w.isServiceName(name) || n.DNSNames[name] == "redirect" {
			relay := netip.MustParseAddr(addrSmartDNS)
			w.answer(m, q, &relay)
			break
		}
		w.answer(m, q, nil)
	case "hijack":
		// Service names and names that do not exist go to a filter's sinkhole.
		if w.isServiceName(name) || !known || n.DNSNames[name] == "hijack" {
			sink := netip.MustParseAddr(addrSinkhole)
			w.answer(m, q, &sink)
			break
		}
		w.answer(m, q, nil)
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

func (w *World) isServiceName(name string) bool {
	for _, h := range w.Profile.Hosts {
		if h.Name == name {
			return true
		}
	}
	return false
}

// webHandler serves every HTTPS name of the world.
func (w *World) webHandler(viaProxy bool) http.Handler {
	sc := w.Scenario
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		switch {
		case host == addrPublicDNS && r.URL.Path == "/dns-query":
			w.serveDoH(rw, r)
			return
		case host == "fast.com" && r.URL.Path == "/":
			io.WriteString(rw, `<html><body><script src="/app-lab01.js"></script></body></html>`)
			return
		case host == "fast.com":
			io.WriteString(rw, `var c={apiEndpoint:"api.fast.com/netflix/speedtest/v2",token:"labtoken",urlCount:1};`)
			return
		case host == "api.fast.com":
			fmt.Fprintf(rw, `{"client":{"location":{"city":"Lab","country":"XX"}},"targets":[{"name":"lab","url":"https://%s/speedtest?c=xx","location":{"city":"Lab","country":"XX"}}]}`, ocaHost)
			return
		case host == ocaHost:
			w.speed.ServeHTTP(rw, r)
			return
		}
		if !w.isServiceName(host) {
			io.WriteString(rw, "<html><body>control site "+host+"</body></html>")
			return
		}
		switch sc.Network.Service {
		case "http_503":
			rw.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(rw, "Service Unavailable")
			return
		case "slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		case "proxy_detected":
			// The service blocks the addresses it sees: the proxy's when a
			// proxy carries the request, the VPN's or Smart DNS's otherwise.
			if viaProxy || sc.System.Proxy == "none" {
				io.WriteString(rw, BlockPage)
				return
			}
		}
		if viaProxy && w.smartDNS() {
			// The service knows the Smart DNS relays' addresses.
			io.WriteString(rw, BlockPage)
			return
		}
		io.WriteString(rw, "<html><body>"+w.Profile.Title+"</body></html>")
	})
}

func (w *World) serveDoH(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 65536))
	q := new(dns.Msg)
	if err != nil || q.Unpack(body) != nil {
		http.Error(rw, "bad query", http.StatusBadRequest)
		return
	}
	m := new(dns.Msg)
	m.SetReply(q)
	w.answer(m, q, nil)
	out, _ := m.Pack()
	rw.Header().Set("Content-Type", "application/dns-message")
	rw.Write(out)
}

func (w *World) plainHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/proxy.pac"):
			rw.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
			fmt.Fprintf(rw, "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host)) return \"DIRECT\";\n  return \"PROXY %s:%s; DIRECT\";\n}\n", addrProxy, proxyPort)
		case w.Scenario.Network.HTTP == "blockpage":
			// A filter injects its page into every plain-HTTP answer.
			rw.WriteHeader(http.StatusForbidden)
			io.WriteString(rw, "<html><body>Access denied: this site has been blocked by your network's web filter.</body></html>")
		case r.URL.Path == "/generate_204":
			rw.WriteHeader(http.StatusNoContent)
		default:
			io.WriteString(rw, "ok")
		}
	})
}

// proxyHandler is an HTTP proxy supporting CONNECT, whose upstream
// connections reach the service as "through a proxy".
func (w *World) proxyHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(rw, "only CONNECT", http.StatusMethodNotAllowed)
			return
		}
		switch w.Scenario.System.Proxy {
		case "denied":
			http.Error(rw, "Access denied by proxy policy", http.StatusForbidden)
			return
		case "auth_required":
			rw.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
			http.Error(rw, "Proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		host, port, _ := net.SplitHostPort(r.Host)
		ip, ok := w.zone4[strings.ToLower(host)]
		if !ok {
			http.Error(rw, "no such host", http.StatusBadGateway)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		up, err := netmap.New(w.buildNet(true)).DialContext(ctx, "tcp4", net.JoinHostPort(ip.String(), port))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := rw.(http.Hijacker)
		if !ok {
			up.Close()
			http.Error(rw, "no hijack", http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusOK)
		c, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		go pipe(c, buf, up)
	})
}

func pipe(c net.Conn, buf *bufio.ReadWriter, up net.Conn) {
	defer c.Close()
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, buf); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (w *World) buildFacts() error {
	sc := w.Scenario
	f := sysinfo.Facts{
		OS: map[string]string{"macos": "darwin"}[sc.System.OS] + map[string]string{"linux": "linux", "windows": "windows"}[sc.System.OS], Home: w.Home, DNSServers: []string{addrSystemDNS + ":53"}, DNSSource: "lab",
		Uptime: time.Duration(*sc.System.UptimeHours * float64(time.Hour)),
		Proxy:  sysinfo.Proxy{Mode: "none"},
	}
	iface := "wlan0"
	switch sc.System.Link {
	case "ethernet":
		iface = "eth0"
		f.Interfaces = []sysinfo.Interface{{Name: "eth0", Kind: sysinfo.KindEthernet, Up: true}}
	case "wifi":
		f.Interfaces = []sysinfo.Interface{{Name: "wlan0", Kind: sysinfo.KindWiFi, Up: true}}
		f.WiFi = &sysinfo.WiFi{Interface: "wlan0", SignalDBM: *sc.System.WiFiSignalDBM}
	case "none":
		f.Interfaces = []sysinfo.Interface{{Name: "wlan0", Kind: sysinfo.KindWiFi, Up: false}}
	}
	f.Interfaces = append([]sysinfo.Interface{{Name: "lo", Kind: sysinfo.KindLoopback, Up: true}}, f.Interfaces...)
	if sc.Network.DNS == "none" {
		f.DNSServers = nil // no resolver configured
	}
	if sc.System.Link != "none" && sc.System.DHCP != "failed" {
		f.DefaultRoute = &sysinfo.Route{Interface: iface, Gateway: addrGateway}
		if sc.Network.IPv6 != "none" {
			f.DefaultRoute6 = &sysinfo.Route{Interface: iface, Gateway: "fe80::1"}
		}
	}
	// VPN clients keep the main default route and steer traffic with policy
	// routing (wg-quick) or two /1 routes (OpenVPN); the interface is up.
	switch sc.System.VPN {
	case "wireguard":
		f.Interfaces = append(f.Interfaces, sysinfo.Interface{Name: "wg0", Kind: sysinfo.KindWireGuard, Up: true})
	case "openvpn":
		f.Interfaces = append(f.Interfaces, sysinfo.Interface{Name: "tun0", Kind: sysinfo.KindTun, Up: true})
	case "other":
		f.Interfaces = append(f.Interfaces, sysinfo.Interface{Name: "ppp0", Kind: sysinfo.KindPPP, Up: true})
	}
	switch sc.System.Proxy {
	case "manual", "dead", "denied", "auth_required":
		f.Proxy = sysinfo.Proxy{Mode: "manual", Source: "fixture", URL: "http://" + addrProxy + ":" + proxyPort}
	case "pac":
		f.Proxy = sysinfo.Proxy{Mode: "pac", Source: "fixture", URL: "http://" + addrPAC + "/proxy.pac"}
	}
	now := time.Now()
	goos := f.OS
	for _, b := range sc.System.Browsers {
		f.Browsers = append(f.Browsers, sysinfo.Browser{Name: b.Name, Version: b.Version, Running: b.Running})
		if b.Name == "safari" {
			continue // its binary cookie store is not written by the lab; facts only
		}
		_, err := fixture.Write(w.Home, goos, fixture.Profile{
			Browser: b.Name, Version: b.Version, Domain: w.Profile.CookieDomains[0],
			SiteCookies: b.SiteCookies, Expired: b.ExpiredSiteCookies, OtherCookies: 5, CacheMB: b.CacheMB,
		}, now)
		if err != nil {
			return fmt.Errorf("writing %s profile: %w", b.Name, err)
		}
	}
	w.facts = f
	return nil
}

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
	for _, ip := range []string{addrGateway, addrProxy, addrSinkhole} {
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

// EnvFile describes this world for another process (streamdoctor check --env-file).
func (w *World) EnvFile() *netmap.EnvFile {
	pem := func(cs ...*ca) string {
		var b strings.Builder
		for _, c := range cs {
			b.WriteString(string(encodePEM(c.cert.Raw)))
		}
		return b.String()
	}
	sys := pem(w.public)
	if w.Scenario.Network.TLS == "intercepted" {
		sys = pem(w.public, w.intercept)
	}
	ef := &netmap.EnvFile{Schema: netmap.EnvSchema, World: w.net, PublicDNS: addrPublicDNS + ":53",
		DoHURL: "https://" + addrPublicDNS + "/dns-query", SystemRoots: sys, PublicRoots: pem(w.public), Facts: w.facts,
		ClockOffsetS: w.Scenario.System.ClockOffsetS}
	if u := w.crowdURL(); u != nil {
		ef.OutageServer = u.String()
	}
	return ef
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
