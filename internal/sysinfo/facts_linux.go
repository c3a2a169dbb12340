//go:build linux

package sysinfo

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
)

// Live reads the facts of the running Linux system from /proc, /sys, /etc
// and /run, and from nmcli and gsettings where they are installed.
// Root, when set, prefixes every file path (tests point it at a fixture tree);
// Getenv and Home default to the process environment.
type Live struct {
	Root   string
	Getenv func(string) string
	Home   string
	// NoCommands skips nmcli and gsettings (fixture trees have none).
	NoCommands bool
}

func (l Live) path(p string) string { return filepath.Join(l.Root, p) }

func (l Live) read(p string) ([]byte, error) { return os.ReadFile(l.path(p)) }

// Facts implements Source. Each fact is read concurrently; a fact that cannot
// be read is recorded in NotRun, never returned as an error.
func (l Live) Facts(ctx context.Context) (*Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, FactsDeadline)
	defer cancel()
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	f := &Facts{OS: "linux", Home: l.Home}
	if f.Home == "" {
		f.Home, _ = os.UserHomeDir()
	}
	var mu sync.Mutex
	skip := func(k, why string) { mu.Lock(); f.skip(k, why); mu.Unlock() }
	var wg sync.WaitGroup
	run := func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() }

	run(func() {
		ifs, err := l.interfaces()
		if err != nil {
			skip(FactInterfaces, err.Error())
		}
		mu.Lock()
		f.Interfaces = ifs
		mu.Unlock()
		if w, err := l.read("/proc/net/wireless"); err == nil {
			levels := ParseProcWireless(w)
			for _, i := range ifs {
				if lvl, ok := levels[i.Name]; ok && i.Up {
					mu.Lock()
					f.WiFi = &WiFi{Interface: i.Name, SignalDBM: lvl}
					mu.Unlock()
					break
				}
			}
		}
	})
	run(func() {
		b, err := l.read("/proc/net/route")
		if err != nil {
			skip(FactRoute, err.Error())
			return
		}
		r, err := ParseProcRoute(b)
		if err != nil {
			skip(FactRoute, err.Error())
		}
		var r6 *Route
		if b6, err := l.read("/proc/net/ipv6_route"); err == nil {
			r6, _ = ParseIPv6Route(b6)
		}
		mu.Lock()
		f.DefaultRoute, f.DefaultRoute6 = r, r6
		mu.Unlock()
	})
	run(func() {
		b, err := l.read("/etc/resolv.conf")
		if err != nil {
			skip(FactDNS, err.Error())
			return
		}
		servers := ParseResolvConf(b)
		src := "/etc/resolv.conf"
		var ups []string
		for _, s := range servers {
			if strings.HasPrefix(s, "127.0.0.53:") { // systemd-resolved stub
				src = "systemd-resolved"
				if u, err := l.read("/run/systemd/resolve/resolv.conf"); err == nil {
					ups = ParseResolvConf(u)
				}
			}
		}
		mu.Lock()
		f.DNSServers, f.DNSUpstreams, f.DNSSource = servers, ups, src
		mu.Unlock()
	})
	run(func() {
		p := ProxyFromEnv(getenv)
		if p.Mode == "none" && !l.NoCommands {
			out, err := command(ctx, "gsettings", "get", "org.gnome.system.proxy", "mode")
			if errors.Is(err, context.DeadlineExceeded) {
				skip(FactProxy, "gsettings did not answer in time")
			}
			if err == nil {
				rest := []string{out}
				for _, a := range [][]string{
					{"org.gnome.system.proxy", "autoconfig-url"},
					{"org.gnome.system.proxy.https", "host"},
					{"org.gnome.system.proxy.https", "port"},
				} {
					o, _ := command(ctx, "gsettings", "get", a[0], a[1])
					rest = append(rest, o)
				}
				p = ParseGsettingsProxy(strings.Join(rest, "\n"))
			}
		}
		mu.Lock()
		f.Proxy = p
		mu.Unlock()
	})
	run(func() {
		if l.NoCommands {
			return
		}
		out, err := command(ctx, "nmcli", "-t", "-f", "CONNECTIVITY", "general")
		c := ""
		if err == nil {
			c = ParseNMConnectivity(out)
		}
		mu.Lock()
		defer mu.Unlock()
		if c == "" {
			f.skip(FactConnectivity, "NetworkManager not present")
			return
		}
		f.Connectivity, f.ConnectivitySource = c, "NetworkManager"
	})
	run(func() {
		b, err := l.read("/proc/uptime")
		if err != nil {
			skip(FactUptime, err.Error())
			return
		}
		d, err := ParseUptime(b)
		if err != nil {
			skip(FactUptime, err.Error())
			return
		}
		mu.Lock()
		f.Uptime = d
		mu.Unlock()
	})
	run(func() {
		bs := l.browsers(f.Home, getenv)
		mu.Lock()
		f.Browsers = bs
		mu.Unlock()
	})
	wg.Wait()
	if _, ok := f.NotRun[FactWiFi]; !ok && f.WiFi == nil {
		hasWiFi := false
		for _, i := range f.Interfaces {
			hasWiFi = hasWiFi || i.Kind == KindWiFi
		}
		if !hasWiFi {
			f.skip(FactWiFi, "no Wi-Fi adapter")
		}
	}
	return f, ctx.Err()
}

