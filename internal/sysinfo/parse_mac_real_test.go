package sysinfo

import (
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"
)

// The files under testdata/darwin are outputs of the commands facts_darwin.go
// runs, as real people published them (issue threads, blog posts, other
// projects' captured fixtures). testdata/darwin/SOURCES.md says where each
// comes from and what was anonymised. Each case asserts what a person reading
// the output would say it shows.

func realDarwin(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/darwin/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scutil --dns: the servers of the default resolver (the first resolver
// of the first section without a domain line), never the scoped section's
// nor the mDNS ones. In every file here that is resolver #1: configd sorts
// resolvers without a domain first.
func TestRealScutilDNS(t *testing.T) {
	for _, c := range []struct {
		file, why string
		want      []string
	}{
		{"scutil-dns-en0-two-servers.txt", "office Wi-Fi, two IPv4 servers on en0",
			[]string{"10.200.0.245:53", "10.192.206.245:53"}},
		{"scutil-dns-isp-ipv4-only.txt", "ISP resolvers, IPv6 turned off",
			[]string{"75.75.75.75:53", "75.75.76.76:53"}},
		{"scutil-dns-headscale-elided.txt", "LAN resolvers; a user's '...' elision and a search-only resolver #8",
			[]string{"192.168.100.101:53", "192.168.100.102:53"}},
		{"scutil-dns-tunnelblick-vpn-servers-on-en0.txt", "Tunnelblick rewrote resolver #1 with the VPN's servers",
			[]string{"10.5.3.211:53", "10.5.3.210:53"}},
		{"scutil-dns-macos10.8-ppp-vpn-first.txt", "OS X 10.8 (no flags/hex reach): the VPN (ppp0) is resolver #1",
			[]string{"192.168.80.10:53", "192.168.80.24:53"}},
		{"scutil-dns-macos10.8-umts-first-vpn-second.txt", "OS X 10.8: UMTS (ppp0) first, VPN (ppp1) second; the scoped section lists them the other way round",
			[]string{"139.7.30.126:53", "139.7.30.125:53"}},
		{"scutil-dns-tunnelblick-no-default-nameserver.txt", "resolver #1 has no server; 8.8.8.8 only in the scoped section",
			nil},
		// A Supplemental resolver without a domain line matches every name
		// (SupplementalMatchDomains ""): macOS asks it before the next one.
		{"scutil-dns-eduvpn-supplemental-vpn-first.txt", "eduVPN's match-all resolver on utun2, not 8.8.8.8 of resolver #2",
			[]string{"10.83.200.1:53", "[fdbf:5677:c5d:e515::1]:53"}},
		{"scutil-dns-tailscale-supplemental-first.txt", "the VPN's match-all resolver on utun2, not the en0 one of resolver #2",
			[]string{"172.33.66.13:53", "172.33.66.12:53", "172.33.66.11:53"}},
		{"scutil-dns-openfortivpn-ppp-supplemental-first.txt", "ppp0's match-all resolver, whose servers the reporter hid as <dns1>, <dns2>: not 10.0.2.1 of resolver #2",
			nil},
		{"scutil-dns-ipv6-linklocal-first.txt", "a link-local server keeps its zone; no 'DNS configuration' header",
			[]string{"[fe80::8e3b:adff:fead:7bf6%en0]:53", "192.168.1.1:53"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			got := ParseScutilDNS(realDarwin(t, c.file))
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: got %q, want %q", c.why, got, c.want)
			}
		})
	}
}

// A link-local server with its zone is an address Go can dial.
func TestRealScutilDNSLinkLocalDialable(t *testing.T) {
	got := ParseScutilDNS(realDarwin(t, "scutil-dns-ipv6-linklocal-first.txt"))
	if len(got) == 0 {
		t.Fatal("no server")
	}
	ap, err := netip.ParseAddrPort(got[0])
	if err != nil || ap.Addr().Zone() != "en0" || !ap.Addr().IsLinkLocalUnicast() || ap.Port() != 53 {
		t.Errorf("%q: %v %v", got[0], ap, err)
	}
}

// scutil --proxy: a PAC URL, else the HTTPS proxy, else the HTTP one; arrays
// (ExceptionsList) are not read as settings.
func TestRealScutilProxy(t *testing.T) {
	for _, c := range []struct {
		file string
		want Proxy
	}{
		{"scutil-proxy-pac-wpad.txt", Proxy{Mode: "pac", Source: "scutil", URL: "http://wpad.company.com/wpad.dat"}},
		{"scutil-proxy-manual-http-https.txt", Proxy{Mode: "manual", Source: "scutil", URL: "http://example.proxy:80"}},
		{"scutil-proxy-none-ftppassive.txt", Proxy{Mode: "none"}},
		{"scutil-proxy-none-exceptions-array.txt", Proxy{Mode: "none"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			if got := ParseScutilProxy(realDarwin(t, c.file)); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// route -n get default (and the same command's output for other
// destinations, which has the same shape).
func TestRealRouteGet(t *testing.T) {
	for _, c := range []struct {
		file string
		want *Route
	}{
		{"route-get-default-en0.txt", &Route{Interface: "en0", Gateway: "10.160.24.1"}},
		{"route-get-default-en0-vpn-split.txt", &Route{Interface: "en0", Gateway: "10.62.96.1"}},
		{"route-get-1-utun-half-default.txt", &Route{Interface: "utun3", Gateway: "192.168.12.1"}},
		{"route-get-default-ipsec0.txt", &Route{Interface: "ipsec0"}}, // point-to-point: no gateway line
		{"route-get-inet6-not-in-table.txt", nil},                     // no IPv6 default route
	} {
		t.Run(c.file, func(t *testing.T) {
			got := ParseRouteGet(realDarwin(t, c.file))
			switch {
			case c.want == nil && got != nil:
				t.Errorf("got %+v, want no route", *got)
			case c.want != nil && (got == nil || *got != *c.want):
				t.Errorf("got %+v, want %+v", got, *c.want)
			}
		})
	}
}

// The route internet traffic takes: `route -n get default` together with
// the route to one internet address. The two route-get-… files of the VPN
// case were taken on one Mac at one moment.
func TestRealRouteInUse(t *testing.T) {
	vpnDefault := realDarwin(t, "route-get-default-en0-vpn-split.txt")
	half := realDarwin(t, "route-get-1-utun-half-default.txt")
	plain := realDarwin(t, "route-get-default-en0.txt")
	noRoute := realDarwin(t, "route-get-inet6-not-in-table.txt")
	for _, c := range []struct {
		name          string
		def, internet string
		want          *Route
	}{
		{"VPN's 0/1 route beats en0's default", vpnDefault, half, &Route{Interface: "utun3", Gateway: "192.168.12.1"}},
		{"same interface: the default route", plain, plain, &Route{Interface: "en0", Gateway: "10.160.24.1"}},
		{"second command failed", vpnDefault, "", &Route{Interface: "en0", Gateway: "10.62.96.1"}},
		{"second route not in table", vpnDefault, noRoute, &Route{Interface: "en0", Gateway: "10.62.96.1"}},
		{"no default route, only the half-default", noRoute, half, &Route{Interface: "utun3", Gateway: "192.168.12.1"}},
		{"neither", noRoute, noRoute, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ParseRouteInUse(c.def, c.internet)
			switch {
			case c.want == nil && got != nil:
				t.Errorf("got %+v, want no route", *got)
			case c.want != nil && (got == nil || *got != *c.want):
				t.Errorf("got %+v, want %+v", got, *c.want)
			}
		})
	}
}

// scutil --nwi: a Mac with an IPv4 state is not reported as offline (macOS
// does not test internet access, so nothing else is said either).
func TestRealScutilNWI(t *testing.T) {
	for _, file := range []string{
		"scutil-nwi-en8-en0-ipv4-only.txt", // IPv6 REACH is Not Reachable, IPv4's is Reachable
		"scutil-nwi-older-format-en0.txt",  // older layout: "reach 0x…" under each interface
	} {
		t.Run(file, func(t *testing.T) {
			if conn, ok := ParseScutilNWI(realDarwin(t, file)); ok {
				t.Errorf("got %q, want no verdict", conn)
			}
		})
	}
}

// sysctl kern.boottime: the uptime at a chosen now, and the boot time it
// implies is the date sysctl printed after the braces.
func TestRealBoottime(t *testing.T) {
	for _, c := range []struct {
		file    string
		zone    *time.Location // the machine's zone, as sec and the printed date imply
		printed string
	}{
		{"sysctl-kern.boottime-2025.txt", time.FixedZone("UTC+3", 3*3600), "Wed Apr 30 01:44:03 2025"},
		{"sysctl-kern.boottime-macos10.14.6.txt", time.FixedZone("PDT", -7*3600), "Mon Jun 22 07:34:39 2020"},
	} {
		t.Run(c.file, func(t *testing.T) {
			boot, err := time.ParseInLocation(time.ANSIC, c.printed, c.zone)
			if err != nil {
				t.Fatal(err)
			}
			up := 3*24*time.Hour + 4*time.Hour + 5*time.Minute
			d, ok := ParseBoottime(realDarwin(t, c.file), boot.Add(up))
			if !ok || d != up {
				t.Errorf("uptime %v %v, want %v", d, ok, up)
			}
			if _, ok := ParseBoottime(realDarwin(t, c.file), boot.Add(-time.Minute)); ok {
				t.Error("a clock before the boot time must not give an uptime")
			}
		})
	}
}

// networksetup -listallhardwareports: device -> port, and which device is
// the Wi-Fi one (as facts_darwin.go picks it).
func TestRealHardwarePorts(t *testing.T) {
	for _, c := range []struct {
		file string
		want map[string]string
	}{
		{"networksetup-listallhardwareports-macbook-wifi-en0.txt", map[string]string{
			"en0": "Wi-Fi", "en5": "iPhone USB", "en3": "Bluetooth PAN",
			"en1": "Thunderbolt 1", "en2": "Thunderbolt 2", "bridge0": "Thunderbolt Bridge",
		}},
		{"networksetup-listallhardwareports-usb-ethernet-adapters.txt", map[string]string{
			"en4": "Ethernet Adapter (en4)", "en5": "Ethernet Adapter (en5)", "en8": "AX88179A",
			"en6": "Ethernet Adapter (en6)", "en0": "Wi-Fi", "en1": "Thunderbolt 1",
			"en2": "Thunderbolt 2", "en3": "Thunderbolt 3", "bridge0": "Thunderbolt Bridge",
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			got := ParseHardwarePorts(realDarwin(t, c.file))
			if len(got) != len(c.want) {
				t.Errorf("%d ports %v, want %d", len(got), got, len(c.want))
			}
			for dev, port := range c.want {
				if got[dev] != port {
					t.Errorf("%s: %q, want %q", dev, got[dev], port)
				}
			}
			var wifi []string
			for dev, port := range got {
				if port == "Wi-Fi" || port == "AirPort" {
					wifi = append(wifi, dev)
				}
			}
			if !slices.Equal(wifi, []string{"en0"}) {
				t.Errorf("Wi-Fi devices %v, want [en0]", wifi)
			}
		})
	}
}

// system_profiler -json SPAirPortDataType: the signal of the network en0 is
// on (-48 dBm), not a neighbour's (the same network is also listed among the
// neighbours at -39 dBm); awdl0's current-network block has no signal.
func TestRealAirportJSON(t *testing.T) {
	b := []byte(realDarwin(t, "system_profiler-SPAirPortDataType-json-connected.txt"))
	if v, ok := ParseAirportJSON(b, "en0"); !ok || v != -48 {
		t.Errorf("en0: %v %v, want -48 dBm", v, ok)
	}
	if v, ok := ParseAirportJSON(b, "awdl0"); ok {
		t.Errorf("awdl0 has no signal, got %v", v)
	}
	if v, ok := ParseAirportJSON(b, "en1"); ok {
		t.Errorf("en1 is not in the output, got %v", v)
	}
}
