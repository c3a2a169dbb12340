package fix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Where Windows keeps the user's proxy settings.
const winInternetSettings = `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// A commandFix reads the current state through the runner and returns the
// commands that make the change, the commands that take it back (with the
// previous values), and the changes in words.
type commandFix func(ctx context.Context, e *Env) (do, undo [][]string, changes []string, err error)

var commandFixes = map[string]func(context.Context, *Env) (Plan, error){}

var builders = map[string]commandFix{
	"flush_dns":     flushDNS,
	"disable_proxy": disableProxy,
	"change_dns":    changeDNS,
}

func init() {
	for id, b := range builders {
		commandFixes[id] = func(ctx context.Context, e *Env) (Plan, error) {
			do, _, changes, err := b(ctx, e)
			return Plan{Fix: id, Automated: err == nil && len(do) > 0, Changes: changes, Commands: do}, err
		}
	}
}

func (e *Env) has(name string) bool {
	if e.Runner == nil {
		return false
	}
	if h, ok := e.Runner.(interface{ Has(string) bool }); ok {
		return h.Has(name)
	}
	return true
}

func flushDNS(_ context.Context, e *Env) (do, undo [][]string, changes []string, err error) {
	switch e.OS {
	case "windows":
		do = [][]string{{"ipconfig", "/flushdns"}}
	case "darwin":
		do = [][]string{{"dscacheutil", "-flushcache"}, {"killall", "-HUP", "mDNSResponder"}}
	case "linux":
		switch {
		case e.has("resolvectl"):
			do = [][]string{{"resolvectl", "flush-caches"}}
		case e.has("nscd"):
			do = [][]string{{"nscd", "-i", "hosts"}}
		case e.has("dnsmasq"):
			do = [][]string{{"killall", "-HUP", "dnsmasq"}}
		default:
			return nil, nil, []string{"no DNS cache runs on this machine (systemd-resolved, nscd or dnsmasq); nothing to flush"}, errors.New("no DNS cache to flush")
		}
	default:
		return nil, nil, nil, fmt.Errorf("not supported on %s", e.OS)
	}
	return do, nil, []string{"forget the DNS answers stored on this machine (nothing to undo: they are fetched again)"}, nil
}

// ParseRegQuery reads one value from `reg query KEY /v NAME`:
// "    ProxyEnable    REG_DWORD    0x1".
func ParseRegQuery(out, name string) (typ, value string, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.EqualFold(f[0], name) && strings.HasPrefix(f[1], "REG_") {
			v := ""
			if len(f) > 2 {
				line := sc.Text()
				i := strings.Index(line, f[1]) + len(f[1])
				v = strings.TrimSpace(line[i:])
			}
			return f[1], v, true
		}
	}
	return "", "", false
}

func disableProxy(_ context.Context, e *Env) (do, undo [][]string, changes []string, err error) {
	switch e.OS {
	case "linux":
		if !e.has("gsettings") {
			return nil, nil, []string{"only proxy environment variables can be set here: remove HTTPS_PROXY and HTTP_PROXY from your shell profile"}, errors.New("no GNOME proxy settings to change")
		}
		out, err := e.Runner.Run("gsettings", "get", "org.gnome.system.proxy", "mode")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("gsettings: %w", err)
		}
		mode := strings.Trim(strings.TrimSpace(out), "'")
		if mode == "none" || mode == "" {
			return nil, nil, []string{"the GNOME proxy is already off"}, nil
		}
		return [][]string{{"gsettings", "set", "org.gnome.system.proxy", "mode", "none"}},
			[][]string{{"gsettings", "set", "org.gnome.system.proxy", "mode", mode}},
			[]string{fmt.Sprintf("set the GNOME proxy mode from %q to \"none\"", mode)}, nil
	case "windows":
		en, _ := e.Runner.Run("reg", "query", winInternetSettings, "/v", "ProxyEnable")
		_, ev, _ := ParseRegQuery(en, "ProxyEnable")
		pac, _ := e.Runner.Run("reg", "query", winInternetSettings, "/v", "AutoConfigURL")
		_, pv, hasPAC := ParseRegQuery(pac, "AutoConfigURL")
		if ev != "0x1" && !hasPAC {
			return nil, nil, []string{"no proxy is set in Windows' settings"}, nil
		}
		if ev == "0x1" {
			do = append(do, []string{"reg", "add", winInternetSettings, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "0", "/f"})
			undo = append(undo, []string{"reg", "add", winInternetSettings, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "1", "/f"})
			changes = append(changes, `turn off "Use a proxy server"`)
		}
		if hasPAC {
			do = append(do, []string{"reg", "delete", winInternetSettings, "/v", "AutoConfigURL", "/f"})
			undo = append(undo, []string{"reg", "add", winInternetSettings, "/v", "AutoConfigURL", "/t", "REG_SZ", "/d", pv, "/f"})
			changes = append(changes, fmt.Sprintf("remove the setup script %s", pv))
		}
		return do, undo, changes, nil
	case "darwin":
		svcs, err := macServices(e)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, s := range svcs {
			for _, k := range []struct{ get, set, what string }{
				{"-getwebproxy", "-setwebproxystate", "web proxy"},
				{"-getsecurewebproxy", "-setsecurewebproxystate", "secure web proxy"},
				{"-getautoproxyurl", "-setautoproxystate", "automatic proxy configuration"},
			} {
				out, _ := e.Runner.Run("networksetup", k.get, s)
				if !regexp.MustCompile(`(?m)^Enabled:\s*Yes`).MatchString(out) {
					continue
				}
				do = append(do, []string{"networksetup", k.set, s, "off"})
				undo = append(undo, []string{"networksetup", k.set, s, "on"})
				changes = append(changes, fmt.Sprintf("turn off the %s of %s", k.what, s))
			}
		}
		if len(do) == 0 {
			return nil, nil, []string{"no proxy is on in any network service"}, nil
		}
		return do, undo, changes, nil
	}
	return nil, nil, nil, fmt.Errorf("not supported on %s", e.OS)
}

// ParseNetworkServices reads `networksetup -listallnetworkservices`; names
// starting with "*" are disabled services.
func ParseNetworkServices(out string) []string {
	var svcs []string
	for i, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		l = strings.TrimSpace(l)
		if i == 0 && strings.HasPrefix(l, "An asterisk") || l == "" || strings.HasPrefix(l, "*") {
			continue
		}
		svcs = append(svcs, l)
	}
	return svcs
}

func macServices(e *Env) ([]string, error) {
	out, err := e.Runner.Run("networksetup", "-listallnetworkservices")
	if err != nil {
		return nil, fmt.Errorf("networksetup: %w", err)
	}
	return ParseNetworkServices(out), nil
}

// ParseNetworkServiceOrder maps devices to service names from
// `networksetup -listnetworkserviceorder`.
func ParseNetworkServiceOrder(out string) map[string]string {
	m := map[string]string{}
	name := ""
	re := regexp.MustCompile(`^\(\d+\)\s+(.+)$`)
	dev := regexp.MustCompile(`Device:\s*([^)\s]+)\)`)
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if mm := re.FindStringSubmatch(l); mm != nil {
			name = mm[1]
		} else if mm := dev.FindStringSubmatch(l); mm != nil && name != "" {
			m[mm[1]] = name
		}
	}
	return m
}

func changeDNS(_ context.Context, e *Env) (do, undo [][]string, changes []string, err error) {
	servers := e.DNSServers
	if len(servers) == 0 {
		return nil, nil, []string{"choose the servers first: --dns 8.8.8.8,8.8.4.4 (Google) or --dns 1.1.1.1,1.0.0.1 (Cloudflare)"}, errors.New("change_dns is opt-in: pick the servers with --dns 8.8.8.8,8.8.4.4 (Google) or --dns 1.1.1.1,1.0.0.1 (Cloudflare)")
	}
	switch e.OS {
	case "linux":
		if !e.has("nmcli") {
			return nil, nil, []string{"NetworkManager is not running; set the DNS servers in your network settings"}, errors.New("needs NetworkManager")
		}
		out, err := e.Runner.Run("nmcli", "-t", "-f", "NAME,TYPE,DEVICE", "connection", "show", "--active")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("nmcli: %w", err)
		}
		conn := ""
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(l, ":")
			if len(f) >= 3 && f[1] != "loopback" && f[2] != "" && f[2] != "lo" {
				conn = f[0]
				break
			}
		}
		if conn == "" {
			return nil, nil, nil, errors.New("no active NetworkManager connection")
		}
		prevDNS, _ := e.Runner.Run("nmcli", "-g", "ipv4.dns", "connection", "show", conn)
		prevIgnore, _ := e.Runner.Run("nmcli", "-g", "ipv4.ignore-auto-dns", "connection", "show", conn)
		pd := strings.ReplaceAll(strings.TrimSpace(prevDNS), ",", " ")
		pi := strings.TrimSpace(prevIgnore)
		if pi == "" {
			pi = "no"
		}
		return [][]string{{"nmcli", "connection", "modify", conn, "ipv4.dns", strings.Join(servers, " "), "ipv4.ignore-auto-dns", "yes"}, {"nmcli", "connection", "up", conn}},
			[][]string{{"nmcli", "connection", "modify", conn, "ipv4.dns", pd, "ipv4.ignore-auto-dns", pi}, {"nmcli", "connection", "up", conn}},
			[]string{fmt.Sprintf("use %s as DNS servers on connection %q (now: %s)", strings.Join(servers, ", "), conn, orAutomatic(pd))}, nil
	case "windows":
		iface := e.winInterface()
		if iface == "" {
			return nil, nil, nil, errors.New("no connected network adapter found")
		}
		do = append(do, []string{"netsh", "interface", "ipv4", "set", "dnsservers", "name=" + iface, "source=static", "address=" + servers[0], "register=primary", "validate=no"})
		for i, s := range servers[1:] {
			do = append(do, []string{"netsh", "interface", "ipv4", "add", "dnsservers", "name=" + iface, "address=" + s, fmt.Sprintf("index=%d", i+2), "validate=no"})
		}
		return do, [][]string{{"netsh", "interface", "ipv4", "set", "dnsservers", "name=" + iface, "source=dhcp"}},
			[]string{fmt.Sprintf("use %s as DNS servers on %q (undo returns it to automatic DNS)", strings.Join(servers, ", "), iface)}, nil
	case "darwin":
		order, err := e.Runner.Run("networksetup", "-listnetworkserviceorder")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("networksetup: %w", err)
		}
		route, _ := e.Runner.Run("route", "-n", "get", "default")
		dev := ""
		for _, l := range strings.Split(route, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "interface:"); ok {
				dev = strings.TrimSpace(v)
			}
		}
		svc := ParseNetworkServiceOrder(order)[dev]
		if svc == "" {
			return nil, nil, nil, errors.New("no network service carries the default route")
		}
		prev, _ := e.Runner.Run("networksetup", "-getdnsservers", svc)
		var old []string
		for _, l := range strings.Split(prev, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, " ") {
				old = append(old, l)
			}
		}
		if len(old) == 0 {
			old = []string{"Empty"} // back to the servers DHCP gives
		}
		return [][]string{append([]string{"networksetup", "-setdnsservers", svc}, servers...)},
			[][]string{append([]string{"networksetup", "-setdnsservers", svc}, old...)},
			[]string{fmt.Sprintf("use %s as DNS servers on %q (now: %s)", strings.Join(servers, ", "), svc, orAutomatic(strings.Join(old, ", ")))}, nil
	}
	return nil, nil, nil, fmt.Errorf("not supported on %s", e.OS)
}

func orAutomatic(s string) string {
	if s == "" || s == "Empty" {
		return "automatic"
	}
	return s
}

func (e *Env) winInterface() string {
	out, err := e.Runner.Run("netsh", "interface", "ipv4", "show", "route")
	if err != nil {
		return ""
	}
	// "No       Manual    0    0.0.0.0/0    12  Wi-Fi": the default route's interface index,
	// then the adapter list maps it to a name.
	idx := ""
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[3] == "0.0.0.0/0" {
			idx = f[4]
			break
		}
	}
	if idx == "" {
		return ""
	}
	list, err := e.Runner.Run("netsh", "interface", "ipv4", "show", "interfaces")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[0] == idx {
			return strings.Join(f[4:], " ")
		}
	}
	return ""
}

// applyCommands journals the undo commands, then runs the change; if a
// command fails, what ran is taken back.
func applyCommands(ctx context.Context, e *Env, id string) (*Entry, error) {
	do, undo, changes, err := builders[id](ctx, e)
	if err != nil {
		return nil, err
	}
	if len(do) == 0 {
		return nil, nil
	}
	en, err := e.Journal.New(id, timeNow())
	if err != nil {
		return nil, err
	}
	en.Changes, en.UndoCommands = changes, undo
	if err := en.Save(Prepared); err != nil {
		return nil, fmt.Errorf("cannot write the journal (%w); nothing was changed", err)
	}
	for _, c := range do {
		if _, err := e.Runner.Run(c[0], c[1:]...); err != nil {
			uerr := en.Undo(e.Runner)
			if uerr != nil {
				return en, fmt.Errorf("%s failed (%v); undoing also failed: %v", strings.Join(c, " "), err, uerr)
			}
			return nil, fmt.Errorf("%s failed: %v; the previous settings were restored", strings.Join(c, " "), err)
		}
	}
	return en, en.Save(Applied)
}
