package sysinfo

import (
	"bufio"
	"encoding/json"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Parsers for what macOS commands print; no build tag, so they are tested
// and fuzzed everywhere.

// scutilDict reads the flat "Key : value" lines of `scutil --proxy`.
func scutilDict(out string) map[string]string {
	m := map[string]string{}
	depth := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "{") {
			depth++
			if depth > 1 {
				continue
			}
		}
		if line == "}" {
			depth--
			continue
		}
		if depth != 1 {
			continue
		}
		if k, v, ok := strings.Cut(line, " : "); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// ParseScutilProxy reads `scutil --proxy`: a PAC script, else the HTTPS
// proxy, else the HTTP one.
func ParseScutilProxy(out string) Proxy {
	m := scutilDict(out)
	if m["ProxyAutoConfigEnable"] == "1" && m["ProxyAutoConfigURLString"] != "" {
		return Proxy{Mode: "pac", Source: "scutil", URL: m["ProxyAutoConfigURLString"]}
	}
	for _, p := range []string{"HTTPS", "HTTP"} {
		host := m[p+"Proxy"]
		if m[p+"Enable"] != "1" || host == "" || host == "<NULL>" {
			continue
		}
		port := m[p+"Port"]
		if port == "" || port == "0" {
			port = "80"
		}
		return Proxy{Mode: "manual", Source: "scutil", URL: NormalizeProxyURL(net.JoinHostPort(host, port))}
	}
	return Proxy{Mode: "none"}
}

// ParseScutilDNS returns the name servers of the default resolver of `scutil
// --dns`: the first resolver of the first section ("DNS configuration", not
// the scoped one) without a "domain" line. A resolver with a domain answers
// only names in that domain; none is default when every resolver has one.
// A "Supplemental" resolver without a domain (a VPN's match-all resolver)
// is a default one, and macOS asks it first. Link-local servers keep their
// zone ("[fe80::1%en0]:53"), without which they cannot be reached.
func ParseScutilDNS(out string) []string {
	var servers []string
	inResolver, hasDomain := false, false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "DNS configuration") && inResolver {
			break // the scoped or service-specific section
		}
		if strings.HasPrefix(line, "resolver #") {
			if inResolver && !hasDomain {
				return servers
			}
			inResolver, hasDomain, servers = true, false, nil
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !inResolver || !ok {
			continue
		}
		switch k = strings.TrimSpace(k); {
		case k == "domain":
			hasDomain = true
		case strings.HasPrefix(k, "nameserver["):
			if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				servers = append(servers, net.JoinHostPort(a.String(), "53"))
			}
		}
	}
	if inResolver && !hasDomain {
		return servers
	}
	return nil
}

// ParseRouteGet reads `route -n get default` (and `route -n get -inet6
// default`, or the route to any address: the output has the same form).
func ParseRouteGet(out string) *Route {
	var r Route
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "gateway":
			if i := strings.IndexByte(v, '%'); i > 0 {
				v = v[:i]
			}
			if net.ParseIP(v) != nil {
				r.Gateway = v
			}
		case "interface":
			r.Interface = v
		}
	}
	if r.Interface == "" {
		return nil
	}
	return &r
}

// ParseRouteInUse reads `route -n get default` and `route -n get <internet
// address>` and returns the route internet traffic takes. A VPN's 0/1 and
// 128/1 routes are more specific than the default route, so only the second
// command shows them; it wins when its interface differs.
func ParseRouteInUse(defaultOut, internetOut string) *Route {
	def, inet := ParseRouteGet(defaultOut), ParseRouteGet(internetOut)
	if inet != nil && (def == nil || inet.Interface != def.Interface) {
		return inet
	}
	return def
}

// ParseScutilNWI reads `scutil --nwi` and returns "none" when macOS has no
// network: no IPv4 and no IPv6 state, or every REACH line Not Reachable.
// Otherwise ok is false: macOS then knows of a way out, but it has not
// tested internet access.
func ParseScutilNWI(out string) (conn string, ok bool) {
	if strings.Contains(out, "No IPv4 states found") && strings.Contains(out, "No IPv6 states found") {
		return "none", true
	}
	reach, reachable := 0, false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		flags, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "REACH :")
		if !ok {
			continue
		}
		reach++
		// scutil prints "Not Reachable" for flags 0 only.
		reachable = reachable || !strings.Contains(flags, "Not Reachable")
	}
	if reach > 0 && !reachable {
		return "none", true
	}
	return "", false
}

var boottime = regexp.MustCompile(`sec = (\d+)`)

// ParseBoottime reads `sysctl -n kern.boottime` ("{ sec = 1732600000, usec =
// 12345 } Tue Nov 26 …") and returns the uptime at now.
func ParseBoottime(out string, now time.Time) (time.Duration, bool) {
	m := boottime.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	sec, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || sec <= 0 {
		return 0, false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d, d >= 0
}

// ParseHardwarePorts reads `networksetup -listallhardwareports` and returns
// device -> port name ("en0" -> "Wi-Fi").
func ParseHardwarePorts(out string) map[string]string {
	m := map[string]string{}
	port := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Hardware Port:"); ok {
			port = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "Device:"); ok && port != "" {
			m[strings.TrimSpace(v)] = port
		}
	}
	return m
}

// ParseAirportJSON reads the current network's signal of interface dev
// from `system_profiler -json SPAirPortDataType`. The JSON form is used
// because its keys are the same in every display language, unlike the text
// form ("Signal / Noise" is translated).
func ParseAirportJSON(b []byte, dev string) (float64, bool) {
	var doc struct {
		Data []struct {
			Interfaces []struct {
				Name    string `json:"_name"`
				Current *struct {
					SignalNoise string `json:"spairport_signal_noise"`
				} `json:"spairport_current_network_information"`
			} `json:"spairport_airport_interfaces"`
		} `json:"SPAirPortDataType"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return 0, false
	}
	for _, d := range doc.Data {
		for _, i := range d.Interfaces {
			if i.Name != dev || i.Current == nil {
				continue
			}
			sig, _, _ := strings.Cut(i.Current.SignalNoise, "/")
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sig), "dBm")), 64)
			if err == nil && v < 0 && v > -130 {
				return v, true
			}
		}
	}
	return 0, false
}

var plistVersion = regexp.MustCompile(`<key>CFBundleShortVersionString</key>\s*<string>([0-9.]+)</string>`)

// PlistVersion reads CFBundleShortVersionString from an XML Info.plist
// (binary plists are not read: the version is then unknown).
func PlistVersion(b []byte) string {
	m := plistVersion.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}
