package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Network widths: what one household, office or small ISP customer holds.
// A report counts once per service per network per 30 minutes, and the
// rate limit is per network, so new addresses from the same network (an
// IPv6 /64 holds 2^64 of them) buy nothing.
const (
	IPv4Bits = 24
	IPv6Bits = 48
)

// NetworkOf is the network a reporting address belongs to: its /24 (IPv4,
// also when written as ::ffff:a.b.c.d) or /48 (IPv6).
func NetworkOf(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := IPv6Bits
	if a.Is4() {
		bits = IPv4Bits
	}
	p, _ := a.Prefix(bits)
	return p
}

// clientAddr is the address a request comes from: the direct peer, or,
// when the peer is a trusted reverse proxy (--trust-proxy), the nearest
// address in X-Forwarded-For that is not itself a trusted proxy, read from
// the right (the entries further left are whatever the client wrote). A
// malformed entry stops the walk at the last trusted hop, so a client can
// never choose the address it is counted under.
func (s *Server) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !s.trusted(peer) {
		return peer, true
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			return addr, true
		}
		addr = a
		if !s.trusted(a) {
			return a, true
		}
	}
	return addr, true
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustProxy {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost reads "addr", "addr:port" or "[addr]:port".
func parseHost(h string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
