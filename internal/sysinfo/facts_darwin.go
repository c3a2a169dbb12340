//go:build darwin

package sysinfo

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
)

// Live reads the facts of the running macOS system from scutil (proxy, DNS,
// whether there is any network), route (default gateway), networksetup and
// system_profiler (which device is Wi-Fi, and its signal), sysctl (boot
// time), the app bundles' Info.plist (browser versions) and ps (running
// browsers).
type Live struct{}

var macApps = map[string]string{
	"chrome":   "/Applications/Google Chrome.app",
	"edge":     "/Applications/Microsoft Edge.app",
	"brave":    "/Applications/Brave Browser.app",
	"chromium": "/Applications/Chromium.app",
	"firefox":  "/Applications/Firefox.app",
	"safari":   "/Applications/Safari.app",
}

// Facts implements Source.
func (Live) Facts(ctx context.Context) (*Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, FactsDeadline)
	defer cancel()
	f := &Facts{OS: "darwin", Proxy: Proxy{Mode: "none"}}
	f.Home, _ = os.UserHomeDir()
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() }
	skip := func(k, why string) { mu.Lock(); f.skip(k, why); mu.Unlock() }
	var ports map[string]string
	run(func() {
		out, err := command(ctx, "networksetup", "-listallhardwareports")
		mu.Lock()
		if err == nil {
			ports = ParseHardwarePorts(out)
		}
		mu.Unlock()
	})
	var physical *Route // the default route itself, under any VPN's routes
	run(func() {
		out, err := command(ctx, "route", "-n", "get", "default")
		// A VPN's 0/1 + 128/1 routes carry internet traffic past the default
		// route; the route to one internet address shows them. 192.0.2.1 is
		// a documentation address (RFC 5737): unlike a public resolver's, no
		// VPN has reason to route it alone.
		inet, _ := command(ctx, "route", "-n", "get", "192.0.2.1")
		r := ParseRouteInUse(out, inet)
		if err != nil && r == nil {
			skip(FactRoute, "route: "+err.Error())
			return
		}
		out6, _ := command(ctx, "route", "-n", "get", "-inet6", "default")
		mu.Lock()
		f.DefaultRoute, f.DefaultRoute6, physical = r, ParseRouteGet(out6), ParseRouteGet(out)
		mu.Unlock()
	})
	run(func() {
		out, err := command(ctx, "scutil", "--dns")
		if err != nil {
			skip(FactDNS, "scutil: "+err.Error())
			return
		}
		mu.Lock()
		f.DNSServers, f.DNSSource = ParseScutilDNS(out), "scutil --dns"
		mu.Unlock()
	})
	run(func() {
		out, err := command(ctx, "scutil", "--nwi")
		if err != nil {
			skip(FactConnectivity, "scutil: "+err.Error())
			return
		}
		conn, ok := ParseScutilNWI(out)
		if !ok {
			skip(FactConnectivity, "macOS sees a way out, but does not test internet access itself")
			return
		}
		mu.Lock()
		f.Connectivity, f.ConnectivitySource = conn, "macOS"
		mu.Unlock()
	})
	run(func() {
		out, err := command(ctx, "scutil", "--proxy")
		if err != nil {
			skip(FactProxy, "scutil: "+err.Error())
			return
		}
		p := ParseScutilProxy(out)
		mu.Lock()
		f.Proxy = p
		mu.Unlock()
	})
	run(func() {
		out, err := command(ctx, "sysctl", "-n", "kern.boottime")
		d, ok := ParseBoottime(out, time.Now())
		if err != nil || !ok {
			skip(FactUptime, "sysctl kern.boottime unreadable")
			return
		}
		mu.Lock()
		f.Uptime = d
		mu.Unlock()
	})
	var airport string
	run(func() {
		out, err := command(ctx, "system_profiler", "-json", "SPAirPortDataType")
		if err == nil {
			mu.Lock()
			airport = out
			mu.Unlock()
		}
	})
	run(func() {
		bs := macBrowsers(ctx, f.Home)
		mu.Lock()
		f.Browsers = bs
		mu.Unlock()
	})
	wg.Wait()

	ifs, err := net.Interfaces()
	if err != nil {
		f.skip(FactInterfaces, err.Error())
	}
	wifiDev := ""
	for dev, port := range ports {
		if port == "Wi-Fi" || port == "AirPort" {
			wifiDev = dev
		}
	}
	for _, ni := range ifs {
		it := Interface{Name: ni.Name, Kind: KindOther, Up: ni.Flags&net.FlagUp != 0 && ni.Flags&net.FlagRunning != 0}
		v4 := false
		if as, err := ni.Addrs(); err == nil {
			for _, a := range as {
				it.Addrs = append(it.Addrs, a.String())
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					v4 = true
				}
			}
		}
		switch {
		case ni.Flags&net.FlagLoopback != 0:
			it.Kind = KindLoopback
		case ni.Name == wifiDev:
			it.Kind = KindWiFi
		case strings.HasPrefix(ni.Name, "utun") || strings.HasPrefix(ni.Name, "ipsec"):
			// macOS keeps several utun interfaces for its own services with
			// link-local IPv6 only; one with an IPv4 address is a VPN.
			if v4 {
				it.Kind = KindTun
			} else {
				it.Up = false
			}
		case strings.HasPrefix(ni.Name, "ppp"):
			it.Kind = KindPPP
		case ports[ni.Name] != "" && !strings.Contains(ports[ni.Name], "Bridge"):
			it.Kind = KindEthernet
		}
		f.Interfaces = append(f.Interfaces, it)
	}
	// Traffic leaves over Wi-Fi when the default route does, even when a
	// VPN's routes carry it first (DefaultRoute is then the VPN's).
	signal, haveSignal := ParseAirportJSON([]byte(airport), wifiDev)
	switch {
	case wifiDev == "":
		f.skip(FactWiFi, "no Wi-Fi adapter")
	case physical != nil && physical.Interface == wifiDev && haveSignal:
		f.WiFi = &WiFi{Interface: wifiDev, SignalDBM: signal}
	case physical != nil && physical.Interface == wifiDev:
		f.skip(FactWiFi, "signal not readable")
	}
	return f, ctx.Err()
}

