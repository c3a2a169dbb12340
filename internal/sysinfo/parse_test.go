package sysinfo

import (
	"testing"
	"time"
)

func TestParseGsettingsProxy(t *testing.T) {
	cases := map[string]Proxy{
		"'none'\n''\n''\n0":                         {Mode: "none"},
		"'manual'\n''\n'proxy.lan'\n3128":           {Mode: "manual", Source: "gnome", URL: "http://proxy.lan:3128"},
		"'auto'\n'http://wpad.lan/wpad.dat'\n''\n0": {Mode: "pac", Source: "gnome", URL: "http://wpad.lan/wpad.dat"},
		"'manual'\n''\n''\n0":                       {Mode: "none"},
		"'manual'\n''\n'10.0.0.1'\nuint32 8080":     {Mode: "manual", Source: "gnome", URL: "http://10.0.0.1:8080"},
	}
	for in, want := range cases {
		if got := ParseGsettingsProxy(in); got != want {
			t.Errorf("%q: got %+v want %+v", in, got, want)
		}
	}
}

func TestParseSmall(t *testing.T) {
	if d, err := ParseUptime([]byte("12.5 40.0\n")); err != nil || d != 12500*time.Millisecond {
		t.Errorf("uptime %v %v", d, err)
	}
	if _, err := ParseUptime([]byte("x")); err == nil {
		t.Error("bad uptime accepted")
	}
	if s := ParseResolvConf([]byte("nameserver 8.8.8.8\nnameserver bogus\n#nameserver 1.1.1.1\nnameserver ::1\n")); len(s) != 2 || s[1] != "[::1]:53" {
		t.Errorf("resolv %v", s)
	}
	if ParseNMConnectivity("portal\n") != "portal" || ParseNMConnectivity("weird") != "" {
		t.Error("nm")
	}
	if r, err := ParseProcRoute([]byte("Iface\tDestination\n")); r != nil || err != nil {
		t.Errorf("empty route table: %v %v", r, err)
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\n"))
	f.Add([]byte(" wlan0: 0000   41.  -69.  -256        0      0      0      3     17        0\n"))
	f.Add([]byte("00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseProcRoute(b)
		_, _ = ParseIPv6Route(b)
		_ = ParseResolvConf(b)
		_ = ParseProcWireless(b)
		_, _ = ParseUptime(b)
		_ = ParseGsettingsProxy(string(b))
	})
}
