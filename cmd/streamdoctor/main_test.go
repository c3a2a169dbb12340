package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

type run struct {
	code        int
	out, errOut string
}

func cli(t *testing.T, env func() *probe.Env, args ...string) run {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Env: env}
	if env == nil {
		ios.Env = func() *probe.Env { t.Fatal("this command must not touch the network"); return nil }
	}
	code := Execute(context.Background(), ios, args)
	return run{code, out.String(), errOut.String()}
}

func world(t *testing.T, file string) *lab.World { t.Helper(); return labtest.World(t, file) }

// setHome makes dir this test's home folder, as each OS finds it: HOME,
// and on Windows USERPROFILE with its AppData folders (where the crowd
// client keeps its id), so no test reads or writes the real profile.
func setHome(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("HOME", dir)
	t.Setenv("USERPROFILE", dir)
	if runtime.GOOS == "windows" {
		t.Setenv("APPDATA", filepath.Join(dir, "AppData", "Roaming"))
		t.Setenv("LOCALAPPDATA", filepath.Join(dir, "AppData", "Local"))
	}
}

func TestExplainOffline(t *testing.T) {
	r := cli(t, nil, "explain", "nsez-503")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	for _, want := range []string{"NSEZ-503", "Very High", "5–10 minutes", "8.8.8.8", "Downdetector", "Stay away from unreliable free VPNs", "Medium to High"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("explain output lacks %q", want)
		}
	}
}

func TestBadInputExits2WithOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"explain", "NSEZ-530"}, "did you mean NSEZ-503"},
		{[]string{"explain"}, "explain takes one error code"},
		{[]string{"check", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"check", "--service", "hulu"}, "unknown service \"hulu\" (known: disneyplus, max, netflix, primevideo, youtube"},
		{[]string{"check", "--url", "ftp://example.com"}, "invalid URL"},
		{[]string{"check", "--url", "not a url"}, "invalid URL"},
		{[]string{"check", "--url", "https://localhost/"}, "not a public host name"},
		{[]string{"check", "--service", "netflix", "--url", "https://example.com/"}, "either --service or --url"},
		{[]string{"check", "--timeout", "0s"}, "--timeout 0s is out of range"},
		{[]string{"check", "--timeout", "soon"}, "invalid argument \"soon\""},
		{[]string{"check", "--report", "out.pdf"}, "must end in .html or .md"},
		{[]string{"check", "--answer", "vpn=yes"}, "use private_window_works=yes|no"},
		{[]string{"check", "--answer", "private_window_works=perhaps"}, "is not an answer: use yes, no or unknown"},
		{[]string{"check", "extra"}, "unknown command \"extra\""},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\""},
		{[]string{"check", "--url", "https://www.example.com:99999/x"}, "port 99999 is not 1-65535"},
		{[]string{"check", "--url", "https://" + strings.Repeat("a", 64) + ".example.com/"}, "1 to 63 characters"},
		{[]string{"check", "--url", "https://" + strings.Repeat("abcdefgh.", 30) + "com/"}, "1 to 253 characters"},
		{[]string{"check", "--url", "https://bob:pw@www.example.com/"}, "leave out the user name and password"},
		{[]string{"check", "--answer", "other_devices_work=yes", "--answer", "other_devices_work=no"}, "given twice with different answers"},
		{[]string{"check", "--report", "/no/such/dir/x.html"}, "the folder " + filepath.FromSlash("/no/such/dir") + " does not exist"},
		{[]string{"web", "--listen", "0.0.0.0:0", "--no-browser"}, "is not a loopback address"},
		{[]string{"check", "--outage-server", "ftp://outage.example.org"}, "is not an http(s) URL"},
		{[]string{"check", "--outage-server", "https://me:secret@outage.example.org"}, "must not hold a user name or password"},
		{[]string{"check", "--outage-server", "https://outage.example.org/?x=1"}, "without ?query"},
		{[]string{"check", "--region", "XX"}, "not a two-letter country code"},
		{[]string{"outage", "serve", "--db", "mysql://db/outage"}, "give sqlite:PATH or a postgres:// URL"},
		{[]string{"outage", "serve", "--db", "sqlite:"}, "needs a file path"},
		{[]string{"outage", "serve", "--per-address-rate", "-1"}, "--per-address-rate"},
		{[]string{"outage", "serve", "extra"}, "unknown command \"extra\""},
		{[]string{"outage", "bogus"}, "(commands: serve;"},
		{[]string{"check", "--region", "Germany"}, "--region \"Germany\" is not"},
		{[]string{"check", "extra"}, "check\" (it takes no arguments"},
		{[]string{"frobnicate"}, "(commands: check, codes, explain,"},
		{[]string{"explain", ""}, "give an error code"},
		{[]string{"explain", "--service", "hulu", "83"}, "unknown service \"hulu\" (known: disneyplus, max, netflix, primevideo, youtube"},
		{[]string{"codes", "--service", "hulu"}, "unknown service \"hulu\" (known: disneyplus"},
		{[]string{"check", "--service", "hulu", "--code", "83"}, "unknown service \"hulu\" (known: disneyplus"},
		{[]string{"explain", "ZZZZ-9"}, "is not a netflix code StreamDoctor knows"},
		{[]string{"web", "--listen", "garbage", "--no-browser"}, "give host:port"},
	}
	for _, c := range cases {
		r := cli(t, nil, c.args...)
		lines := strings.Split(strings.TrimSpace(r.errOut), "\n")
		if r.code != ExitUsage || len(lines) != 1 || !strings.Contains(r.errOut, c.want) || r.out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line with %q", c.args, r.code, r.errOut, r.out, c.want)
		}
	}
}