func macBrowsers(ctx context.Context, home string) []Browser {
	profiles := browsers.FindProfiles(home, "darwin")
	running := processNames(ctx)
	var out []Browser
	for name, app := range macApps {
		b, err := os.ReadFile(filepath.Join(app, "Contents", "Info.plist"))
		if err != nil {
			continue
		}
		br := Browser{Name: name, Version: PlistVersion(b)}
		for _, s := range browsers.Specs("darwin") {
			if s.Name != name {
				continue
			}
			if br.Version == "" {
				br.Version = browsers.Version(s, home, profiles)
			}
			for _, pn := range s.Process {
				br.Running = br.Running || running[pn]
			}
		}
		if name == "safari" {
			br.Running = running["Safari"]
		}
		out = append(out, br)
	}
	return out
}

func processNames(ctx context.Context) map[string]bool {
	running := map[string]bool{}
	if out, err := command(ctx, "ps", "-axco", "command"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			running[strings.TrimSpace(l)] = true
		}
	}
	return running
}

// ProcessesRunning reports the names of the programs that run now.
func ProcessesRunning() map[string]bool { return processNames(context.Background()) }

// BrowsersRunning reports which known browsers have a process now.
func BrowsersRunning() map[string]bool {
	procs := processNames(context.Background())
	out := map[string]bool{"safari": procs["Safari"]}
	for _, sp := range browsers.Specs("darwin") {
		for _, pn := range sp.Process {
			out[sp.Name] = out[sp.Name] || procs[pn]
		}
	}
	return out
}
