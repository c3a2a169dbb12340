package sysinfo

import (
	"os"
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
	if s := ParseScutilDNS(mac(t, "scutil-dns.txt")); len(s) != 2 || s[0] != "192.168.1.1:53" || s[1] != "[fe80::1]:53" {
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

func FuzzMacParsers(f *testing.F) {
	for _, n := range []string{"scutil-proxy-manual.txt", "scutil-dns.txt", "route-get-default.txt", "system-profiler-airport.json"} {
		f.Add(mac(f, n))
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseScutilProxy(s)
		_ = ParseScutilDNS(s)
		_ = ParseRouteGet(s)
		_, _ = ParseBoottime(s, time.Now())
		_ = ParseHardwarePorts(s)
		if v, ok := ParseAirportJSON([]byte(s), "en0"); ok && (v > 0 || v < -130) {
			t.Fatalf("signal %v", v)
		}
		_ = PlistVersion([]byte(s))
	})
}
