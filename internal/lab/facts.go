package lab

import (
	"fmt"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

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
	if sc.System.Link != "none" && sc.System.DHCP != "failed" && sc.System.Route != "none" {
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
