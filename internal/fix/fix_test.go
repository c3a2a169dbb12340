package fix

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
	"github.com/streamdoctor/streamdoctor/internal/lang"
)

func sum(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func home(t *testing.T) (string, []browsers.Profile) {
	h := t.TempDir()
	now := time.Now()
	for _, b := range []string{"chrome", "firefox"} {
		if _, err := fixture.Write(h, "linux", fixture.Profile{Browser: b, Version: "150", Domain: "netflix.com", SiteCookies: 6, Expired: 2, OtherCookies: 4}, now); err != nil {
			t.Fatal(err)
		}
	}
	// A look-alike domain that must survive.
	ps := browsers.FindProfiles(h, "linux")
	db, _ := sql.Open("sqlite", ps[0].Cookies)
	db.Exec(`INSERT INTO cookies VALUES(1,'.notnetflix.com','','x','v',x'','/',1,1,1,1,1,1,1,0,2,443,1,0,0)`)
	db.Close()
	return h, ps
}

// planApply plans a fix and applies the plan as if it was approved at once.
func planApply(env *Env, id string) (*Entry, error) {
	p, err := PlanFix(context.Background(), env, id)
	if err != nil {
		return nil, err
	}
	return Apply(context.Background(), env, p)
}

func count(t *testing.T, p browsers.Profile, domains ...string) int {
	c, err := browsers.CountSiteCookies(p.Cookies, p.Engine, domains, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c.Total
}

func TestClearSiteDataAndUndo(t *testing.T) {
	h, ps := home(t)
	before := map[string][32]byte{}
	for _, p := range ps {
		before[p.Cookies] = sum(t, p.Cookies)
	}
	env := &Env{OS: "linux", Home: h, Journal: &Journal{Dir: t.TempDir()}, Domains: []string{"netflix.com"}, Running: func() map[string]bool { return nil }}
	plan, err := PlanFix(context.Background(), env, "clear_site_data")
	if err != nil || !plan.Automated || len(plan.Changes) != 2 || !strings.Contains(plan.Changes[0], "delete 6 netflix.com cookies") {
		t.Fatalf("plan %+v %v", plan, err)
	}
	sameWords(t, "clear_site_data", plan.Changes, plan.Words)
	spanish, _ := lang.Parse("es")
	if w := plan.Words[0]; spanish.T("change."+w.ID, "Count", w.Args["Count"], "Domains", w.Args["Domains"], "Browser", w.Args["Browser"], "Path", w.Args["Path"]) == plan.Changes[0] {
		t.Error("the change is not said in Spanish")
	}
	for _, p := range ps {
		if sum(t, p.Cookies) != before[p.Cookies] {
			t.Fatal("planning changed a file")
		}
	}
	en, err := Apply(context.Background(), env, plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if n := count(t, p, "netflix.com"); n != 0 {
			t.Errorf("%s: %d service cookies left", p.Browser, n)
		}
		if n := count(t, p, "example0.org", "example1.org", "example2.org", "example3.org"); n != 4 {
			t.Errorf("%s: other sites' cookies: %d, want 4", p.Browser, n)
		}
	}
	if count(t, ps[0], "notnetflix.com") != 1 {
		t.Error("a look-alike domain's cookie was deleted")
	}
	if _, err := Undo(context.Background(), env, en.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if sum(t, p.Cookies) != before[p.Cookies] {
			t.Errorf("%s not restored byte-identical", p.Cookies)
		}
		for _, ext := range []string{"-journal", "-wal", "-shm"} {
			if _, err := os.Stat(p.Cookies + ext); err == nil {
				t.Errorf("%s left behind", p.Cookies+ext)
			}
		}
	}
	es, _ := env.Journal.List()
	if len(es) != 1 || es[0].State != Undone {
		t.Errorf("journal %+v", es)
	}
}

func TestClearSiteDataRefusals(t *testing.T) {
	h, ps := home(t)
	before := sum(t, ps[0].Cookies)
	j := &Journal{Dir: t.TempDir()}
	env := &Env{OS: "linux", Home: h, Journal: j, Domains: []string{"netflix.com"},
		Running: func() map[string]bool { return map[string]bool{"firefox": true} }}
	plan, _ := PlanFix(context.Background(), env, "clear_site_data")
	if _, err := Apply(context.Background(), env, plan); !errors.Is(err, ErrBrowserRunning) || !strings.Contains(err.Error(), "close Firefox first") {
		t.Errorf("running browser: %v", err)
	}
	env.Running = nil
	os.WriteFile(ps[1].Cookies, []byte("garbage, not a database at all, long enough to be read"), 0o644)
	if _, err := Apply(context.Background(), env, plan); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("corrupted store: %v", err)
	}
	if sum(t, ps[0].Cookies) != before {
		t.Error("a refused fix changed a file")
	}
	if es, _ := j.List(); len(es) != 0 {
		t.Errorf("a refused fix left journal entries: %d", len(es))
	}
	// The journal cannot be written: nothing changes either.
	h2, ps2 := home(t)
	b2 := sum(t, ps2[0].Cookies)
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	env2 := &Env{OS: "linux", Home: h2, Journal: &Journal{Dir: filepath.Join(blocker, "journal")}, Domains: []string{"netflix.com"}}
	plan2, _ := PlanFix(context.Background(), env2, "clear_site_data")
	if _, err := Apply(context.Background(), env2, plan2); err == nil || sum(t, ps2[0].Cookies) != b2 {
		t.Errorf("unwritable journal: %v", err)
	}
}

// script is a Runner that answers from a table and records what ran.
type script struct {
	answers map[string]string
	missing map[string]bool
	ran     [][]string
}

func (s *script) Run(name string, args ...string) (string, error) {
	c := append([]string{name}, args...)
	s.ran = append(s.ran, c)
	if a, ok := s.answers[strings.Join(c, " ")]; ok {
		return a, nil
	}
	return "", nil
}

func (s *script) Has(name string) bool { return !s.missing[name] }

func TestCommandBuildersExactLines(t *testing.T) {
	cases := []struct {
		name, os, fix string
		dns           []string
		answers       map[string]string
		missing       map[string]bool
		running       []string
		do, undo      [][]string
	}{
		{name: "flush windows", os: "windows", fix: "flush_dns", do: [][]string{{"ipconfig", "/flushdns"}}},
		{name: "flush macos", os: "darwin", fix: "flush_dns", do: [][]string{{"dscacheutil", "-flushcache"}, {"killall", "-HUP", "mDNSResponder"}}},
		{name: "flush linux resolved", os: "linux", fix: "flush_dns", running: []string{"systemd-resolve", "dnsmasq"}, do: [][]string{{"resolvectl", "flush-caches"}}},
		{name: "flush linux nscd", os: "linux", fix: "flush_dns", running: []string{"nscd"}, do: [][]string{{"nscd", "-i", "hosts"}}},
		// dnsmasq and resolvectl are installed, but only dnsmasq runs.
		{name: "flush linux dnsmasq", os: "linux", fix: "flush_dns", running: []string{"dnsmasq"}, do: [][]string{{"killall", "-HUP", "dnsmasq"}}},
		{name: "proxy windows", os: "windows", fix: "disable_proxy",
			answers: map[string]string{
				`reg query ` + winInternetSettings + ` /v ProxyEnable`:   "\r\n" + winInternetSettings + "\r\n    ProxyEnable    REG_DWORD    0x1\r\n",
				`reg query ` + winInternetSettings + ` /v AutoConfigURL`: "\r\n" + winInternetSettings + "\r\n    AutoConfigURL    REG_SZ    http://wpad.corp/proxy.pac\r\n"},
			do: [][]string{
				{"reg", "add", winInternetSettings, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "0", "/f"},
				{"reg", "delete", winInternetSettings, "/v", "AutoConfigURL", "/f"}},
			undo: [][]string{
				{"reg", "add", winInternetSettings, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "1", "/f"},
				{"reg", "add", winInternetSettings, "/v", "AutoConfigURL", "/t", "REG_SZ", "/d", "http://wpad.corp/proxy.pac", "/f"}}},
		{name: "proxy macos", os: "darwin", fix: "disable_proxy",
			answers: map[string]string{
				"networksetup -listallnetworkservices":              "An asterisk (*) denotes that a network service is disabled.\nWi-Fi\n*Thunderbolt Bridge\nUSB 10/100/1000 LAN\n",
				"networksetup -getwebproxy Wi-Fi":                   "Enabled: Yes\nServer: 10.0.0.5\nPort: 8080\nAuthenticated Proxy Enabled: 0\n",
				"networksetup -getsecurewebproxy Wi-Fi":             "Enabled: No\nServer: \nPort: 0\n",
				"networksetup -getautoproxyurl USB 10/100/1000 LAN": "URL: http://wpad/wpad.dat\nEnabled: Yes\n"},
			do:   [][]string{{"networksetup", "-setwebproxystate", "Wi-Fi", "off"}, {"networksetup", "-setautoproxystate", "USB 10/100/1000 LAN", "off"}},
			undo: [][]string{{"networksetup", "-setwebproxystate", "Wi-Fi", "on"}, {"networksetup", "-setautoproxystate", "USB 10/100/1000 LAN", "on"}}},
		{name: "proxy gnome", os: "linux", fix: "disable_proxy",
			answers: map[string]string{"gsettings get org.gnome.system.proxy mode": "'manual'\n"},
			do:      [][]string{{"gsettings", "set", "org.gnome.system.proxy", "mode", "none"}},
			undo:    [][]string{{"gsettings", "set", "org.gnome.system.proxy", "mode", "manual"}}},
		{name: "dns windows", os: "windows", fix: "change_dns", dns: []string{"8.8.8.8", "8.8.4.4"},
			answers: map[string]string{
				"netsh interface ipv4 show route":      "\r\nPublish  Type      Met  Prefix                    Idx  Gateway/Interface Name\r\n-------  --------  ---  ------------------------  ---  ------------------------\r\nNo       Manual    0    0.0.0.0/0                  12  192.168.1.1\r\n",
				"netsh interface ipv4 show interfaces": "\r\nIdx     Met         MTU          State                Name\r\n---  ----------  ----------  ------------  ---------------------------\r\n  1          75  4294967295  connected     Loopback Pseudo-Interface 1\r\n 12          35        1500  connected     Wi-Fi\r\n"},
			do: [][]string{
				{"netsh", "interface", "ipv4", "set", "dnsservers", "name=Wi-Fi", "source=static", "address=8.8.8.8", "register=primary", "validate=no"},
				{"netsh", "interface", "ipv4", "add", "dnsservers", "name=Wi-Fi", "address=8.8.4.4", "index=2", "validate=no"}},
			undo: [][]string{{"netsh", "interface", "ipv4", "set", "dnsservers", "name=Wi-Fi", "source=dhcp"}}},
		{name: "dns macos", os: "darwin", fix: "change_dns", dns: []string{"1.1.1.1", "1.0.0.1"},
			answers: map[string]string{
				"networksetup -listnetworkserviceorder": "An asterisk (*) denotes that a network service is disabled.\n(1) Wi-Fi\n(Hardware Port: Wi-Fi, Device: en0)\n\n(2) Thunderbolt Bridge\n(Hardware Port: Thunderbolt Bridge, Device: bridge0)\n",
				"route -n get default":                  "   route to: default\n    gateway: 192.168.1.1\n  interface: en0\n",
				"networksetup -getdnsservers Wi-Fi":     "There aren't any DNS Servers set on Wi-Fi.\n"},
			do:   [][]string{{"networksetup", "-setdnsservers", "Wi-Fi", "1.1.1.1", "1.0.0.1"}},
			undo: [][]string{{"networksetup", "-setdnsservers", "Wi-Fi", "Empty"}}},
		// A VPN and a docker bridge are active too, listed first; the
		// connection changed is the one on the default route's device, and
		// its name holds an escaped ':'.
		{name: "dns linux", os: "linux", fix: "change_dns", dns: []string{"8.8.8.8", "8.8.4.4"},
			answers: map[string]string{
				"nmcli -t -f NAME,UUID,TYPE,DEVICE connection show --active": "lo:5b3f2a1c-0000-4000-8000-000000000001:loopback:lo\n" +
					"work-vpn:5b3f2a1c-0000-4000-8000-000000000002:vpn:tun0\ndocker0:5b3f2a1c-0000-4000-8000-000000000003:bridge:docker0\n" +
					"Home\\:Wi-Fi:5b3f2a1c-0000-4000-8000-000000000004:802-11-wireless:wlan0\n",
				"ip -4 route show default": "default via 192.168.1.1 dev wlan0 proto dhcp metric 600\n",
				"nmcli -g ipv4.dns connection show uuid 5b3f2a1c-0000-4000-8000-000000000004":             "192.168.1.1\n",
				"nmcli -g ipv4.ignore-auto-dns connection show uuid 5b3f2a1c-0000-4000-8000-000000000004": "no\n"},
			do: [][]string{{"nmcli", "connection", "modify", "uuid", "5b3f2a1c-0000-4000-8000-000000000004", "ipv4.dns", "8.8.8.8 8.8.4.4", "ipv4.ignore-auto-dns", "yes"},
				{"nmcli", "connection", "up", "uuid", "5b3f2a1c-0000-4000-8000-000000000004"}},
			undo: [][]string{{"nmcli", "connection", "modify", "uuid", "5b3f2a1c-0000-4000-8000-000000000004", "ipv4.dns", "192.168.1.1", "ipv4.ignore-auto-dns", "no"},
				{"nmcli", "connection", "up", "uuid", "5b3f2a1c-0000-4000-8000-000000000004"}}},
	}
	for _, c := range cases {
		r := &script{answers: c.answers, missing: c.missing}
		procs := map[string]bool{}
		for _, p := range c.running {
			procs[p] = true
		}
		env := &Env{OS: c.os, Runner: r, DNSServers: c.dns, Journal: &Journal{Dir: t.TempDir()}, Processes: func() map[string]bool { return procs }}
		plan, err := PlanFix(context.Background(), env, c.fix)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		sameWords(t, c.name, plan.Changes, plan.Words)
		var undo [][]string
		for i := len(plan.Settings) - 1; i >= 0; i-- {
			u, err := plan.Settings[i].Commands(plan.Settings[i].Prev)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			undo = append(undo, u...)
		}
		if !reflect.DeepEqual(plan.Commands, c.do) || (len(c.undo) > 0 || len(undo) > 0) && !reflect.DeepEqual(undo, reverseGroups(c.undo, plan.Settings)) {
			t.Errorf("%s:\n do   %q\n want %q\n undo %q\n want %q", c.name, plan.Commands, c.do, undo, c.undo)
		}
		// Applying runs exactly the approved commands and journals the
		// settings; undo runs the rebuilt commands for their old values.
		r.ran = nil
		en, err := Apply(context.Background(), env, plan)
		if err != nil || en == nil {
			t.Errorf("%s apply: %v", c.name, err)
			continue
		}
		if ran := r.ran[len(r.ran)-len(c.do):]; !reflect.DeepEqual(ran, c.do) {
			t.Errorf("%s ran %q", c.name, ran)
		}
		r.ran = nil
		if _, err := Undo(context.Background(), env, en.ID); err != nil {
			t.Errorf("%s undo: %v", c.name, err)
		}
		if !reflect.DeepEqual(r.ran, undo) {
			t.Errorf("%s undo ran %q, want %q", c.name, r.ran, undo)
		}
	}
	if _, _, _, err := changeDNS(context.Background(), &Env{OS: "linux"}); err == nil {
		t.Error("change_dns without chosen servers should refuse")
	}
}

// reverseGroups: the expected undo lines are listed per setting in the
// order of the settings; undo runs the settings newest first.
func reverseGroups(undo [][]string, settings []Setting) [][]string {
	if len(settings) <= 1 {
		return undo
	}
	per := len(undo) / len(settings)
	var out [][]string
	for i := len(settings) - 1; i >= 0; i-- {
		out = append(out, undo[i*per:(i+1)*per]...)
	}
	return out
}

func TestParsers(t *testing.T) {
	if typ, v, ok := ParseRegQuery("\r\nHKEY\r\n    AutoConfigURL    REG_SZ    http://a b/c\r\n", "autoconfigurl"); !ok || typ != "REG_SZ" || v != "http://a b/c" {
		t.Errorf("%q %q %v", typ, v, ok)
	}
	if _, _, ok := ParseRegQuery("ERROR: The system was unable to find the specified registry key or value.", "ProxyEnable"); ok {
		t.Error("error text parsed as a value")
	}
}

// The same fix on the Windows and macOS profile layouts, under a fixture home.
func TestClearSiteDataOtherOSPaths(t *testing.T) {
	for _, goos := range []string{"windows", "darwin"} {
		h := t.TempDir()
		for _, b := range []string{"edge", "brave", "firefox"} {
			if _, err := fixture.Write(h, goos, fixture.Profile{Browser: b, Domain: "netflix.com", SiteCookies: 3, OtherCookies: 2}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		env := &Env{OS: goos, Home: h, Journal: &Journal{Dir: t.TempDir()}, Domains: []string{"netflix.com"}}
		en, err := planApply(env, "clear_site_data")
		if err != nil || len(en.Files) != 3 {
			t.Fatalf("%s: %v %+v", goos, err, en)
		}
		for _, p := range browsers.FindProfiles(h, goos) {
			if n := count(t, p, "netflix.com"); n != 0 {
				t.Errorf("%s %s: %d left", goos, p.Browser, n)
			}
		}
	}
}

// A store another program holds a write lock on: the fix gives up after the
// busy timeout and restores the backup; nothing changes.
func TestClearSiteDataLockedStore(t *testing.T) {
	h, ps := home(t)
	before := sum(t, ps[0].Cookies)
	db, err := sql.Open("sqlite", ps[0].Cookies)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, _ := db.Conn(context.Background())
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	env := &Env{OS: "linux", Home: h, Journal: &Journal{Dir: t.TempDir()}, Domains: []string{"netflix.com"}}
	_, err = planApply(env, "clear_site_data")
	conn.ExecContext(context.Background(), "ROLLBACK")
	if err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("locked store: %v", err)
	}
	if sum(t, ps[0].Cookies) != before {
		t.Error("a locked store was changed")
	}
}

// sameWords: every change has its message, and the message's English is
// the change's own words (so a translation says the same change).
func sameWords(t *testing.T, name string, changes []string, words []Words) {
	t.Helper()
	if len(words) != len(changes) {
		t.Errorf("%s: %d changes, %d words", name, len(changes), len(words))
		return
	}
	for i, w := range words {
		var kv []any
		for k, v := range w.Args {
			kv = append(kv, k, v)
		}
		if got := lang.English().T("change."+w.ID, kv...); got != changes[i] {
			t.Errorf("%s: change.%s says %q, the change is %q", name, w.ID, got, changes[i])
		}
	}
}