func TestCodesAndVersion(t *testing.T) {
	if r := cli(t, nil, "codes"); r.code != 0 || !strings.Contains(r.out, "NSEZ-503") || !strings.Contains(r.out, "M7111-1331-5059") {
		t.Errorf("codes: %+v", r)
	}
	if r := cli(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.out, "streamdoctor dev") {
		t.Errorf("version: %+v", r)
	}
}

func TestCheckJSONProblem(t *testing.T) {
	w := world(t, "vpn-blocked.yaml")
	r := cli(t, w.Env, "check", "--code", "NSEZ-503", "--json", "--answer", "other_devices_work=yes")
	if r.code != ExitProblem {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var doc struct {
		Schema       string `json:"schema"`
		Service      string `json:"service"`
		Code         string `json:"code"`
		StartedAt    string `json:"started_at"`
		DurationMS   *int64 `json:"duration_ms"`
		Observations []map[string]any
		Causes       []struct {
			ID          string
			Title       string
			Probability float64
			Evidence    []string
		}
		Plan []struct {
			Fix, Title, Difficulty string
			Minutes                float64
			PSuccess               float64 `json:"p_success"`
			Automated              *bool
			Steps                  []string
		}
		Verdict struct {
			Summary    string
			TopCause   string `json:"top_cause"`
			Confidence float64
		}
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "streamdoctor.report/v1" || doc.Service != "netflix" || doc.Code != "NSEZ-503" || doc.StartedAt == "" || doc.DurationMS == nil {
		t.Errorf("header %+v", doc)
	}
	if len(doc.Observations) < 10 {
		t.Errorf("%d observations", len(doc.Observations))
	}
	for _, o := range doc.Observations {
		for _, k := range []string{"probe", "target", "status", "failure", "value", "detail", "duration_ms"} {
			if _, ok := o[k]; !ok {
				t.Fatalf("observation lacks %s: %v", k, o)
			}
		}
	}
	if doc.Verdict.TopCause != "vpn" || doc.Causes[0].ID != "vpn" || len(doc.Causes[0].Evidence) == 0 || doc.Verdict.Confidence < 0.5 {
		t.Errorf("verdict %+v causes[0] %+v", doc.Verdict, doc.Causes[0])
	}
	if len(doc.Plan) == 0 || doc.Plan[0].Fix != "disable_vpn" || len(doc.Plan[0].Steps) == 0 || doc.Plan[0].Automated == nil {
		t.Errorf("plan %+v", doc.Plan)
	}
}

func TestCheckHealthyTextAndReports(t *testing.T) {
	w := world(t, "healthy.yaml")
	dir := t.TempDir()
	html, md := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md")
	r := cli(t, w.Env, "check", "--report", html)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s %s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{"[ok] Link", "[ok] DNS", "[ok] Service", "No problem found", "Report written to"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("text lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "\x1b[") {
		t.Error("colour codes on a non-terminal")
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, "<!DOCTYPE html>") || !strings.Contains(page, "No problem found") ||
		strings.Contains(page, "<link") || strings.Contains(page, "src=") {
		t.Errorf("HTML report not self-contained or incomplete")
	}
	if r := cli(t, w.Env, "check", "--report", md, "--json"); r.code != ExitOK {
		t.Fatalf("exit %d", r.code)
	}
	b, _ = os.ReadFile(md)
	if !strings.HasPrefix(string(b), "# StreamDoctor report: Netflix") || !strings.Contains(string(b), "| ✓ | DNS |") {
		t.Errorf("markdown report:\n%s", b)
	}
	if strings.Contains(string(b), "&#") || strings.Contains(string(b), "&amp;") {
		t.Errorf("markdown report holds HTML entities:\n%s", b)
	}
	for _, p := range []string{html, md} {
		// Windows has no mode bits (its ACLs are another matter).
		if fi, err := os.Stat(p); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", p, err, fi.Mode().Perm())
		}
	}
}

// A report that cannot be written is refused before the check runs; one
// whose folder vanishes during the check still leaves the diagnosis on
// stdout, with one line saying the report was not written.
func TestCheckReportUnwritable(t *testing.T) {
	w := world(t, "healthy.yaml")
	r := cli(t, w.Env, "check", "--report", "/nonexistent-dir/r.html")
	if r.code != ExitUsage || r.out != "" || !strings.Contains(r.errOut, "does not exist") {
		t.Errorf("exit %d %q %q", r.code, r.out, r.errOut)
	}
	// The folder goes away once the check is under way (its first connect),
	// after the check before it found it writable.
	dir := t.TempDir()
	var once sync.Once
	env := func() *probe.Env {
		e := w.Env()
		e.Dialer = dialHook{e.Dialer, func() { once.Do(func() { os.RemoveAll(dir) }) }}
		return e
	}
	r = cli(t, env, "check", "--report", filepath.Join(dir, "r.html"))
	if r.code != ExitFailed || !strings.Contains(r.out, "No problem found") || !strings.Contains(r.errOut, "cannot write report") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
}

// dialHook calls hook before each connect.
type dialHook struct {
	probe.Dialer
	hook func()
}

func (d dialHook) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.hook()
	return d.Dialer.DialContext(ctx, network, addr)
}

func TestCheckNoLinkIsADiagnosis(t *testing.T) {
	w := world(t, "no-link.yaml")
	r := cli(t, w.Env, "check", "--json")
	if r.code != ExitProblem || !strings.Contains(r.out, `"top_cause": "no_link"`) {
		t.Errorf("exit %d\n%s", r.code, r.out)
	}
}

// A lab build's --env-file (labenv.go) points the real binary at a world;
// the shipped binary has no such flag.
func TestCheckEnvFile(t *testing.T) {
	w := world(t, "dns-servfail.yaml")
	f := filepath.Join(t.TempDir(), "env.json")
	b, _ := json.Marshal(w.EnvFile())
	os.WriteFile(f, b, 0o600)
	bin := buildBinary(t)
	out, err := exec.Command(bin, "check", "--env-file", f, "--json").Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitProblem || !strings.Contains(string(out), `"top_cause": "dns_failure"`) {
		t.Errorf("%v\n%s", err, out)
	}
	os.WriteFile(f, []byte(`{"schema":"other"}`), 0o600)
	out, err = exec.Command(bin, "check", "--env-file", f).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitUsage || !strings.Contains(string(out), "schema") {
		t.Errorf("bad env file: %v %q", err, out)
	}
	if r := cli(t, nil, "check", "--env-file", f); r.code != ExitUsage || !strings.Contains(r.errOut, "unknown flag: --env-file") {
		t.Errorf("the shipped commands take --env-file: exit %d %q", r.code, r.errOut)
	}
}

func TestSpeedAgainstServer(t *testing.T) {
	srv := httptest.NewServer(speed.Handler())
	defer srv.Close()
	env := func() *probe.Env { return probe.DefaultEnv() } // a literal IP: no lookup leaves the machine
	r := cli(t, env, "speed", "--server", srv.URL+"/speedtest", "--json", "--max", "4s")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var doc struct {
		Schema   string  `json:"schema"`
		Down     float64 `json:"download_mbps"`
		Up       float64 `json:"upload_mbps"`
		Backend  string  `json:"backend"`
		Verdicts []struct{ Name, Verdict string }
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "streamdoctor.speed/v1" || doc.Backend != "server" || doc.Down <= 0 || doc.Up <= 0 || len(doc.Verdicts) != 3 || doc.Verdicts[2].Verdict != "enough" {
		t.Errorf("%+v", doc)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"speed", "--server", "ftp://x"}, "invalid server URL"},
		{[]string{"speed", "--max", "1s"}, "--max 1s is out of range"},
		{[]string{"speed", "serve", "--listen", "not-an-address"}, "--listen not-an-address"},
		{[]string{"check", "--speed-server", "localhost:1"}, "--speed-server"},
	} {
		if r := cli(t, nil, c.args...); r.code != ExitUsage || !strings.Contains(r.errOut, c.want) {
			t.Errorf("%v: exit %d %q", c.args, r.code, r.errOut)
		}
	}
	// A server that refuses: one line, the error (not a note repeating it).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	r = cli(t, env, "speed", "--server", "http://"+dead+"/speedtest", "--max", "4s")
	if lines := strings.Split(strings.TrimSpace(r.errOut), "\n"); r.code != ExitFailed || len(lines) != 1 || !strings.Contains(lines[0], "refused") {
		t.Errorf("refused server: exit %d %q", r.code, r.errOut)
	}
}

func TestCheckDeepUsesTheVerdict(t *testing.T) {
	w := world(t, "low-bandwidth.yaml")
	r := cli(t, w.Env, "check", "--deep", "--json")
	if r.code != ExitProblem {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var doc struct {
		Verdict struct {
			TopCause string `json:"top_cause"`
		} `json:"verdict"`
		Speed struct {
			Mode     string  `json:"mode"`
			Down     float64 `json:"download_mbps"`
			Up       float64 `json:"upload_mbps"`
			Verdicts []struct{ Name, Verdict string }
		} `json:"speed"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Verdict.TopCause != "low_bandwidth" || doc.Speed.Mode != "deep" || doc.Speed.Down < 1.6 || doc.Speed.Down > 2.2 ||
		doc.Speed.Up <= 0 || len(doc.Speed.Verdicts) != 3 || doc.Speed.Verdicts[1].Verdict != "not_enough" {
		t.Errorf("%+v", doc)
	}
	text := cli(t, w.Env, "check", "--deep")
	if !strings.Contains(text.out, "HD  needs  5 Mbps: not enough") {
		t.Errorf("text lacks the verdict table:\n%s", text.out)
	}
}

func TestFacts(t *testing.T) {
	w := world(t, "vpn-blocked.yaml")
	r := cli(t, w.Env, "facts")
	for _, want := range []string{"wg0 (wireguard)", "192.0.2.1 on wlan0", "192.0.2.53:53", "wlan0, signal -55 dBm", "chrome 131", "30h0m0s"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("facts lacks %q:\n%s", want, r.out)
		}
	}
	vj := cli(t, w.Env, "facts", "--json")
	if !strings.Contains(vj.out, `"vpn": [
    "wg0"
  ]`) {
		t.Errorf("facts --json does not list the VPN:\n%s", vj.out)
	}
	live := cli(t, probe.DefaultEnv, "facts", "--json")
	var doc struct {
		Schema     string           `json:"schema"`
		OS         string           `json:"os"`
		Interfaces []map[string]any `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(live.out), &doc); err != nil || doc.Schema != "streamdoctor.facts/v1" || doc.OS == "" {
		t.Errorf("%v %+v", err, doc)
	}
}

func TestFixUndoHistoryBadInputAndEmpty(t *testing.T) {
	t.Setenv("STREAMDOCTOR_STATE_DIR", t.TempDir())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fix", "--only", "bogus"}, "unknown fix \"bogus\" (one of: change_dns, clear_site_data"},
		{[]string{"fix", "--only", "change_dns", "--dns", "8.8.8.8,dns.google"}, "\"dns.google\" is not an IP address"},
		{[]string{"fix", "--resume"}, "there is no session to resume"},
		{[]string{"fix", "--service", "hulu"}, "unknown service"},
		{[]string{"undo"}, "undo takes one of"},
		{[]string{"undo", "--last", "--all"}, "undo takes one of"},
		{[]string{"undo", "20260101-000000-deadbeef"}, "no journal entry"},
	} {
		if r := cli(t, nil, c.args...); r.code != ExitUsage || !strings.Contains(r.errOut, c.want) {
			t.Errorf("%v: exit %d %q", c.args, r.code, r.errOut)
		}
	}
	if r := cli(t, nil, "history"); r.code != 0 || !strings.Contains(r.out, "No changes recorded") {
		t.Errorf("history: %+v", r)
	}
	if r := cli(t, nil, "undo", "--last"); r.code != 0 || !strings.Contains(r.out, "Nothing to undo") {
		t.Errorf("undo --last: %+v", r)
	}
	if r := cli(t, nil, "fix", "--only", "list"); r.code != 0 || !strings.Contains(r.out, "clear_site_data        automated") {
		t.Errorf("fix --only list: %+v", r)
	}
}