// interfaces lists /sys/class/net with their kind and state.
func (l Live) interfaces() ([]Interface, error) {
	dir := l.path("/sys/class/net")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, e := range ents {
		name := e.Name()
		base := filepath.Join(dir, name)
		rd := func(p string) string {
			b, _ := os.ReadFile(filepath.Join(base, p))
			return strings.TrimSpace(string(b))
		}
		i := Interface{Name: name, Kind: KindOther}
		typ, _ := strconv.Atoi(rd("type"))
		uevent := rd("uevent")
		switch {
		case typ == 772:
			i.Kind = KindLoopback
		case strings.Contains(uevent, "DEVTYPE=wireguard"):
			i.Kind = KindWireGuard
		case typ == 512:
			i.Kind = KindPPP
		case fileExists(filepath.Join(base, "tun_flags")) || typ == 65534:
			i.Kind = KindTun
		case strings.Contains(uevent, "DEVTYPE=wlan") || fileExists(filepath.Join(base, "wireless")) || fileExists(filepath.Join(base, "phy80211")):
			i.Kind = KindWiFi
		case typ == 1 && !strings.Contains(uevent, "DEVTYPE=") && fileExists(filepath.Join(base, "device")):
			// A real (or virtual-machine) NIC has a device behind it; bridges,
			// bonds and VLANs carry a DEVTYPE, and veth, ifb and dummy have no device.
			i.Kind = KindEthernet
		}
		oper := rd("operstate")
		flags, _ := strconv.ParseUint(strings.TrimPrefix(rd("flags"), "0x"), 16, 32)
		up := flags&1 != 0
		carrier := rd("carrier") == "1"
		i.Up = up && (oper == "up" || (oper == "unknown" && carrier))
		if i.Kind == KindLoopback {
			i.Up = up
		}
		if ni, err := net.InterfaceByName(name); err == nil && l.Root == "" {
			if as, err := ni.Addrs(); err == nil {
				for _, a := range as {
					i.Addrs = append(i.Addrs, a.String())
				}
			}
		}
		out = append(out, i)
	}
	return out, nil
}

var browserBinaries = map[string][]string{
	"chrome":   {"google-chrome", "google-chrome-stable"},
	"chromium": {"chromium", "chromium-browser"},
	"edge":     {"microsoft-edge", "microsoft-edge-stable"},
	"brave":    {"brave-browser"},
	"firefox":  {"firefox", "firefox-esr"},
}

// browsers finds installed browsers: a profile under home or a binary on PATH.
func (l Live) browsers(home string, getenv func(string) string) []Browser {
	profiles := browsers.FindProfiles(home, "linux")
	running := l.runningProcesses()
	var out []Browser
	for _, s := range browsers.Specs("linux") {
		installed := false
		for _, p := range profiles {
			installed = installed || p.Browser == s.Name
		}
		for _, bin := range browserBinaries[s.Name] {
			if !installed && l.Root == "" {
				if _, err := exec.LookPath(bin); err == nil {
					installed = true
				}
			}
		}
		if !installed {
			continue
		}
		b := Browser{Name: s.Name, Version: browsers.Version(s, home, profiles)}
		for _, pn := range s.Process {
			b.Running = b.Running || running[pn]
		}
		out = append(out, b)
	}
	return out
}

// runningProcesses returns the command names under /proc.
func (l Live) runningProcesses() map[string]bool {
	out := map[string]bool{}
	ents, err := os.ReadDir(l.path("/proc"))
	if err != nil {
		return out
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(l.path("/proc"), e.Name(), "comm"))
		if err == nil {
			out[strings.TrimSpace(string(b))] = true
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ProcessesRunning reports the names of the programs that run now, from
// /proc only.
func ProcessesRunning() map[string]bool { return Live{}.runningProcesses() }

// BrowsersRunning reports which known browsers have a process now, from
// /proc only (no helper programs, nothing written).
func BrowsersRunning() map[string]bool {
	procs := Live{}.runningProcesses()
	out := map[string]bool{}
	for _, sp := range browsers.Specs("linux") {
		for _, pn := range sp.Process {
			out[sp.Name] = out[sp.Name] || procs[pn]
		}
	}
	return out
}
