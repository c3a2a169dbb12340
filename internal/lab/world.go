package lab

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

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
	// Nothing listens here (the browser's own dead proxy points at it).
	addrSinkhole = "10.10.10.10"
	// A hijacking resolver's ad server: a public address answering every
	// name it is given, with its own certificate.
	addrAdServer = "203.0.113.66"
	// A lapsed Smart DNS subscription's relay: still named, now refusing.
	addrLapsedRelay = "203.0.113.51"
	// A Smart DNS provider's relay: a public address that passes TLS on to
	// the real service, which sees the relay's address.
	addrSmartDNS = "203.0.113.50"
	proxyPort    = "3128"
)

// BlockPage is the text of Netflix's proxy block page in the lab.
const BlockPage = `<html><body><h1>Whoops, something went wrong...</h1>
<p>You seem to be using an unblocker or proxy. Please turn off any of these services and try again.</p>
<p>Error code: m7111-1331-5059</p></body></html>`

// refuse answers as the service answers an address it refuses: Netflix's
// page, another service's page built around the phrase it is known by, or
// the status a service's host gives instead (Max's API: 403).
func (w *World) refuse(rw http.ResponseWriter, host string) {
	for _, b := range w.Profile.BlockAnswers {
		if b.Host == host {
			rw.WriteHeader(b.Status)
			io.WriteString(rw, `{"errors":[{"code":"access.denied"}]}`)
			return
		}
	}
	switch {
	case w.Profile.Name == "netflix":
		io.WriteString(rw, BlockPage)
	case len(w.Profile.BlockMarkers) > 0:
		io.WriteString(rw, "<html><body><p>"+w.Profile.Title+": "+w.Profile.BlockMarkers[0]+"</p></body></html>")
	default:
		io.WriteString(rw, "<html><body>"+w.Profile.Title+"</body></html>")
	}
}

// World is one running scenario.
type World struct {
	Scenario *Scenario
	Profile  profile.Profile
	Home     string

	public, intercept, portal *ca
	zone4, zone6              map[string]netip.Addr
	serviceIPs, controlIPs    map[netip.Addr]bool
	// peerNames are the other streaming services' front doors.
	peerNames map[string]bool
	routes    []netmap.Rule // explicit routes to the servers, in the order added
	special   map[string]string
	viaProxy  string // the web server as the proxy's upstream reaches it
	toxi      *toxiproxy.ApiServer
	closers   []func()
	facts     sysinfo.Facts
	net       netmap.World
	speed     http.Handler
	host      string // where the servers listen
	proxies   map[string]*toxiproxy.Proxy
	coinMu    sync.Mutex
	coin      uint64
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
		serviceIPs: map[netip.Addr]bool{}, controlIPs: map[netip.Addr]bool{}, peerNames: map[string]bool{},
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
	// The other streaming services' front doors: sites on the internet
	// like the controls, reached through the same resolver and line (a
	// Smart DNS carries them with the service, see systemDNSHandler).
	for i, p := range profile.Peers(w.Profile.Name) {
		h := p.Hosts[0].Name
		w.zone4[h] = netip.AddrFrom4([4]byte{198, 51, 100, byte(130 + i)})
		w.zone6[h] = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 0x130+i))
		w.peerNames[h] = true
	}
	w.zone4[profile.HostOf(w.Profile.PortalURL)] = netip.AddrFrom4([4]byte{198, 51, 100, 200})
	// fast.com, its API and one Open Connect appliance for the speed test.
	for i, h := range videoHosts {
		w.zone4[h] = netip.AddrFrom4([4]byte{198, 51, 100, byte(150 + i)})
	}
	// A neutral speed-test server (M-Lab's locate service and one ndt7
	// machine), reached over the line like any site.
	for i, h := range neutralHosts {
		w.zone4[h] = netip.AddrFrom4([4]byte{198, 51, 100, byte(170 + i)})
	}
}

// neutralHosts are M-Lab's locate service and the ndt7 server it hands out.
var neutralHosts = []string{"locate.measurementlab.net", ndtHost}

const ndtHost = "ndt-mlab1-lab01.mlab-oti.measurement-lab.org"

const ocaHost = "ipv4-c001-lab001-ix.1.oca.nflxvideo.net"

// videoHosts are the service's speed-test and video servers.
var videoHosts = []string{"fast.com", "api.fast.com", ocaHost}

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