func TestTellOutageServerNeedsAServer(t *testing.T) {
	t.Setenv(outage.EnvServer, "")
	r := cli(t, func() *probe.Env { return &probe.Env{} }, "check", "--tell-outage-server")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "--tell-outage-server needs a server") || strings.Count(strings.TrimSpace(r.errOut), "\n") > 0 {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line", r.code, r.errOut)
	}
}

// In a world whose crowd sees nothing unusual, a silent service is a block
// on this side, not an outage; telling the crowd sends one report, which
// the world's server then counts.
func TestCheckAsksAndTellsTheCrowd(t *testing.T) {
	setHome(t, t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	w := world(t, "blackhole-crowd-normal.yaml")
	r := cli(t, w.Env, "check", "--json", "--code", "NSEZ-503", "--tell-outage-server", "--region", "nl")
	if r.code != ExitProblem {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var rep struct {
		Verdict struct {
			TopCause string `json:"top_cause"`
		} `json:"verdict"`
		Observations []struct{ Probe, Status, Detail string } `json:"observations"`
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict.TopCause != "firewall_block" {
		t.Errorf("verdict %s, want firewall_block", rep.Verdict.TopCause)
	}
	crowd := ""
	for _, o := range rep.Observations {
		if o.Probe == catalog.PCrowd {
			crowd = o.Status + " " + o.Detail
		}
	}
	if !strings.HasPrefix(crowd, "ok other viewers report nothing unusual") {
		t.Errorf("crowd observation %q, want the world's server saying normal", crowd)
	}
	if !strings.Contains(r.errOut, "Reported to the outage server at 198.51.100.90:80") {
		t.Errorf("stderr %q: no report sent", r.errOut)
	}
	// The report is counted: the world's crowd (whose history is all from
	// DE) now has exactly this one from NL.
	st, err := (&outage.Client{Base: w.Env().OutageServer, HTTP: probe.HTTPClient(context.Background(), w.Env())}).Status(context.Background(), "netflix", "NL")
	if err != nil {
		t.Fatal(err)
	}
	if st.Reports15m != 1 {
		t.Errorf("the world's server counts %d reports from NL in 15 minutes, want the one sent", st.Reports15m)
	}
}

// undo says what happened to each entry: an id already undone is not
// "Undid"; a damaged record is listed as damaged and --all goes past it.
func TestUndoReportsEachEntry(t *testing.T) {
	home, state := t.TempDir(), t.TempDir()
	setHome(t, home)
	t.Setenv("STREAMDOCTOR_STATE_DIR", state)
	if _, err := fixture.Write(home, runtime.GOOS, fixture.Profile{Browser: "chrome", Version: "150", Domain: "netflix.com", SiteCookies: 3, OtherCookies: 2}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := cli(t, nil, "fix", "--only", "clear_site_data", "--yes"); r.code != 0 && !strings.Contains(r.errOut, "things changed") {
			t.Fatalf("fix: %+v", r)
		}
	}
	os.MkdirAll(filepath.Join(state, "journal", "0009"), 0o700)
	os.WriteFile(filepath.Join(state, "journal", "0009", "entry.json"), []byte("{broken"), 0o600)
	if r := cli(t, nil, "history"); !strings.Contains(r.out, "0009  (its record is damaged") {
		t.Errorf("history: %q", r.out)
	}
	r := cli(t, nil, "undo", "--all")
	if r.code != ExitFailed || !strings.Contains(r.out, "Undid 0001") || !strings.Contains(r.out, "Could not undo 0009") {
		t.Errorf("undo --all: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if r := cli(t, nil, "undo", "0001"); r.code != 0 || !strings.Contains(r.out, "was already undone") || strings.Contains(r.out, "Undid") {
		t.Errorf("undo of an undone id: exit %d %q", r.code, r.out)
	}
}

// --url keeps its scheme and port: a plain-HTTP site on its own port is
// probed there, without TLS; a Netflix code on Netflix's own site is fine.
func TestURLKeepsSchemeAndPort(t *testing.T) {
	p, err := profile.FromURL("http://www.example.com:8080/status")
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hosts[0]
	if h.ServicePort() != 8080 || h.Secure() || h.URL() != "http://www.example.com:8080/status" {
		t.Errorf("host %+v: port %d, url %s", h, h.ServicePort(), h.URL())
	}
	nf, err := profile.FromURL("https://www.netflix.com/browse")
	if err != nil || !sameService("netflix", nf) {
		t.Errorf("www.netflix.com is netflix's own site: %v", err)
	}
}

// buildBinary builds the lab build of the binary: the shipped one plus the
// hidden --env-file flag (labenv.go) that points it at a lab world.
func buildBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH to build the binary with; skipped")
	}
	bin := filepath.Join(t.TempDir(), "streamdoctor")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-tags", "streamdoctor_lab", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// In a window of its own (a double-click on Windows) the note is plain:
// no Ctrl-C, no terminal commands, and it asks to keep the window open.
func TestWebNoteForAWindowOfItsOwn(t *testing.T) {
	for _, opened := range []bool{true, false} {
		n := webStartedNote(opened, true)
		if !strings.Contains(n, "Keep this window open") || strings.Contains(n, "Ctrl-C") || strings.Contains(n, "--help") {
			t.Errorf("opened=%v: %q", opened, n)
		}
	}
	if n := webStartedNote(true, false); !strings.Contains(n, "Ctrl-C") {
		t.Errorf("in a terminal: %q", n)
	}
}

// A state folder that is a file is named in the one-line error.
func TestStateDirThatIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STREAMDOCTOR_STATE_DIR", f)
	r := cli(t, nil, "history")
	if r.code != ExitFailed || !strings.Contains(r.errOut, "STREAMDOCTOR_STATE_DIR="+f+" is a file, not a folder") || strings.Count(r.errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", r.code, r.errOut)
	}
}

// A code the catalogue lacks never blocks the viewer: the check runs
// without it and says so in one line, with the nearest codes or the service
// that has it.
func TestUnknownCodeRunsPlainCheck(t *testing.T) {
	w := world(t, "healthy.yaml")
	r := cli(t, w.Env, "check", "--code", "NSEZ503")
	if r.code != 0 || !strings.Contains(r.errOut, "NSEZ503 is not a Netflix code StreamDoctor knows (did you mean NSEZ-503") ||
		!strings.Contains(r.errOut, "checking without it") || !strings.Contains(r.out, "No problem found") {
		t.Errorf("exit %d, stderr %q, stdout %q", r.code, r.errOut, r.out)
	}
	r = cli(t, w.Env, "check", "--url", "https://www.example.com/", "--code", "NSEZ-503")
	if !strings.Contains(r.errOut, "(--service netflix has one)") {
		t.Errorf("a code of another service: stderr %q", r.errOut)
	}
}

// A code that is not the network's is answered in one step, offline, with
// no check (exit 0), as text and as JSON with its class.
func TestNonNetworkCodeAnswersWithItsStep(t *testing.T) {
	r := cli(t, nil, "check", "--code", "nsez-403")
	if r.code != 0 || !strings.Contains(r.out, "Not your network:") || !strings.Contains(r.out, "What helps:") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	r = cli(t, nil, "check", "--code", "NSEZ-403", "--json")
	var got codeJSON
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || got.Class != "service" || got.Step == "" || got.Source == "" {
		t.Fatalf("json %q: %v %+v", r.out, err, got)
	}
	r = cli(t, nil, "explain", "M7111-1331-9999")
	if r.code != 0 || !strings.Contains(r.out, "one of the M7111-1331 codes") {
		t.Errorf("a sub-code is answered by its family: exit %d %q %q", r.code, r.out, r.errOut)
	}
}

// `check` speaks the terminal's language (LC_ALL/LANG, or --lang); the JSON
// document stays English; an unknown language is one line and exit 2.
func TestCheckInTheTerminalsLanguage(t *testing.T) {
	w := world(t, "vpn-blocked.yaml")
	pt, _ := lang.Parse("pt-BR")
	var out, errOut bytes.Buffer
	ios := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Env: w.Env, Lang: lang.FromEnv(func(k string) string {
		return map[string]string{"LANG": "pt_BR.UTF-8"}[k]
	})}
	if code := Execute(context.Background(), ios, []string{"check", "--code", "NSEZ-503"}); code != ExitProblem {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	k := kb.MustDefault().In(pt)
	for _, want := range []string{pt.T("text.plan"), k.Cause("vpn").Title, k.Fix("disable_vpn").Title, pt.T("layer.DNS")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the Portuguese check lacks %q:\n%s", want, out.String())
		}
	}
	es := cli(t, w.Env, "check", "--code", "NSEZ-503", "--lang", "es")
	esL, _ := lang.Parse("es")
	if !strings.Contains(es.out, esL.T("text.plan")) || strings.Contains(es.out, "What to do") {
		t.Errorf("--lang es:\n%s", es.out)
	}
	js := cli(t, w.Env, "check", "--code", "NSEZ-503", "--lang", "es", "--json")
	if !strings.Contains(js.out, `"summary": "Most likely: `) {
		t.Errorf("the JSON document is not English:\n%s", js.out)
	}
	bad := cli(t, nil, "check", "--lang", "tlh")
	if bad.code != 2 || strings.Count(strings.TrimSpace(bad.errOut), "\n") != 0 || !strings.Contains(bad.errOut, "pt-BR") {
		t.Errorf("--lang tlh: exit %d, %q", bad.code, bad.errOut)
	}
}
