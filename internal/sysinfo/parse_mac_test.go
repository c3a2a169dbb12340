package sysinfo

import (
	"os"
	"slices"
	"testing"
	"time"
)

func mac(t testing.TB, name string) string {
	b, err := os.ReadFile("testdata/macos/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMacParsers(t *testing.T) {
	if p := ParseScutilProxy(mac(t, "scutil-proxy-none.txt")); p.Mode != "none" {
		t.Errorf("none: %+v", p)
	}
	if p := ParseScutilProxy(mac(t, "scutil-proxy-manual.txt")); p.Mode != "manual" || p.URL != "http://proxy.corp.example:3128" {
		t.Errorf("manual: %+v", p)
	}
	if p := ParseScutilProxy(mac(t, "scutil-proxy-pac.txt")); p.Mode != "pac" || p.URL != "http://wpad.corp.example/wpad.dat" {
		t.Errorf("pac: %+v", p)
	}
	if s := ParseScutilDNS(mac(t, "scutil-dns.txt")); len(s) != 2 || s[0] != "192.168.1.1:53" || s[1] != "[fe80::1%en0]:53" {
		t.Errorf("dns: %v", s)
	}
	if r := ParseRouteGet(mac(t, "route-get-default.txt")); r == nil || r.Gateway != "192.168.1.1" || r.Interface != "en0" {
		t.Errorf("route: %+v", r)
	}
	if r := ParseRouteGet(mac(t, "route-get-default-vpn.txt")); r == nil || r.Gateway != "" || r.Interface != "utun4" {
		t.Errorf("vpn route: %+v", r)
	}
	if r := ParseRouteGet("route: writing to routing socket: not in table\n"); r != nil {
		t.Errorf("no route: %+v", r)
	}
	if d, ok := ParseBoottime(mac(t, "sysctl-boottime.txt"), time.Unix(1795000000+7200, 0)); !ok || d != 2*time.Hour {
		t.Errorf("boottime %v %v", d, ok)
	}
	if m := ParseHardwarePorts(mac(t, "networksetup-hardwareports.txt")); m["en0"] != "Wi-Fi" || m["en4"] != "Ethernet Adapter (en4)" {
		t.Errorf("ports %v", m)
	}
	if v, ok := ParseAirportJSON([]byte(mac(t, "system-profiler-airport.json")), "en0"); !ok || v != -74 {
		t.Errorf("signal %v %v (must be the current network's, not a neighbour's)", v, ok)
	}
	if _, ok := ParseAirportJSON([]byte(mac(t, "system-profiler-airport.json")), "en1"); ok {
		t.Error("signal of an interface without a current network")
	}
	if v := PlistVersion([]byte(mac(t, "chrome-info.plist"))); v != "156.0.7700.64" {
		t.Errorf("plist %q", v)
	}
}

// Cases no published output shows (configd sorts resolvers without a
// domain first), in scutil's layout.
func TestScutilDNSDefaultResolver(t *testing.T) {
	domainFirst := `DNS configuration

resolver #1
  domain   : corp.example
  nameserver[0] : 10.0.0.53
  flags    : Supplemental, Request A records

resolver #2
  nameserver[0] : 192.168.1.1
  flags    : Request A records
`
	if s := ParseScutilDNS(domainFirst); !slices.Equal(s, []string{"192.168.1.1:53"}) {
		t.Errorf("domain first: %v, want the resolver without a domain", s)
	}
	allDomains := `DNS configuration

resolver #1
  domain   : corp.example
  nameserver[0] : 10.0.0.53

resolver #2
  domain   : local
  options  : mdns

DNS configuration (for scoped queries)

resolver #1
  nameserver[0] : 192.168.1.1
  flags    : Scoped, Request A records
`
	if s := ParseScutilDNS(allDomains); s != nil {
		t.Errorf("every resolver has a domain: %v, want none (not the scoped one)", s)
	}
	if s := ParseScutilDNS("No DNS configuration available\n"); s != nil {
		t.Errorf("no configuration: %v", s)
	}
}

// "none" cases of scutil --nwi, in the layout configd's
// nwi/network_state_information_logging.h prints (no published output of a
// Mac without network was found).
func TestScutilNWINone(t *testing.T) {
	noState := `Network information

IPv4 network interface information
   No IPv4 states found

   REACH : flags 0x00000000 (Not Reachable)

IPv6 network interface information
   No IPv6 states found


   REACH : flags 0x00000000 (Not Reachable)
`
	if c, ok := ParseScutilNWI(noState); !ok || c != "none" {
		t.Errorf("no state: %q %v", c, ok)
	}
	// The same without the REACH lines (an output cut short).
	cut := "Network information\n\nIPv4 network interface information\n   No IPv4 states found\n\n" +
		"IPv6 network interface information\n   No IPv6 states found\n"
	if c, ok := ParseScutilNWI(cut); !ok || c != "none" {
		t.Errorf("no state, no REACH line: %q %v", c, ok)
	}
	unreachable := `Network information

IPv4 network interface information
     en0 : flags      : 0x5 (IPv4,DNS)
           address    : 169.254.10.20
           reach      : 0x00000000 (Not Reachable)

   REACH : flags 0x00000000 (Not Reachable)

IPv6 network interface information
   No IPv6 states found


   REACH : flags 0x00000000 (Not Reachable)
`
	if c, ok := ParseScutilNWI(unreachable); !ok || c != "none" {
		t.Errorf("every REACH Not Reachable: %q %v", c, ok)
	}
	for _, s := range []string{"", "No network information\n", "Network information\n"} {
		if c, ok := ParseScutilNWI(s); ok {
			t.Errorf("%q: %q, want no verdict", s, c)
		}
	}
}

func FuzzMacParsers(f *testing.F) {
	for _, n := range []string{"scutil-proxy-manual.txt", "scutil-dns.txt", "route-get-default.txt", "system-profiler-airport.json"} {
		f.Add(mac(f, n))
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseScutilProxy(s)
		_ = ParseScutilDNS(s)
		_ = ParseRouteGet(s)
		_ = ParseRouteInUse(s, s)
		if c, ok := ParseScutilNWI(s); ok && c != "none" {
			t.Fatalf("nwi %q", c)
		}
		_, _ = ParseBoottime(s, time.Now())
		_ = ParseHardwarePorts(s)
		if v, ok := ParseAirportJSON([]byte(s), "en0"); ok && (v > 0 || v < -130) {
			t.Fatalf("signal %v", v)
		}
		_ = PlistVersion([]byte(s))
	})
}
