//go:build linux

package sysinfo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
)

func TestLiveLaptopFixture(t *testing.T) {
	home := t.TempDir()
	if _, err := fixture.Write(home, "linux", fixture.Profile{Browser: "firefox", Version: "157.0.1", Domain: "netflix.com", SiteCookies: 3}, time.Now()); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	f, err := Live{Root: "testdata/linux/laptop", Home: home, NoCommands: true, Getenv: func(k string) string { return env[k] }}.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	up := map[string]bool{}
	for _, i := range f.Interfaces {
		kinds[i.Name], up[i.Name] = i.Kind, i.Up
	}
	if kinds["wlan0"] != KindWiFi || kinds["wg0"] != KindWireGuard || kinds["lo"] != KindLoopback || kinds["eth0"] != KindEthernet {
		t.Errorf("kinds %v", kinds)
	}
	if !up["wlan0"] || !up["wg0"] || up["eth0"] {
		t.Errorf("up %v", up)
	}
	if f.DefaultRoute == nil || f.DefaultRoute.Interface != "wlan0" || f.DefaultRoute.Gateway != "192.168.1.1" {
		t.Errorf("route %+v", f.DefaultRoute)
	}
	if f.DefaultRoute6 == nil || f.DefaultRoute6.Gateway != "fd00::1" {
		t.Errorf("route6 %+v", f.DefaultRoute6)
	}
	if f.WiFi == nil || f.WiFi.SignalDBM != -69 {
		t.Errorf("wifi %+v", f.WiFi)
	}
	if f.DNSSource != "systemd-resolved" || len(f.DNSServers) != 1 || f.DNSServers[0] != "127.0.0.53:53" ||
		len(f.DNSUpstreams) != 2 || f.DNSUpstreams[1] != "[fe80::1]:53" {
		t.Errorf("dns %v %v %s", f.DNSServers, f.DNSUpstreams, f.DNSSource)
	}
	if f.Uptime != 1296000520*time.Millisecond {
		t.Errorf("uptime %s", f.Uptime)
	}
	if len(f.Browsers) != 1 || f.Browsers[0].Name != "firefox" || f.Browsers[0].Version != "157.0.1" || !f.Browsers[0].Running {
		t.Errorf("browsers %+v", f.Browsers)
	}
	if f.Proxy.Mode != "none" {
		t.Errorf("proxy %+v", f.Proxy)
	}
	env["https_proxy"] = "proxy.corp:3128"
	f, _ = Live{Root: "testdata/linux/laptop", Home: home, NoCommands: true, Getenv: func(k string) string { return env[k] }}.Facts(context.Background())
	if f.Proxy.Mode != "manual" || f.Proxy.URL != "http://proxy.corp:3128" || f.Proxy.Source != "env" {
		t.Errorf("proxy from env %+v", f.Proxy)
	}
}

func TestLiveDesktopFixture(t *testing.T) {
	f, err := Live{Root: "testdata/linux/desktop", Home: t.TempDir(), NoCommands: true, Getenv: func(string) string { return "" }}.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.DefaultRoute == nil || f.DefaultRoute.Gateway != "192.0.2.1" || f.DefaultRoute6 != nil {
		t.Errorf("routes %+v %+v", f.DefaultRoute, f.DefaultRoute6)
	}
	if _, ok := f.Skipped(FactWiFi); !ok || f.WiFi != nil {
		t.Errorf("wifi should be not run: %+v", f.NotRun)
	}
	for _, i := range f.Interfaces {
		if i.Name == "docker0" && i.Kind != KindOther {
			t.Errorf("bridge classed as %s", i.Kind)
		}
	}
	if len(f.DNSServers) != 2 || f.DNSServers[1] != "1.1.1.1:53" {
		t.Errorf("dns %v", f.DNSServers)
	}
}

func TestLiveMissingRoot(t *testing.T) {
	f, err := Live{Root: t.TempDir(), Home: t.TempDir(), NoCommands: true}.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{FactInterfaces, FactRoute, FactDNS, FactUptime} {
		if _, ok := f.Skipped(k); !ok {
			t.Errorf("%s not reported as not run", k)
		}
	}
}

// A helper program that hangs and leaves a child holding its output costs
// its own fact only, and about a second, not minutes.
func TestHangingHelperCostsOneFact(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\nsleep 30 &\nsleep 30\n"
	if err := os.WriteFile(filepath.Join(bin, "gsettings"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	start := time.Now()
	f, err := Live{Root: "testdata/linux/laptop", Home: t.TempDir(), Getenv: func(string) string { return "" }}.Facts(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > 1900*time.Millisecond {
		t.Errorf("facts took %v with one hanging helper", took)
	}
	if len(f.Interfaces) == 0 || f.DefaultRoute == nil {
		t.Errorf("the other facts were lost: interfaces %v, route %v", f.Interfaces, f.DefaultRoute)
	}
	if f.NotRun[FactProxy] == "" {
		t.Errorf("the hanging helper's fact is not marked as not read: %v", f.NotRun)
	}
}
