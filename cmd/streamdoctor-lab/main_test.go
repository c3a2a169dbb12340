package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

func labcli(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := execute(context.Background(), &out, &errOut, args)
	return code, out.String(), errOut.String()
}

func TestRunJSON(t *testing.T) {
	code, out, errOut := labcli("run", "--json", "../../scenarios/healthy.yaml", "../../scenarios/outage-503.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc RunDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "streamdoctor.labrun/v1" || doc.Total != 2 || doc.Passed != 2 || len(doc.Results) != 2 {
		t.Fatalf("%+v", doc)
	}
	r := doc.Results[1]
	if r.Scenario != "outage-503" || r.Expected != "service_outage" || r.Diagnosed != "service_outage" || !r.Pass || r.WallMS <= 0 || r.Probability <= 0 || r.File == "" {
		t.Errorf("%+v", r)
	}
}

func TestRunMissExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "wrong.yaml")
	os.WriteFile(f, []byte("version: 1\nname: wrong\nabout: expects the wrong cause on purpose\nexpect: {top_cause: vpn}\n"), 0o644)
	code, out, _ := labcli("run", f)
	if code != 1 || !strings.Contains(out, "MISS") || !strings.Contains(out, "0/1 passed") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.yaml")
	os.WriteFile(f, []byte("version: 1\nname: bad\nnetwork:\n  dns: ok\n  latency: 30\nexpect: {top_cause: none}\n"), 0o644)
	cases := map[string][]string{
		f + ":5: latency: unknown key": {"run", f},
		"name scenario files":          {"run"},
		"no such file":                 {"run", filepath.Join(dir, "missing.yaml")},
		"--parallel must be between":   {"run", "--parallel", "0", f},
		"accepts 1 arg":                {"serve"},
		"holds no scenario files":      {"run", t.TempDir()},
		"is not an IP address":         {"serve", "--listen-host", "nothost", "../../scenarios/healthy.yaml"},
	}
	for want, args := range cases {
		code, _, errOut := labcli(args...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", args, code, errOut, want)
		}
	}
}

// serve writes an environment file; the real check path loaded from that
// file (what `streamdoctor check --env-file` does) diagnoses the scenario.
func TestServeEnvFile(t *testing.T) {
	env := filepath.Join(t.TempDir(), "env.json")
	done := make(chan int)
	var out bytes.Buffer
	go func() {
		done <- execute(context.Background(), &out, &bytes.Buffer{}, []string{"serve", "--for", "8s", "--env-file", env, "../../scenarios/vpn-blocked.yaml"})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(env); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve wrote no environment file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e, err := netmap.LoadEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := check.Run(context.Background(), kb.MustDefault(), e, check.Request{Profile: profile.Netflix(), Code: "NSEZ-503", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diagnosis.Top != "vpn" {
		t.Errorf("diagnosed %s", res.Diagnosis.Top)
	}
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d", code)
	}
	if !strings.Contains(out.String(), "streamdoctor check --env-file "+env+" --code NSEZ-503 --answer other_devices_work=yes") {
		t.Errorf("serve printed:\n%s", out.String())
	}
	if _, err := os.Stat(env); !os.IsNotExist(err) {
		t.Error("environment file left behind")
	}
}
