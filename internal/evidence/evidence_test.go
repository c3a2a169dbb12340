package evidence

import (
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/probe"
)

func ob(p, target string, st probe.Status, failure string) probe.Observation {
	return probe.Observation{Probe: p, Target: target, Status: st, Failure: failure}
}

func TestDeriveServiceRefusedWhileLineIsFine(t *testing.T) {
	obs := []probe.Observation{
		ob(probe.PTCPService, "a:443", probe.Problem, probe.FRefused),
		ob(probe.PTCPService, "b:443", probe.Problem, probe.FRefused),
		ob(probe.PTCPService, "c:443", probe.OK, ""),
		ob(probe.PHTTPSControl, "g", probe.OK, ""),
		ob(probe.PLoss, "g", probe.OK, ""),
		ob(probe.PJitter, "g", probe.Problem, probe.FHighJitter),
	}
	ev := Derive(obs, nil)
	for id, want := range map[string]bool{"service_tcp_fail": true, "service_refused": true, "controls_fail": false, "loss": false, "high_jitter": true} {
		if v, ok := ev[id]; !ok || v != want {
			t.Errorf("%s = %v (known %v), want %v", id, v, ok, want)
		}
	}
	// Probes that did not run leave their symbols unknown.
	for _, id := range []string{"vpn_on", "proxy_set", "dns_system_fail", "on_wifi", "ipv6_fail"} {
		if _, ok := ev[id]; ok {
			t.Errorf("%s set without its probe", id)
		}
	}
}

func TestDeriveWiFiAndAnswers(t *testing.T) {
	ev := Derive([]probe.Observation{{Probe: probe.PWiFi, Status: probe.NotRun, Failure: probe.FWired}}, Answers{"private_window_works": "yes", "other_devices_work": "unknown"})
	if ev["on_wifi"] != false || ev["private_window_works"] != true {
		t.Errorf("%v", ev)
	}
	if _, ok := ev["wifi_weak"]; ok {
		t.Error("signal strength judged on a wired link")
	}
	if _, ok := ev["other_devices_work"]; ok {
		t.Error("an unknown answer became evidence")
	}
	ev = Derive([]probe.Observation{{Probe: probe.PWiFi, Status: probe.NotRun, Detail: "not read on windows yet"}}, nil)
	if _, ok := ev["on_wifi"]; ok {
		t.Error("an unread Wi-Fi state became evidence")
	}
}

func TestDeriveDNSBlockedName(t *testing.T) {
	obs := []probe.Observation{
		ob(probe.PDNSSystem, "www.netflix.com", probe.Problem, probe.FNXDomain),
		ob(probe.PDNSDoH, "www.netflix.com", probe.OK, ""),
		ob(probe.PDNSPublic, "www.netflix.com", probe.Problem, probe.FTimeout),
	}
	ev := Derive(obs, nil)
	if !ev["dns_blocked_name"] || !ev["dns_system_fail"] || ev["dns_trusted_fail"] {
		t.Errorf("%v", ev)
	}
}

func TestParseAnswer(t *testing.T) {
	for in, want := range map[string]string{"Yes": "yes", "n": "no", "": "unknown", "?": "unknown"} {
		if got, err := ParseAnswer(in); err != nil || got != want {
			t.Errorf("%q -> %q %v", in, got, err)
		}
	}
	if _, err := ParseAnswer("maybe"); err == nil {
		t.Error("maybe accepted")
	}
}
