package lab

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// serviceTLS is the TLS configuration of the web server: every name gets a
// certificate from ca, and the service's names get the fault the scenario
// gives their own servers (network.tls: expired, wrong_name,
// unknown_authority, intercepted_untrusted).
func (w *World) serviceTLS(ca *ca) *tls.Config {
	base := ca.serverConfig("")
	fault := w.Scenario.Network.TLS
	switch fault {
	case "expired", "wrong_name", "unknown_authority", "intercepted_untrusted":
	default:
		return base
	}
	get := base.GetCertificate
	base.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if !w.isServiceName(h.ServerName) {
			return get(h)
		}
		switch fault {
		case "unknown_authority":
			return w.portal.leaf(h.ServerName) // a self-made authority no device trusts
		case "intercepted_untrusted":
			return w.intercept.leaf(h.ServerName) // an inspector whose root is not installed
		}
		return w.public.faultyLeaf(h.ServerName, fault)
	}
	return base
}

// tlsFront sits in front of the service's servers and plays a middlebox
// that acts on the TLS ClientHello: "reset_sni" resets connections whose
// ClientHello names a service host, "handshake_closed" closes after the
// ClientHello, "handshake_silent" never answers it. Other connections are
// passed on to upstream untouched.
func (w *World) tlsFront(mode, upstream string) (string, error) {
	l, err := w.listen("tcp")
	if err != nil {
		return "", err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go w.front(c, mode, upstream)
		}
	}()
	return l.Addr().String(), nil
}

// errSeen stops a handshake once the ClientHello has been read.
var errSeen = errors.New("client hello seen")

// recorder keeps what was read so it can be replayed upstream.
type recorder struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.buf.Write(b[:n])
	return n, err
}
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil } // say nothing back

func (w *World) front(c net.Conn, mode, upstream string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rec := &recorder{Conn: c}
	sni := ""
	_ = tls.Server(rec, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni = h.ServerName
		return nil, errSeen
	}}).Handshake()
	_ = c.SetDeadline(time.Time{})
	if w.isServiceName(sni) || (mode != "reset_sni" && sni == "") {
		switch mode {
		case "reset_sni":
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST, as an injected reset looks
			}
			return
		case "handshake_closed":
			return
		case "handshake_silent":
			_, _ = io.Copy(io.Discard, c) // until the client gives up
			return
		}
	}
	up, err := net.DialTimeout("tcp", upstream, 3*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if _, err := up.Write(rec.buf.Bytes()); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// line is the path's condition after the Wi-Fi's share: with
// system.wifi_degrades, a weaker signal adds round trip, jitter and loss
// and caps the rate, by band (-67, -75, -85 dBm), on the router hop and so
// on everything beyond it.
type line struct {
	rttMS, jitterMS, lossPct, routerRTTms float64
	capMbps                               float64 // 0: no cap from the radio
}

func (w *World) line() line {
	sys, n := w.Scenario.System, w.Scenario.Network
	l := line{rttMS: n.RTTms, jitterMS: n.JitterMs, lossPct: n.LossPct, routerRTTms: sys.RouterRTTms}
	if !sys.WiFiDegrades || sys.Link != "wifi" {
		return l
	}
	var add line
	switch s := *sys.WiFiSignalDBM; {
	case s >= -67:
	case s >= -75:
		add = line{rttMS: 5, jitterMS: 4, lossPct: 0.5, capMbps: 40}
	case s >= -85:
		// The radio resends lost frames itself; about 1 % escapes to TCP.
		add = line{rttMS: 15, jitterMS: 20, lossPct: 1, capMbps: 8}
	default:
		add = line{rttMS: 60, jitterMS: 50, lossPct: 8, capMbps: 1.5}
	}
	l.rttMS += add.rttMS
	l.jitterMS += add.jitterMS
	l.lossPct = 100 * (1 - (1-l.lossPct/100)*(1-add.lossPct/100))
	l.routerRTTms += add.rttMS
	l.capMbps = add.capMbps
	return l
}
