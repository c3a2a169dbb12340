package lab

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPerturbKeepsTheFaultAndReplays(t *testing.T) {
	sc, err := Parse("x.yaml", []byte("version: 1\nname: x\nsystem: {link: ethernet}\nnetwork: {rtt_ms: 550}\nexpect: {top_cause: isp_routing}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fault := sc.FaultKeys()
	if !slices.Contains(fault, "network.rtt_ms") || slices.Contains(fault, "network.jitter_ms") || slices.Contains(fault, "system.link") {
		t.Errorf("fault keys %v", fault)
	}
	moved := map[string]bool{}
	for i := range 40 {
		v := Perturb(sc, 7, i)
		if v.Scenario.Network.RTTms != 550 {
			t.Fatalf("variant %d moved the fault's round trip: %s", i, v.Describe())
		}
		if v.Scenario.Name == sc.Name || !reflect.DeepEqual(v.Scenario.Expect, sc.Expect) {
			t.Fatalf("variant %d: name %q expect %+v", i, v.Scenario.Name, v.Scenario.Expect)
		}
		for k := range v.Changes {
			moved[k] = true
		}
		if again := Perturb(sc, 7, i); !reflect.DeepEqual(again.Changes, v.Changes) {
			t.Fatalf("variant %d does not replay: %v then %v", i, v.Changes, again.Changes)
		}
		if j := v.Scenario.Network.JitterMs; j < 0 || j > 6 {
			t.Fatalf("jitter %v outside the harmless range", j)
		}
		if s := v.Scenario.System.WiFiSignalDBM; v.Scenario.System.Link == "wifi" && (*s > -40 || *s < -70) {
			t.Fatalf("signal %v outside the harmless range", *s)
		}
	}
	for _, k := range []string{"network.jitter_ms", "network.bandwidth_mbps", "system.os", "system.link", "system.browsers", "system.uptime_hours"} {
		if !moved[k] {
			t.Errorf("40 variants never moved %s", k)
		}
	}
	if sc.Network.JitterMs != 0 || sc.System.Link != "ethernet" {
		t.Error("perturbing changed the scenario itself")
	}
}

func TestFaultKeysFromTheFile(t *testing.T) {
	sc, err := Parse("x.yaml", []byte("version: 1\nname: x\nfault: [system.link]\nsystem: {link: ethernet, uptime_hours: 500}\nexpect: {top_cause: none}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.FaultKeys(); !reflect.DeepEqual(got, []string{"system.link"}) {
		t.Errorf("fault keys %v", got)
	}
	_, err = Parse("x.yaml", []byte("version: 1\nname: x\nfault: [network.dns]\nexpect: {top_cause: none}\n"))
	if err == nil || !strings.Contains(err.Error(), `"network.dns" is not a key perturb moves`) || !strings.Contains(err.Error(), "x.yaml:3") {
		t.Errorf("bad fault key: %v", err)
	}
}
