package fix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Where Windows keeps the user's proxy settings.
const winInternetSettings = `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// A commandFix reads the current state through the runner and returns the
// settings it would change (with their values now and after), or for a fix
// with nothing to take back (flush_dns) the commands themselves, and the
// changes in words.
type commandFix func(ctx context.Context, e *Env) (settings []Setting, do [][]string, changes []change, err error)

var builders = map[string]commandFix{
	"flush_dns":     flushDNS,
	"disable_proxy": disableProxy,
	"change_dns":    changeDNS,
}

// planCommands builds a command fix's plan: its exact command lines come
// from the settings' new values through Setting.Commands.
func planCommands(ctx context.Context, e *Env, id string) (Plan, error) {
	settings, do, changes, err := builders[id](ctx, e)
	p := Plan{Fix: id, Settings: settings, Commands: do, OS: e.OS}
	p.add(changes...)
	if err != nil {
		return p, err
	}
	for _, st := range settings {
		c, err := st.Commands(st.Next)
		if err != nil {
			return p, err
		}
		p.Commands = append(p.Commands, c...)
	}
	p.Automated = len(p.Commands) > 0
	return p, nil
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

func flushDNS(_ context.Context, e *Env) (_ []Setting, do [][]string, changes []change, err error) {
	switch e.OS {
	case "windows":
		do = [][]string{{"ipconfig", "/flushdns"}}
	case "darwin":
		do = [][]string{{"dscacheutil", "-flushcache"}, {"killall", "-HUP", "mDNSResponder"}}
	case "linux":
		// The cache that runs, not the one that is merely installed.
		running := func(name string) bool { return e.Processes != nil && e.Processes()[name] }
		switch {
		case running("systemd-resolve") && e.has("resolvectl"):
			do = [][]string{{"resolvectl", "flush-caches"}}
		case running("nscd") && e.has("nscd"):
			do = [][]string{{"nscd", "-i", "hosts"}}
		case running("dnsmasq") && e.has("killall"):
			do = [][]string{{"killall", "-HUP", "dnsmasq"}}
		default:
			return nil, nil, []change{say("no_dns_cache", "no DNS cache runs on this machine (systemd-resolved, nscd or dnsmasq); nothing to flush")}, errors.New("no DNS cache runs here to flush")
		}
	default:
		return nil, nil, nil, fmt.Errorf("not supported on %s", e.OS)
	}
	return nil, do, []change{say("flush_dns", "forget the DNS answers stored on this machine (nothing to undo: they are fetched again)")}, nil
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

func disableProxy(_ context.Context, e *Env) (settings []Setting, _ [][]string, changes []change, err error) {
	switch e.OS {
	case "linux":
		if !e.has("gsettings") {
			return nil, nil, []change{say("proxy_env_only", "only proxy environment variables can be set here: remove HTTPS_PROXY and HTTP_PROXY from your shell profile")}, errors.New("no GNOME proxy settings to change")
		}
		out, err := e.Runner.Run("gsettings", "get", "org.gnome.system.proxy", "mode")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("gsettings: %w", err)
		}
		mode := strings.Trim(strings.TrimSpace(out), "'")
		if mode == "none" || mode == "" {
			return nil, nil, []change{say("gnome_proxy_off", "the GNOME proxy is already off")}, nil
		}
		return []Setting{{Kind: GnomeProxyMode, Prev: Value{S: mode}, Next: Value{S: "none"}}}, nil,
			[]change{say("gnome_proxy_mode", fmt.Sprintf("set the GNOME proxy mode from %q to \"none\"", mode), "Mode", mode)}, nil
	case "windows":
		en, _ := e.Runner.Run("reg", "query", winInternetSettings, "/v", "ProxyEnable")
		_, ev, _ := ParseRegQuery(en, "ProxyEnable")
		pac, _ := e.Runner.Run("reg", "query", winInternetSettings, "/v", "AutoConfigURL")
		_, pv, hasPAC := ParseRegQuery(pac, "AutoConfigURL")
		if ev != "0x1" && !hasPAC {
			return nil, nil, []change{say("no_win_proxy", "no proxy is set in Windows' settings")}, nil
		}
		if ev == "0x1" {
			settings = append(settings, Setting{Kind: WinProxyEnable, Prev: Value{S: "1"}, Next: Value{S: "0"}})
			changes = append(changes, say("win_proxy_off", `turn off "Use a proxy server"`))
		}
		if hasPAC {
			settings = append(settings, Setting{Kind: WinAutoConfigURL, Prev: Value{S: pv}, Next: Value{}})
			changes = append(changes, say("win_pac", fmt.Sprintf("remove the setup script %s", pv), "Script", pv))
		}
		return settings, nil, changes, nil
	case "darwin":
		svcs, err := macServices(e)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, s := range svcs {
			for _, k := range []struct{ which, what string }{{"web", "web proxy"}, {"secureweb", "secure web proxy"}, {"auto", "automatic proxy configuration"}} {
				out, _ := e.Runner.Run("networksetup", macProxies[k.which][0], s)
				if !regexp.MustCompile(`(?m)^Enabled:\s*Yes`).MatchString(out) {
					continue
				}
				settings = append(settings, Setting{Kind: MacProxyState, Target: s, Which: k.which, Prev: Value{S: "on"}, Next: Value{S: "off"}})
				changes = append(changes, say("mac_proxy_"+k.which, fmt.Sprintf("turn off the %s of %s", k.what, s), "Service", s))
			}
		}
		if len(settings) == 0 {
			return nil, nil, []change{say("no_mac_proxy", "no proxy is on in any network service")}, nil
		}
		return settings, nil, changes, nil
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
	// A disabled service is listed as "(*) Name": it carries no route, and
	// its device line must not be credited to the service before it.
	re := regexp.MustCompile(`^\((\d+|\*)\)\s+(.+)$`)
	dev := regexp.MustCompile(`Device:\s*([^)\s]+)\)`)
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if mm := re.FindStringSubmatch(l); mm != nil {
			name = mm[2]
			if mm[1] == "*" {
				name = ""
			}
		} else if mm := dev.FindStringSubmatch(l); mm != nil && name != "" {
			m[mm[1]] = name
		}
	}
	return m
}

// SplitNMTerse splits one line of `nmcli -t` output into its fields:
// ':' separates them, and a ':' or '\' inside a field comes escaped with
// a backslash.
func SplitNMTerse(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
		case c == ':':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// defaultRouteDevice is the interface of the IPv4 default route
// (`ip -4 route show default`), the one whose DNS answers for this machine.
func defaultRouteDevice(e *Env) string {
	out, err := e.Runner.Run("ip", "-4", "route", "show", "default")
	if err != nil {
		return ""
	}
	best, metric := "", -1
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		dev, m := "", 0
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "dev":
				dev = f[i+1]
			case "metric":
				m, _ = strconv.Atoi(f[i+1])
			}
		}
		if dev != "" && (metric < 0 || m < metric) {
			best, metric = dev, m
		}
	}
	return best
}

func changeDNS(_ context.Context, e *Env) (settings []Setting, _ [][]string, changes []change, err error) {
	servers := e.DNSServers
	if len(servers) == 0 {
		return nil, nil, []change{say("dns_choose", "choose the servers first: --dns 8.8.8.8,8.8.4.4 (Google) or --dns 1.1.1.1,1.0.0.1 (Cloudflare)")}, errors.New("change_dns is opt-in: pick the servers with --dns 8.8.8.8,8.8.4.4 (Google) or --dns 1.1.1.1,1.0.0.1 (Cloudflare)")
	}
	switch e.OS {
	case "linux":
		if !e.has("nmcli") {
			return nil, nil, []change{say("dns_no_nm", "NetworkManager is not running; set the DNS servers in your network settings")}, errors.New("needs NetworkManager")
		}
		out, err := e.Runner.Run("nmcli", "-t", "-f", "NAME,UUID,TYPE,DEVICE", "connection", "show", "--active")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("nmcli: %w", err)
		}
		dev := defaultRouteDevice(e)
		if dev == "" {
			return nil, nil, nil, errors.New("no default route: no connection carries this machine's traffic")
		}
		name, uuid := "", ""
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := SplitNMTerse(l)
			if len(f) >= 4 && f[3] == dev {
				name, uuid = f[0], f[1]
				break
			}
		}
		if uuid == "" {
			return nil, nil, nil, fmt.Errorf("no active NetworkManager connection on %s, the default route's device", dev)
		}
		prevDNS, _ := e.Runner.Run("nmcli", "-g", "ipv4.dns", "connection", "show", "uuid", uuid)
		prevIgnore, _ := e.Runner.Run("nmcli", "-g", "ipv4.ignore-auto-dns", "connection", "show", "uuid", uuid)
		pd := strings.FieldsFunc(strings.TrimSpace(prevDNS), func(r rune) bool { return r == ',' || r == ' ' })
		pi := strings.TrimSpace(prevIgnore)
		if pi == "" {
			pi = "no"
		}
		return []Setting{{Kind: NMDNS, Target: uuid, Prev: Value{L: pd, Flag: pi}, Next: Value{L: servers, Flag: "yes"}}}, nil,
			[]change{dnsChange(servers, name, pd)}, nil
	case "windows":
		iface := e.winInterface()
		if iface == "" {
			return nil, nil, nil, errors.New("no connected network adapter found")
		}
		return []Setting{{Kind: WinDNS, Target: iface, Prev: Value{}, Next: Value{L: servers}}}, nil,
			[]change{say("dns_win", fmt.Sprintf("use %s as DNS servers on %q (undo returns it to automatic DNS)", strings.Join(servers, ", "), iface), "Servers", strings.Join(servers, ", "), "Adapter", iface)}, nil
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
		return []Setting{{Kind: MacDNS, Target: svc, Prev: Value{L: old}, Next: Value{L: servers}}}, nil,
			[]change{dnsChange(servers, svc, old)}, nil
	}
	return nil, nil, nil, fmt.Errorf("not supported on %s", e.OS)
}

// dnsChange says "use these servers on that connection (now: …)"; an
// automatic setting has no servers to name.
func dnsChange(servers []string, on string, now []string) change {
	was := strings.Join(now, ", ")
	if orAutomatic(was) == "automatic" {
		return say("dns_from_auto", fmt.Sprintf("use %s as DNS servers on %q (now: automatic)", strings.Join(servers, ", "), on), "Servers", strings.Join(servers, ", "), "On", on)
	}
	return say("dns", fmt.Sprintf("use %s as DNS servers on %q (now: %s)", strings.Join(servers, ", "), on, was), "Servers", strings.Join(servers, ", "), "On", on, "Now", was)
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

// applyCommands journals the settings' previous values, then runs the
// consented commands as they were shown; if one fails, the settings already
// changed are set back.
func applyCommands(ctx context.Context, e *Env, p Plan) (*Entry, error) {
	if len(p.Commands) == 0 {
		return nil, nil
	}
	en, err := e.Journal.newEntry(p.Fix, timeNow())
	if err != nil {
		return nil, err
	}
	en.Changes, en.Words, en.Settings = p.Changes, p.Words, p.Settings
	if err := en.Save(Prepared); err != nil {
		os.RemoveAll(en.dir)
		return nil, fmt.Errorf("cannot write the journal (%w); nothing was changed", err)
	}
	for _, c := range p.Commands {
		if err := ctx.Err(); err != nil {
			return en, err
		}
		if _, err := e.Runner.Run(c[0], c[1:]...); err != nil {
			if uerr := en.restoreSettings(e); uerr != nil {
				return en, fmt.Errorf("%s failed (%v); setting the previous values back also failed: %v", CommandLine(e.OS, c), err, uerr)
			}
			_ = en.Save(Undone)
			return nil, fmt.Errorf("%s failed: %v; the previous settings were restored", CommandLine(e.OS, c), err)
		}
	}
	return en, en.Save(Applied)
}

// restoreSettings sets each recorded setting back to its previous value,
// newest first, through the checked builders. All or nothing: if one
// cannot be set back, the ones already set back get the fix's values again.
func (en *Entry) restoreSettings(e *Env) error {
	if e.Runner == nil {
		return errors.New("cannot change settings here")
	}
	var done []Setting
	for i := len(en.Settings) - 1; i >= 0; i-- {
		st := en.Settings[i]
		cmds, err := st.Commands(st.Prev)
		if err == nil {
			for _, c := range cmds {
				if _, err = e.Runner.Run(c[0], c[1:]...); err != nil {
					err = fmt.Errorf("%s: %w", CommandLine(e.OS, c), err)
					break
				}
			}
		}
		if err != nil {
			for _, d := range done {
				if cmds, cerr := d.Commands(d.Next); cerr == nil {
					for _, c := range cmds {
						_, _ = e.Runner.Run(c[0], c[1:]...)
					}
				}
			}
			return err
		}
		done = append(done, st)
	}
	return nil
}
