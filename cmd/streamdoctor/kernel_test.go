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

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamdoctor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
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

func TestKernelBandwidthCap(t *testing.T) {
	needRoot(t)
	// Issue 4 asks for tbf at 2 Mbps -> low_bandwidth. That needs the
	// throughput probe of the speed-test issue; until it exists no probe
	// measures bandwidth, so this case cannot be judged.
	t.Skip("low_bandwidth needs the throughput probe (speed-test issue); not measurable yet")
}
