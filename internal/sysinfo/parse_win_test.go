package sysinfo

import (
	"os"
	"testing"
)

func TestParseNetshWLANFixtures(t *testing.T) {
	cases := []struct {
		file      string
		name      string
		connected bool
		dbm       float64
	}{
		{"netsh-en-win10.txt", "Wi-Fi", true, -70},       // 60 % -> -70 dBm
		{"netsh-en-win11.txt", "Wi-Fi", true, -78},       // Rssi wins over 36 %
		{"netsh-de.txt", "WLAN", true, -59},              // 82 %
		{"netsh-fr.txt", "Wi-Fi", true, -88},             // "24 %" with a space
		{"netsh-ru.txt", "Беспроводная сеть", true, -51}, // Сигнал 98 %
	}
	for _, c := range cases {
		b, err := os.ReadFile("testdata/windows/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		got := ParseNetshWLAN(string(b))
		if len(got) != 1 || got[0].Name != c.name || got[0].Connected != c.connected || !got[0].HasSignal || got[0].SignalDBM != c.dbm {
			t.Errorf("%s: %+v", c.file, got)
		}
	}
	b, _ := os.ReadFile("testdata/windows/netsh-en-disconnected.txt")
	if got := ParseNetshWLAN(string(b)); len(got) != 1 || got[0].Connected || got[0].HasSignal {
		t.Errorf("disconnected: %+v", got)
	}
	b, _ = os.ReadFile("testdata/windows/netsh-none.txt")
	if got := ParseNetshWLAN(string(b)); len(got) != 0 {
		t.Errorf("no interface: %+v", got)
	}
}

func TestParseWindowsProxy(t *testing.T) {
	cases := []struct {
		enable      uint32
		server, pac string
		want        Proxy
	}{
		{0, "", "", Proxy{Mode: "none"}},
		{0, "proxy:8080", "", Proxy{Mode: "none"}},
		{1, "proxy.corp:8080", "", Proxy{Mode: "manual", Source: "registry", URL: "http://proxy.corp:8080"}},
		{1, "http=h1:80;https=h2:443;ftp=f:21", "", Proxy{Mode: "manual", Source: "registry", URL: "http://h2:443"}},
		{1, "http=h1:80", "", Proxy{Mode: "manual", Source: "registry", URL: "http://h1:80"}},
		{0, "", "http://wpad/wpad.dat", Proxy{Mode: "pac", Source: "registry", URL: "http://wpad/wpad.dat"}},
	}
	for _, c := range cases {
		if got := ParseWindowsProxy(c.enable, c.server, c.pac); got != c.want {
			t.Errorf("%v %q %q: %+v", c.enable, c.server, c.pac, got)
		}
	}
}

func TestClassifyWindowsAdapter(t *testing.T) {
	cases := []struct {
		ifType uint32
		desc   string
		want   string
	}{
		{6, "Intel(R) Ethernet Connection (7) I219-V", KindEthernet},
		{71, "Intel(R) Wi-Fi 6 AX201 160MHz", KindWiFi},
		{53, "WireGuard Tunnel", KindWireGuard},
		{53, "TAP-Windows Adapter V9", KindTun},
		{53, "Wintun Userspace Tunnel", KindTun},
		{23, "WAN Miniport (PPPOE)", KindPPP},
		{6, "Hyper-V Virtual Ethernet Adapter", KindOther},
		{24, "Software Loopback Interface 1", KindLoopback},
	}
	for _, c := range cases {
		if got := ClassifyWindowsAdapter(c.ifType, c.desc); got != c.want {
			t.Errorf("%d %q: %s, want %s", c.ifType, c.desc, got, c.want)
		}
	}
	if FirefoxVersionFromRegistry("131.0.3 (x64 en-US)") != "131.0.3" || ChromiumVersionFromBLBeacon("156.0.7700.12") != "156.0.7700.12" || ChromiumVersionFromBLBeacon("junk") != "" {
		t.Error("versions")
	}
}

func FuzzParseNetshWLAN(f *testing.F) {
	for _, n := range []string{"netsh-en-win10.txt", "netsh-en-win11.txt", "netsh-de.txt", "netsh-fr.txt", "netsh-ru.txt"} {
		b, _ := os.ReadFile("testdata/windows/" + n)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range ParseNetshWLAN(s) {
			if w.HasSignal && (w.SignalDBM > 0 || w.SignalDBM < -130) {
				t.Fatalf("signal %v", w.SignalDBM)
			}
		}
		_ = ParseWindowsProxy(1, s, "")
		_ = ClassifyWindowsAdapter(6, s)
	})
}

// The Network List Manager's levels map to the same words NetworkManager
// uses; Unknown and Hidden say nothing.
func TestConnectivityFromHint(t *testing.T) {
	want := map[uint32]string{1: "none", 2: "limited", 3: "full", 4: "portal"}
	for level := uint32(0); level <= 6; level++ {
		got, ok := ConnectivityFromHint(level)
		if w, known := want[level]; got != w || ok != known {
			t.Errorf("level %d: %q %v, want %q %v", level, got, ok, w, known)
		}
	}
}
