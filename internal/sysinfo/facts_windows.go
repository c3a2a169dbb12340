//go:build windows

package sysinfo

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
)

// Live reads the facts of the running Windows system: adapters, gateways,
// DNS servers and VPN adapters from GetAdaptersAddresses, the proxy from the
// registry, Wi-Fi signal from netsh, uptime from GetTickCount64, browsers
// from their profiles, registry version keys and the process list.
type Live struct{}

// Facts implements Source.
func (Live) Facts(ctx context.Context) (*Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, FactsDeadline)
	defer cancel()
	f := &Facts{OS: "windows", Proxy: Proxy{Mode: "none"}}
	f.Home, _ = os.UserHomeDir()
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() }
	run(func() {
		if err := adapters(f, &mu); err != nil {
			mu.Lock()
			f.skip(FactInterfaces, err.Error())
			f.skip(FactRoute, err.Error())
			f.skip(FactDNS, err.Error())
			mu.Unlock()
		}
	})
	run(func() {
		p, err := registryProxy()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			f.skip(FactProxy, err.Error())
			return
		}
		f.Proxy = p
	})
	run(func() {
		out, err := command(ctx, "netsh", "wlan", "show", "interfaces")
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			f.skip(FactWiFi, "netsh: "+err.Error())
			return
		}
		for _, w := range ParseNetshWLAN(out) {
			if w.Connected && w.HasSignal {
				f.WiFi = &WiFi{Interface: w.Name, SignalDBM: w.SignalDBM}
				return
			}
		}
		f.skip(FactWiFi, "not connected over Wi-Fi")
	})
	run(func() {
		conn, why := connectivityHint()
		mu.Lock()
		defer mu.Unlock()
		if why != "" {
			f.skip(FactConnectivity, why)
			return
		}
		f.Connectivity, f.ConnectivitySource = conn, "Windows"
	})
	run(func() {
		r, _, _ := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetTickCount64").Call()
		mu.Lock()
		f.Uptime = time.Duration(r) * time.Millisecond
		mu.Unlock()
	})
	run(func() {
		bs := windowsBrowsers(f.Home)
		mu.Lock()
		f.Browsers = bs
		mu.Unlock()
	})
	wg.Wait()
	// Wi-Fi is reported on the connected adapter only; a wired default route wins.
	if f.WiFi != nil && f.DefaultRoute != nil {
		for _, i := range f.Interfaces {
			if i.Name == f.DefaultRoute.Interface && i.Kind != KindWiFi {
				f.WiFi = nil
				f.skip(FactWiFi, "not connected over Wi-Fi")
			}
		}
	}
	return f, ctx.Err()
}

func adapters(f *Facts, mu *sync.Mutex) error {
	size := uint32(15000)
	var buf []byte
	for i := 0; i < 3; i++ {
		buf = make([]byte, size)
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, windows.GAA_FLAG_INCLUDE_GATEWAYS, 0,
			(*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])), &size)
		if err == nil {
			break
		}
		if err != windows.ERROR_BUFFER_OVERFLOW || i == 2 {
			return err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	best := uint32(1<<32 - 1)
	for a := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])); a != nil; a = a.Next {
		name := windows.UTF16PtrToString(a.FriendlyName)
		desc := windows.UTF16PtrToString(a.Description)
		it := Interface{Name: name, Kind: ClassifyWindowsAdapter(a.IfType, desc), Up: a.OperStatus == windows.IfOperStatusUp}
		for u := a.FirstUnicastAddress; u != nil; u = u.Next {
			if ip := u.Address.IP(); ip != nil {
				// Prefixed as Linux and macOS print them (192.0.2.2/24).
				it.Addrs = append(it.Addrs, fmt.Sprintf("%s/%d", ip, u.OnLinkPrefixLength))
			}
		}
		f.Interfaces = append(f.Interfaces, it)
		if !it.Up {
			continue
		}
		for g := a.FirstGatewayAddress; g != nil; g = g.Next {
			ip := g.Address.IP()
			if ip == nil {
				continue
			}
			r := &Route{Interface: name, Gateway: ip.String()}
			if ip.To4() != nil && a.Ipv4Metric < best {
				f.DefaultRoute, best = r, a.Ipv4Metric
			} else if ip.To4() == nil && f.DefaultRoute6 == nil {
				f.DefaultRoute6 = r
			}
		}
		if a.FirstGatewayAddress != nil {
			for d := a.FirstDnsServerAddress; d != nil; d = d.Next {
				if ip := d.Address.IP(); ip != nil && !ip.IsLinkLocalUnicast() {
					f.DNSServers = append(f.DNSServers, net.JoinHostPort(ip.String(), "53"))
				}
			}
		}
	}
	f.DNSSource = "GetAdaptersAddresses"
	return nil
}

