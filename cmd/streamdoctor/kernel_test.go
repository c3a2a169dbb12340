//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kernel-level end-to-end tests: the real binary runs inside a network
// namespace the test creates, joined to a "router" namespace by a veth pair,
// and reads the real kernel state. They need root and iproute2.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kernel-level tests need root (network namespaces); skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("kernel-level tests need iproute2's ip command; skipped")
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// netnsPair makes client and router namespaces joined by a veth pair, with
// the client's default route through the router, and returns their names.
func netnsPair(t *testing.T) (client, router string) {
	t.Helper()
	id := fmt.Sprintf("%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	client, router = "sdc-"+id, "sdr-"+id
	if len(client) > 40 {
		client, router = client[:40], router[:40]
	}
	vc, vr := fmt.Sprintf("sdv%dc", os.Getpid()%100000), fmt.Sprintf("sdv%dr", os.Getpid()%100000)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", client).Run()
		exec.Command("ip", "netns", "del", router).Run()
	})
	sh(t, "ip", "netns", "add", client)
	sh(t, "ip", "netns", "add", router)
	sh(t, "ip", "link", "add", vc, "type", "veth", "peer", "name", vr)
	sh(t, "ip", "link", "set", vc, "netns", client, "name", "eth0")
	sh(t, "ip", "link", "set", vr, "netns", router, "name", "eth0")
	for ns, addr := range map[string]string{client: "192.0.2.2/24", router: "192.0.2.1/24"} {
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
		sh(t, "ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
		sh(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	}
	sh(t, "ip", "-n", client, "route", "add", "default", "via", "192.0.2.1")
	return client, router
}

func checkIn(t *testing.T, bin, ns string) (int, string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "check", "--json", "--timeout", "5s")
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Verdict struct {
			TopCause string `json:"top_cause"`
		} `json:"verdict"`
		Observations []json.RawMessage `json:"observations"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not a report: %v\n%s", err, out)
	}
	if len(doc.Observations) < 10 {
		t.Errorf("%d observations", len(doc.Observations))
	}
	return code, doc.Verdict.TopCause
}

func TestKernelLinkDown(t *testing.T) {
	needRoot(t)
	bin := buildBinary(t)
	client, _ := netnsPair(t)
	sh(t, "ip", "-n", client, "link", "set", "eth0", "down")
	if code, top := checkIn(t, bin, client); code != ExitProblem || top != "no_link" {
		t.Errorf("link down: exit %d, diagnosed %s, want no_link", code, top)
	}
}

func TestKernelNoDefaultRoute(t *testing.T) {
	needRoot(t)
	bin := buildBinary(t)
	client, _ := netnsPair(t)
	sh(t, "ip", "-n", client, "route", "del", "default")
	if code, top := checkIn(t, bin, client); code != ExitProblem || top != "gateway_unreachable" {
		t.Errorf("no default route: exit %d, diagnosed %s, want gateway_unreachable", code, top)
	}
}

// TestKernelBandwidthCap: the healthy scenario's world is served from the
// router namespace, whose egress is shaped by tbf at 2 Mbps; the real binary
// in the client namespace reaches it through the veth, so the only fault is
// the kernel's rate limit.
func TestKernelBandwidthCap(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("needs tc (iproute2); skipped")
	}
	bin := buildBinary(t)
	labBin := filepath.Join(t.TempDir(), "streamdoctor-lab")
	if out, err := exec.Command("go", "build", "-o", labBin, "../streamdoctor-lab").CombinedOutput(); err != nil {
		t.Fatalf("build lab: %v\n%s", err, out)
	}
	client, router := netnsPair(t)
	// A modem-like buffer (400 ms): with a tiny one the check's own speed
	// sample overflows it and the loss it causes reads as an unstable line
	// now and then (the limit test/realnet's TestShapedLine names).
	sh(t, "ip", "netns", "exec", router, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms")
	env := filepath.Join(t.TempDir(), "env.json")
	serve := exec.Command("ip", "netns", "exec", router, labBin, "serve", "--listen-host", "192.0.2.1", "--env-file", env, "--for", "60s", "../../scenarios/healthy.yaml")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(env); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command("ip", "netns", "exec", client, bin, "check", "--env-file", env, "--json").Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != ExitProblem {
		t.Fatalf("exit %d", ee.ExitCode())
	}
	var doc struct {
		Verdict struct {
			TopCause string `json:"top_cause"`
		} `json:"verdict"`
		Speed struct {
			Down float64 `json:"download_mbps"`
		} `json:"speed"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Verdict.TopCause != "low_bandwidth" || doc.Speed.Down <= 0 || doc.Speed.Down > 2.5 {
		t.Errorf("tbf 2 Mbps: diagnosed %s, measured %.2f Mbps\n%s", doc.Verdict.TopCause, doc.Speed.Down, out)
	}
}
