package sysinfo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The parsers below take the bytes of an OS file or a command's output and
// are pure, so they are tested against committed fixtures and fuzzed.

// ParseProcRoute reads /proc/net/route and returns the default route with the
// lowest metric, or nil if there is none.
func ParseProcRoute(b []byte) (*Route, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var best *Route
	bestMetric := -1
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue // header
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		if f[1] != "00000000" || f[7] != "00000000" {
			continue // not 0.0.0.0/0
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&1 == 0 { // RTF_UP
			continue
		}
		metric, _ := strconv.Atoi(f[6])
		gw, err := hexIPv4(f[2])
		if err != nil {
			return nil, fmt.Errorf("route line %d: %w", line, err)
		}
		if best == nil || metric < bestMetric {
			r := &Route{Interface: f[0]}
			if !gw.Equal(net.IPv4zero) {
				r.Gateway = gw.String()
			}
			best, bestMetric = r, metric
		}
	}
	return best, sc.Err()
}

func hexIPv4(s string) (net.IP, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 4 {
		return nil, fmt.Errorf("bad IPv4 hex %q", s)
	}
	v := binary.LittleEndian.Uint32(raw)
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4(), nil
}

// ParseIPv6Route reads /proc/net/ipv6_route and returns the default route
// (::/0) that is up, or nil.
func ParseIPv6Route(b []byte) (*Route, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		if f[0] != strings.Repeat("0", 32) || f[1] != "00" {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil || flags&1 == 0 || flags&0x200 != 0 { // RTF_UP, not RTF_REJECT
			continue
		}
		if f[9] == "lo" {
			continue
		}
		r := &Route{Interface: f[9]}
		if raw, err := hex.DecodeString(f[4]); err == nil && len(raw) == 16 {
			if ip := net.IP(raw); !ip.IsUnspecified() {
				r.Gateway = ip.String()
			}
		}
		return r, nil
	}
	return nil, sc.Err()
}

// ParseResolvConf returns the nameserver addresses of a resolv.conf as host:53.
func ParseResolvConf(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		host := f[1]
		if i := strings.IndexByte(host, '%'); i >= 0 { // fe80::1%eth0
			host = host[:i]
		}
		if net.ParseIP(host) == nil {
			continue
		}
		out = append(out, net.JoinHostPort(host, "53"))
	}
	return out
}

// ParseProcWireless reads /proc/net/wireless and returns the signal level in
// dBm of each interface listed.
func ParseProcWireless(b []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 3 {
			continue
		}
		lvl, err := strconv.ParseFloat(strings.TrimRight(f[2], "."), 64)
		if err != nil {
			continue
		}
		if lvl > 0 && lvl <= 255 && lvl > 63 { // some drivers report unsigned 8-bit dBm
			lvl -= 256
		}
		out[strings.TrimSpace(name)] = lvl
	}
	return out
}

// ParseUptime reads /proc/uptime.
func ParseUptime(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty uptime")
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil || s < 0 || s > 1e10 {
		return 0, fmt.Errorf("bad uptime %q", f[0])
	}
	return time.Duration(s * float64(time.Second)), nil
}

// ProxyFromEnv reads the conventional proxy environment variables.
func ProxyFromEnv(getenv func(string) string) Proxy {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return Proxy{Mode: "manual", Source: "env", URL: NormalizeProxyURL(v)}
		}
	}
	return Proxy{Mode: "none"}
}

// NormalizeProxyURL adds http:// to a bare host:port.
func NormalizeProxyURL(v string) string {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	if u, err := url.Parse(v); err == nil {
		return u.String()
	}
	return v
}

// ParseGsettingsProxy turns the output of
//
//	gsettings get org.gnome.system.proxy mode
//	gsettings get org.gnome.system.proxy autoconfig-url
//	gsettings get org.gnome.system.proxy.https host
//	gsettings get org.gnome.system.proxy.https port
//
// (one value per line, in that order) into a Proxy.
func ParseGsettingsProxy(out string) Proxy {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	get := func(i int) string {
		if i >= len(lines) {
			return ""
		}
		return strings.Trim(strings.TrimSpace(lines[i]), "'")
	}
	switch get(0) {
	case "manual":
		host, port := get(2), strings.TrimPrefix(get(3), "uint32 ")
		if host == "" {
			return Proxy{Mode: "none"}
		}
		if port == "" || port == "0" {
			port = "8080"
		}
		return Proxy{Mode: "manual", Source: "gnome", URL: "http://" + net.JoinHostPort(host, port)}
	case "auto":
		return Proxy{Mode: "pac", Source: "gnome", URL: get(1)}
	}
	return Proxy{Mode: "none"}
}

// ParseNMConnectivity reads `nmcli -t -f CONNECTIVITY general`.
func ParseNMConnectivity(out string) string {
	s := strings.TrimSpace(out)
	switch s {
	case "full", "limited", "portal", "none":
		return s
	}
	return ""
}