func registryProxy() (Proxy, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, `Software\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE)
	if err != nil {
		return Proxy{Mode: "none"}, err
	}
	defer k.Close()
	enable, _, _ := k.GetIntegerValue("ProxyEnable")
	server, _, _ := k.GetStringValue("ProxyServer")
	pac, _, _ := k.GetStringValue("AutoConfigURL")
	return ParseWindowsProxy(uint32(enable), server, pac), nil
}

// registryVersion reads the version a browser keeps in the registry.
func registryVersion(name string) string {
	read := func(root registry.Key, path, value string) string {
		k, err := registry.OpenKey(root, path, registry.QUERY_VALUE)
		if err != nil {
			return ""
		}
		defer k.Close()
		v, _, _ := k.GetStringValue(value)
		return v
	}
	switch name {
	case "chrome":
		return ChromiumVersionFromBLBeacon(read(registry.CURRENT_USER, `Software\Google\Chrome\BLBeacon`, "version"))
	case "edge":
		return ChromiumVersionFromBLBeacon(read(registry.CURRENT_USER, `Software\Microsoft\Edge\BLBeacon`, "version"))
	case "brave":
		return ChromiumVersionFromBLBeacon(read(registry.CURRENT_USER, `Software\BraveSoftware\Brave-Browser\BLBeacon`, "version"))
	case "firefox":
		return FirefoxVersionFromRegistry(read(registry.LOCAL_MACHINE, `SOFTWARE\Mozilla\Mozilla Firefox`, "CurrentVersion"))
	}
	return ""
}

func windowsBrowsers(home string) []Browser {
	profiles := browsers.FindProfiles(home, "windows")
	running := processNames()
	var out []Browser
	for _, s := range browsers.Specs("windows") {
		v := registryVersion(s.Name)
		installed := v != ""
		for _, p := range profiles {
			installed = installed || p.Browser == s.Name
		}
		if !installed {
			continue
		}
		if v == "" {
			v = browsers.Version(s, home, profiles)
		}
		b := Browser{Name: s.Name, Version: v}
		for _, pn := range s.Process {
			b.Running = b.Running || running[strings.ToLower(pn)]
		}
		out = append(out, b)
	}
	return out
}

// processNames lists the running executables (lower case) from a Toolhelp snapshot.
func processNames() map[string]bool {
	running := map[string]bool{}
	if snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0); err == nil {
		var e windows.ProcessEntry32
		e.Size = uint32(unsafe.Sizeof(e))
		for err := windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
			running[strings.ToLower(windows.UTF16ToString(e.ExeFile[:]))] = true
		}
		windows.CloseHandle(snap)
	}
	return running
}

// ProcessesRunning reports the names of the programs that run now (lower case).
func ProcessesRunning() map[string]bool { return processNames() }

// BrowsersRunning reports which known browsers have a process now.
func BrowsersRunning() map[string]bool {
	procs := processNames()
	out := map[string]bool{}
	for _, sp := range browsers.Specs("windows") {
		for _, pn := range sp.Process {
			out[sp.Name] = out[sp.Name] || procs[strings.ToLower(pn)]
		}
	}
	return out
}

// connectivityHint asks the Network List Manager, through iphlpapi's
// GetNetworkConnectivityHint, whether this machine reaches the internet.
// why says, when it cannot tell, why not.
func connectivityHint() (conn, why string) {
	proc := windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetNetworkConnectivityHint")
	if proc.Find() != nil {
		return "", "this Windows does not report it (Windows 10 version 2004 or later does)"
	}
	var hint struct {
		Level, Cost                                  int32
		ApproachingDataLimit, OverDataLimit, Roaming byte
	}
	if r, _, _ := proc.Call(uintptr(unsafe.Pointer(&hint))); r != 0 {
		return "", "Windows did not say (error " + windows.Errno(r).Error() + ")"
	}
	c, ok := ConnectivityFromHint(uint32(hint.Level))
	if !ok {
		return "", "Windows does not know yet"
	}
	return c, ""
}
