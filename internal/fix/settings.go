package fix

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Setting is one OS setting a fix changes, with its value before (Prev)
// and after (Next). Both the change and its undo are commands built from
// these values by Commands, which checks every value first: nothing read
// back from the journal is ever run as it stands.
type Setting struct {
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"` // a connection UUID, an adapter or a network service
	Which  string `json:"which,omitempty"`  // mac_proxy_state: web | secureweb | auto
	Prev   Value  `json:"prev"`
	Next   Value  `json:"next"`
}

// Value is a setting's value.
type Value struct {
	S    string   `json:"s,omitempty"`
	L    []string `json:"l,omitempty"`
	Flag string   `json:"flag,omitempty"`
}

// The kinds of setting.
const (
	GnomeProxyMode   = "gnome_proxy_mode"
	WinProxyEnable   = "win_proxy_enable"
	WinAutoConfigURL = "win_autoconfig_url"
	MacProxyState    = "mac_proxy_state"
	NMDNS            = "nm_dns"
	WinDNS           = "win_dns"
	MacDNS           = "mac_dns"
)

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	macProxies = map[string][2]string{ // which -> get, set
		"web":       {"-getwebproxy", "-setwebproxystate"},
		"secureweb": {"-getsecurewebproxy", "-setsecurewebproxystate"},
		"auto":      {"-getautoproxyurl", "-setautoproxystate"},
	}
)

// plainName: an adapter or service name as the OS shows it: printable, no
// quotes, not empty, not too long.
func plainName(s string) error {
	if s == "" || len(s) > 256 || strings.ContainsAny(s, "\"'`") || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%q is not a network name", s)
	}
	return nil
}

func ips(l []string) error {
	for _, s := range l {
		if net.ParseIP(s) == nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
	}
	return nil
}

// Commands builds the command lines that set s to v, checking every part.
func (s Setting) Commands(v Value) ([][]string, error) {
	bad := func(err error) ([][]string, error) { return nil, fmt.Errorf("setting %s: %w", s.Kind, err) }
	switch s.Kind {
	case GnomeProxyMode:
		switch v.S {
		case "none", "manual", "auto":
			return [][]string{{"gsettings", "set", "org.gnome.system.proxy", "mode", v.S}}, nil
		}
		return bad(fmt.Errorf("mode %q is not none, manual or auto", v.S))
	case WinProxyEnable:
		if v.S != "0" && v.S != "1" {
			return bad(fmt.Errorf("%q is not 0 or 1", v.S))
		}
		return [][]string{{"reg", "add", winInternetSettings, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", v.S, "/f"}}, nil
	case WinAutoConfigURL:
		if v.S == "" {
			return [][]string{{"reg", "delete", winInternetSettings, "/v", "AutoConfigURL", "/f"}}, nil
		}
		u, err := url.Parse(v.S)
		if err != nil || len(v.S) > 2048 || strings.ContainsFunc(v.S, unicode.IsControl) || strings.ContainsAny(v.S, "\"") ||
			(u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			return bad(fmt.Errorf("%q is not a setup script address", v.S))
		}
		return [][]string{{"reg", "add", winInternetSettings, "/v", "AutoConfigURL", "/t", "REG_SZ", "/d", v.S, "/f"}}, nil
	case MacProxyState:
		flags, ok := macProxies[s.Which]
		if !ok {
			return bad(fmt.Errorf("proxy %q is not web, secureweb or auto", s.Which))
		}
		if err := plainName(s.Target); err != nil {
			return bad(err)
		}
		if v.S != "on" && v.S != "off" {
			return bad(fmt.Errorf("%q is not on or off", v.S))
		}
		return [][]string{{"networksetup", flags[1], s.Target, v.S}}, nil
	case NMDNS:
		if !uuidRE.MatchString(s.Target) {
			return bad(fmt.Errorf("%q is not a connection UUID", s.Target))
		}
		if err := ips(v.L); err != nil {
			return bad(err)
		}
		if v.Flag != "yes" && v.Flag != "no" {
			return bad(fmt.Errorf("ignore-auto-dns %q is not yes or no", v.Flag))
		}
		return [][]string{{"nmcli", "connection", "modify", "uuid", s.Target, "ipv4.dns", strings.Join(v.L, " "), "ipv4.ignore-auto-dns", v.Flag},
			{"nmcli", "connection", "up", "uuid", s.Target}}, nil
	case WinDNS:
		if err := plainName(s.Target); err != nil {
			return bad(err)
		}
		if len(v.L) == 0 {
			return [][]string{{"netsh", "interface", "ipv4", "set", "dnsservers", "name=" + s.Target, "source=dhcp"}}, nil
		}
		if err := ips(v.L); err != nil {
			return bad(err)
		}
		out := [][]string{{"netsh", "interface", "ipv4", "set", "dnsservers", "name=" + s.Target, "source=static", "address=" + v.L[0], "register=primary", "validate=no"}}
		for i, a := range v.L[1:] {
			out = append(out, []string{"netsh", "interface", "ipv4", "add", "dnsservers", "name=" + s.Target, "address=" + a, fmt.Sprintf("index=%d", i+2), "validate=no"})
		}
		return out, nil
	case MacDNS:
		if err := plainName(s.Target); err != nil {
			return bad(err)
		}
		l := v.L
		if len(l) == 0 {
			l = []string{"Empty"} // back to the servers DHCP gives
		} else if err := ips(l); err != nil {
			return bad(err)
		}
		return [][]string{append([]string{"networksetup", "-setdnsservers", s.Target}, l...)}, nil
	}
	return nil, fmt.Errorf("unknown setting %q", s.Kind)
}

// validate checks both values of s can be built.
func (s Setting) validate() error {
	if _, err := s.Commands(s.Prev); err != nil {
		return err
	}
	_, err := s.Commands(s.Next)
	return err
}
