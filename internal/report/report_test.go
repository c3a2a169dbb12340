package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

func sample(t *testing.T) (*kb.KB, *Report) {
	k := kb.MustDefault()
	obs := []probe.Observation{
		{Probe: probe.PLink, Target: "wlan0", Status: probe.OK, Detail: "wifi connected"},
		{Probe: probe.PDNSSystem, Target: "a", Status: probe.Problem, Failure: probe.FServFail, Detail: "x | y"},
		{Probe: probe.PDNSSystem, Target: "b", Status: probe.Problem, Failure: probe.FServFail},
		{Probe: probe.PVPN, Status: probe.OK},
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
	want := map[string]probe.Status{"Link": probe.OK, "Router": probe.NotRun, "DNS": probe.Problem, "Internet": probe.OK, "Service": probe.NotRun, "Browser": probe.NotRun}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if r.Layers[2].Summary != "dns.system: dns_servfail (2 targets)" {
		t.Errorf("summary %q", r.Layers[2].Summary)
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
