package report

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

func sample(t *testing.T) (*kb.KB, *Report) {
	k := kb.MustDefault()
	obs := []probe.Observation{
		{Probe: catalog.PLink, Target: "wlan0", Status: probe.OK, Detail: "wifi connected"},
		{Probe: catalog.PDNSSystem, Target: "a", Status: probe.Problem, Failure: catalog.FServFail, Detail: "x | y"},
		{Probe: catalog.PDNSSystem, Target: "b", Status: probe.Problem, Failure: catalog.FServFail},
		{Probe: catalog.PVPN, Status: probe.OK},
	}
	ev := engine.Evidence{"dns_system_fail": true, "controls_fail": true, "gateway_fail": false}
	d, err := engine.Diagnose(k, engine.Input{Code: "NSEZ-503", Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	return k, Build(k, Input{Service: "netflix", ServiceTitle: "Netflix", Code: "NSEZ-503", OS: "linux",
		StartedAt: time.Unix(0, 0), Duration: 1500 * time.Millisecond, Observations: obs, Diagnosis: d, Evidence: ev})
}

func TestLayers(t *testing.T) {
	_, r := sample(t)
	got := map[string]probe.Status{}
	for _, l := range r.Layers {
		got[l.Name] = l.Status
	}
	want := map[string]probe.Status{"Link": probe.OK, "Router": probe.NotRun, "DNS": probe.Problem, "Internet": probe.OK, "Service": probe.NotRun, "Computer": probe.NotRun}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if r.Layers[2].Summary != "dns.system: dns_servfail (2 targets)" {
		t.Errorf("summary %q", r.Layers[2].Summary)
	}
	// The viewer's line says the same without ids or codes.
	if r.Layers[2].Plain != "your network's name lookup: fails (2 times)" {
		t.Errorf("plain %q", r.Layers[2].Plain)
	}
	var b bytes.Buffer
	Text(&b, kb.MustDefault(), r, TextOptions{})
	if strings.Contains(b.String(), "dns_servfail") || strings.Contains(b.String(), "dns.system") {
		t.Errorf("the viewer's text shows ids:\n%s", b.String())
	}
}

// The speed line says the rate and the delay; the server, streams and RPM
// are for help desks (the summary).
func TestSpeedLayerPlain(t *testing.T) {
	obs := []probe.Observation{
		{Probe: catalog.PThroughput, Target: "oca.example", Value: 6624.9, Status: probe.OK,
			Detail: probe.AtLeast + "6624.9 Mbps down from oca.example (fast.com, 2 streams; stopped after 0.3 s, clearly enough for every quality)"},
		{Probe: catalog.PLoadedRTT, Target: "oca.example", Value: 25, Status: probe.OK, Detail: "25 ms under load, 21 ms idle (2364 RPM)"},
	}
	var speed Layer
	for _, l := range Layers(obs) {
		if l.Name == "Speed" {
			speed = l
		}
	}
	if want := "at least 6625 Mbps down, enough for every quality; 25 ms delay while the line is busy"; speed.Plain != want {
		t.Errorf("plain %q, want %q", speed.Plain, want)
	}
	if !strings.Contains(speed.Summary, "RPM") || !strings.Contains(speed.Summary, "oca.example") {
		t.Errorf("the help desk's summary lost its details: %q", speed.Summary)
	}
}

// A check's text gives the viewer the speed in plain words (a quick
// sample's figure as a bound); -v gives the server and RPM.
func TestSpeedTextPlain(t *testing.T) {
	k, r := sample(t)
	r.Speed = &Speed{Result: speed.Result{Backend: "fast.com", Server: "oca.example", DownMbps: 6624.9, IdleRTTms: 21, LoadedRTTms: 25, RPM: 2400, LossPct: -1, Decided: true},
		Mode: "quick", Verdicts: speed.Judge(6624.9, 3, 5, 15)}
	var plain, verbose bytes.Buffer
	Text(&plain, k, r, TextOptions{})
	Text(&verbose, k, r, TextOptions{Verbose: true})
	if !strings.Contains(plain.String(), "Speed: at least 6625 Mbps down; a delay of 21 ms, 25 ms while the line is busy") ||
		strings.Contains(plain.String(), "RPM") || strings.Contains(plain.String(), "oca.example") {
		t.Errorf("the viewer's speed line:\n%s", plain.String())
	}
	if !strings.Contains(verbose.String(), "(2400 RPM)") || !strings.Contains(verbose.String(), "oca.example") {
		t.Errorf("-v lost the help desk's speed line:\n%s", verbose.String())
	}
	// The shared reports say it the same way.
	for _, f := range []func(io.Writer, *kb.KB, *Report) error{HTML, Markdown} {
		var b bytes.Buffer
		if err := f(&b, k, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "at least 6625 Mbps down; a delay of 21 ms, 25 ms while the line is busy") {
			t.Errorf("report's speed section:\n%s", b.String())
		}
	}
}

func TestRenderings(t *testing.T) {
	k, r := sample(t)
	if r.Verdict.TopCause != "dns_failure" || !r.Problem() || len(r.Plan) == 0 {
		t.Fatalf("verdict %+v", r.Verdict)
	}
	var b bytes.Buffer
	if err := Text(&b, k, r, TextOptions{TTY: true, Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "✗") || !strings.Contains(b.String(), "\x1b[") || !strings.Contains(b.String(), "1. ") {
		t.Errorf("tty text:\n%s", b.String())
	}
	b.Reset()
	if err := Markdown(&b, k, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `x \| y`) {
		t.Error("a | in a detail is not escaped in the Markdown table")
	}
	b.Reset()
	if err := HTML(&b, k, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Most likely: Name lookup (DNS) is failing") {
		t.Errorf("html lacks verdict")
	}
}

func TestPct(t *testing.T) {
	for p, want := range map[float64]string{0.834: "83 %", 0.9999: ">99 %", 0.001: "<1 %", 1: "100 %", 0: "0 %"} {
		if Pct(p) != want {
			t.Errorf("Pct(%v) = %q", p, Pct(p))
		}
	}
}

// Nothing private and nothing that could drive the terminal reaches any
// rendering: a proxy's password, the user's name in a path, a certificate
// name carrying escape sequences.
func TestReportsArePrivateAndSafe(t *testing.T) {
	k := kb.MustDefault()
	obs := []probe.Observation{
		{Probe: catalog.PProxy, Status: probe.Problem, Failure: catalog.FProxy, Detail: "proxy http://bob:hunter2@proxy.example:3128 from HTTPS_PROXY"},
		{Probe: catalog.PBrowserData, Status: probe.OK, Detail: "3 cookies in /home/alice/.config/google-chrome/Default/Cookies"},
		{Probe: catalog.PTLSService, Status: probe.OK, Detail: "issued by CN=\x1b[32mALL GOOD\x1b[0m\u202e"},
	}
	ev := engine.Evidence{"proxy_set": true}
	d, _ := engine.Diagnose(k, engine.Input{Code: "NSEZ-503", Evidence: ev})
	r := Build(k, Input{Service: "netflix", ServiceTitle: "Netflix", Code: "NSEZ-503", OS: "linux", Home: "/home/alice",
		StartedAt: time.Unix(0, 0), Observations: obs, Diagnosis: d, Evidence: ev,
		Speed: &Speed{Notes: []string{"fast.com failed: proxyconnect tcp: dial http://bob:hunter2@proxy.example:3128"}}})
	var outs []string
	for _, render := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return JSON(b, r) },
		func(b *bytes.Buffer) error { return HTML(b, k, r) },
		func(b *bytes.Buffer) error { return Markdown(b, k, r) },
		func(b *bytes.Buffer) error { return Text(b, k, r, TextOptions{Verbose: true}) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
	}
	for i, o := range outs {
		for _, bad := range []string{"hunter2", "bob:", "alice", "\x1b[32m", "\u202e"} {
			if strings.Contains(o, bad) {
				t.Errorf("rendering %d holds %q", i, bad)
			}
		}
	}
	if !strings.Contains(outs[3], `~/.config/google-chrome`) || !strings.Contains(outs[3], `\x1b[32mALL GOOD`) {
		t.Errorf("text lacks the home as ~ or the escaped name:\n%s", outs[3])
	}
}

// The home is shortened however the OS or a tool wrote it: Windows paths
// with either separator and in another case, and never a longer name that
// merely starts like it.
func TestPrivateShortensTheHomeOnEveryOS(t *testing.T) {
	for _, c := range []struct{ home, in, want string }{
		{`C:\Users\Alice`, `cookies in C:\Users\Alice\AppData\Local\Google`, `cookies in ~\AppData\Local\Google`},
		{`C:\Users\Alice`, `cookies in c:\users\alice\AppData`, `cookies in ~\AppData`},
		{`C:\Users\Alice`, `profile C:/Users/Alice/AppData/Roaming`, `profile ~/AppData/Roaming`},
		{`/Users/alice`, `/Users/Alice/Library/Cookies`, `~/Library/Cookies`},
		{`/home/alice`, `/home/alice`, `~`},
		{`/home/alice`, `in /home/alice: gone`, `in ~: gone`},
		{`/home/alice`, `/home/alice2/x`, `/home/alice2/x`},
		{`/home/alice/`, `/home/alice/.config`, `~/.config`},
	} {
		if got := Private(c.home, c.in); got != c.want {
			t.Errorf("Private(%q, %q) = %q, want %q", c.home, c.in, got, c.want)
		}
	}
}

// The same diagnosis in every shipped language: the viewer's words change,
// the ids, numbers and help-desk summaries do not, and no placeholder or
// template is left in any rendering.
func TestReportInEveryLanguage(t *testing.T) {
	k, en := sample(t)
	for _, tag := range lang.Tags() {
		l, err := lang.Parse(tag)
		if err != nil {
			t.Fatal(err)
		}
		_, base := sample(t)
		in := Input{Service: "netflix", ServiceTitle: "Netflix", Code: "NSEZ-503", OS: "linux", StartedAt: time.Unix(0, 0),
			Duration: 1500 * time.Millisecond, Observations: base.Observations, Lang: l,
			Evidence: engine.Evidence{"dns_system_fail": true, "controls_fail": true, "gateway_fail": false}}
		in.Diagnosis, _ = engine.Diagnose(k, engine.Input{Code: "NSEZ-503", Evidence: in.Evidence})
		r := Build(k, in)
		if r.Verdict.TopCause != en.Verdict.TopCause || r.Verdict.Confidence != en.Verdict.Confidence || len(r.Plan) != len(en.Plan) {
			t.Errorf("%s: a different diagnosis", tag)
		}
		for i := range r.Layers {
			if r.Layers[i].Name != en.Layers[i].Name || r.Layers[i].Summary != en.Layers[i].Summary {
				t.Errorf("%s: layer %q/%q, help-desk summary %q (English %q/%q)", tag, r.Layers[i].Name, r.Layers[i].Plain, r.Layers[i].Summary, en.Layers[i].Name, en.Layers[i].Summary)
			}
		}
		if tag != "en" && (r.Verdict.Summary == en.Verdict.Summary || r.Plan[0].Title == en.Plan[0].Title || r.Layers[2].Plain == en.Layers[2].Plain ||
			len(r.Because) == 0 || r.Because[0] == en.Because[0] || r.Causes[0].Evidence[0] == en.Causes[0].Evidence[0]) {
			t.Errorf("%s: still English: %q / %q / %q / %q / %q", tag, r.Verdict.Summary, r.Plan[0].Title, r.Layers[2].Plain, r.Because, r.Causes[0].Evidence)
		}
		var b bytes.Buffer
		for name, render := range map[string]func() error{
			"text":     func() error { return Text(&b, k, r, TextOptions{}) },
			"html":     func() error { return HTML(&b, k, r) },
			"markdown": func() error { return Markdown(&b, k, r) },
		} {
			b.Reset()
			if err := render(); err != nil {
				t.Fatalf("%s %s: %v", tag, name, err)
			}
			for _, bad := range []string{"{service}", "{{", "<no value>", "%!"} {
				if strings.Contains(b.String(), bad) {
					t.Errorf("%s %s has %q:\n%s", tag, name, bad, b.String())
				}
			}
			if name == "html" && !strings.Contains(b.String(), `<html lang="`+tag+`">`) {
				t.Errorf("%s html: no lang attribute", tag)
			}
		}
	}
}

// Every text of the knowledge base, in every language, is whole once the
// service is named: no placeholder is left.
func TestEveryKBTextNamesTheService(t *testing.T) {
	for _, tag := range lang.Tags() {
		l, _ := lang.Parse(tag)
		for _, tx := range kb.MustDefault().In(l).Texts() {
			if s := ServiceIn(tx.English, "Netflix"); strings.Contains(s, "{") || strings.Contains(s, "the service") {
				t.Errorf("%s %s: %q", tag, tx.ID(), s)
			}
		}
	}
}
