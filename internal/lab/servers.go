package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
)

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

	// A hijacking resolver's ad server answers whatever name it is given,
	// on plain HTTP with its page, on HTTPS with a certificate of its own.
	ad := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, "<html><body>Search results and offers for "+r.Host+"</body></html>")
	})
	for _, port := range []string{"443", "80"} {
		al, err := w.listen("tcp")
		if err != nil {
			return err
		}
		if port == "443" {
			w.serveHTTP(tls.NewListener(al, w.portal.serverConfig("ads.resolver.lab")), ad)
		} else {
			w.serveHTTP(al, ad)
		}
		to, err := w.expose("adserver-"+port, al, true)
		if err != nil {
			return err
		}
		w.route(addrAdServer, port, "tcp", to)
	}

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
