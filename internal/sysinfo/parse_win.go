package sysinfo

import (
	"bufio"
	"strconv"
	"strings"
)

// These parsers read what Windows reports. They carry no build tag so they
// are tested and fuzzed on every OS; only the readers that call Windows do.

// WLANInterface is one interface block of `netsh wlan show interfaces`.
type WLANInterface struct {
	Name      string
	Connected bool
	SignalDBM float64
	HasSignal bool
}

// ParseNetshWLAN reads `netsh wlan show interfaces` in any display language.
// Labels are translated (State, Status, État, Состояние), but some are not:
// "SSID" appears only while connected, "Signal" (or a few translations) is
// a percentage, and Windows 11 adds "Rssi" in dBm, which is used when
// present. The quality percentage maps to dBm as Windows documents it:
// dBm = quality / 2 − 100.
func ParseNetshWLAN(out string) []WLANInterface {
	var res []WLANInterface
	var cur *WLANInterface
	flush := func() {
		if cur != nil && cur.Name != "" {
			res = append(res, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(line, " ") {
			continue // the header line ("There is 1 interface on the system:")
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if cur == nil || (isNameKey(key) && cur.Name != "") {
			if isNameKey(key) {
				flush()
				cur = &WLANInterface{Name: val}
			}
			continue
		}
		switch {
		case key == "ssid":
			cur.Connected = val != ""
		case key == "rssi":
			if v, err := strconv.ParseFloat(val, 64); err == nil && v < 0 && v > -130 {
				cur.SignalDBM, cur.HasSignal = v, true
			}
		case key == "signal" || key == "señal" || key == "sinal" || key == "segnale" || key == "сигнал" || key == "sygnał" || key == "signaal":
			if cur.HasSignal {
				continue // Rssi came first; it is exact
			}
			p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "%"))
			if q, err := strconv.ParseFloat(strings.TrimSpace(p), 64); err == nil && q >= 0 && q <= 100 {
				cur.SignalDBM, cur.HasSignal = q/2-100, true
			}
		}
	}
	flush()
	return res
}

// isNameKey: the first field of each block names the interface.
func isNameKey(k string) bool {
	switch k {
	case "name", "nom", "nombre", "nome", "имя", "naam", "nazwa", "名称", "名前", "이름":
		return true
	}
	return false
}

// ParseWindowsProxy turns the registry values of
// HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings into a
// Proxy. ProxyServer is "host:port" or per-protocol "http=h:p;https=h:p".
func ParseWindowsProxy(enable uint32, server, autoConfigURL string) Proxy {
	if u := strings.TrimSpace(autoConfigURL); u != "" {
		return Proxy{Mode: "pac", Source: "registry", URL: u}
	}
	if enable == 0 || strings.TrimSpace(server) == "" {
		return Proxy{Mode: "none"}
	}
	chosen := ""
	for _, part := range strings.Split(server, ";") {
		part = strings.TrimSpace(part)
		if k, v, ok := strings.Cut(part, "="); ok {
			switch strings.ToLower(k) {
			case "https":
				chosen = v
			case "http":
				if chosen == "" {
					chosen = v
				}
			}
			continue
		}
		if chosen == "" {
			chosen = part
		}
	}
	if chosen == "" {
		return Proxy{Mode: "none"}
	}
	return Proxy{Mode: "manual", Source: "registry", URL: NormalizeProxyURL(chosen)}
}

// Windows interface types (ifType, IANA).
const (
	winIfEthernet = 6
	winIfPPP      = 23
	winIfWiFi     = 71
	winIfTunnel   = 131
	winIfLoopback = 24
)

// ClassifyWindowsAdapter gives an adapter's kind from its interface type and
// driver description: TAP-Windows (OpenVPN), Wintun and WireGuard adapters
// say what they are in the description.
func ClassifyWindowsAdapter(ifType uint32, description string) string {
	d := strings.ToLower(description)
	switch {
	case strings.Contains(d, "wireguard"):
		return KindWireGuard
	case strings.Contains(d, "tap-windows"), strings.Contains(d, "wintun"), strings.Contains(d, "openvpn"),
		strings.Contains(d, "tap-nordvpn"), strings.Contains(d, "tap-protonvpn"):
		return KindTun
	case ifType == winIfPPP:
		return KindPPP
	case ifType == winIfTunnel:
		return KindTun
	case ifType == winIfWiFi:
		return KindWiFi
	case ifType == winIfLoopback:
		return KindLoopback
	case ifType == winIfEthernet && !strings.Contains(d, "virtual") && !strings.Contains(d, "hyper-v"):
		return KindEthernet
	}
	return KindOther
}

// ChromiumVersionFromBLBeacon returns a Chromium browser's version from the
// "version" value of its BLBeacon registry key.
func ChromiumVersionFromBLBeacon(v string) string {
	v = strings.TrimSpace(v)
	for _, r := range v {
		if (r < '0' || r > '9') && r != '.' {
			return ""
		}
	}
	return v
}

// FirefoxVersionFromRegistry reads "131.0.3 (x64 en-US)" (the CurrentVersion
// value under HKLM\SOFTWARE\Mozilla\Mozilla Firefox).
func FirefoxVersionFromRegistry(v string) string {
	v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
	return ChromiumVersionFromBLBeacon(v)
}

// ConnectivityFromHint maps the level GetNetworkConnectivityHint reports
// (NL_NETWORK_CONNECTIVITY_LEVEL_HINT: the Network List Manager's own
// test of internet access, Windows 10 2004 and later) to Facts.Connectivity.
// ok is false for Unknown and Hidden, which say nothing.
func ConnectivityFromHint(level uint32) (conn string, ok bool) {
	switch level {
	case 1: // None
		return "none", true
	case 2: // LocalAccess: the network, no internet
		return "limited", true
	case 3: // InternetAccess
		return "full", true
	case 4: // ConstrainedInternetAccess: a captive portal
		return "portal", true
	}
	return "", false
}
