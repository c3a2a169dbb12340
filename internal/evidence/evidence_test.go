package evidence

import (
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

func ob(p, target string, st probe.Status, failure string) probe.Observation {
	return probe.Observation{Probe: p, Target: target, Status: st, Failure: failure}
}

func TestDeriveServiceRefusedWhileLineIsFine(t *testing.T) {
	obs := []probe.Observation{
		ob(catalog.PTCPService, "a:443", probe.Problem, catalog.FRefused),
		ob(catalog.PTCPService, "b:443", probe.Problem, catalog.FRefused),
		ob(catalog.PTCPService, "c:443", probe.OK, ""),
		ob(catalog.PHTTPSControl, "g", probe.OK, ""),
		{Probe: catalog.PLoss, Target: "g", Status: probe.OK, Value: 0},
		{Probe: catalog.PJitter, Target: "g", Status: probe.Problem, Failure: catalog.FHighJitter, Value: 40},
	}
	ev := Derive(obs, nil)
	for id, want := range map[string]bool{"service_tcp_fail": true, "service_refused": true, "controls_fail": false, "loss_none": true, "jitter_high": true} {
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
	ev := Derive([]probe.Observation{{Probe: catalog.PWiFi, Status: probe.NotRun, Failure: catalog.FWired}}, Answers{"private_window_works": "yes", "other_devices_work": "unknown"})
	if ev["on_wifi"] != false || ev["private_window_works"] != true {
		t.Errorf("%v", ev)
	}
	if _, ok := ev["wifi_signal_good"]; ok {
		t.Error("signal strength judged on a wired link")
	}
	if _, ok := ev["other_devices_work"]; ok {
		t.Error("an unknown answer became evidence")
	}
	ev = Derive([]probe.Observation{{Probe: catalog.PWiFi, Status: probe.NotRun, Detail: "not read on windows yet"}}, nil)
	if _, ok := ev["on_wifi"]; ok {
		t.Error("an unread Wi-Fi state became evidence")
	}
}

func TestDeriveDNSBlockedName(t *testing.T) {
	obs := []probe.Observation{
		ob(catalog.PDNSSystem, "www.netflix.com", probe.Problem, catalog.FNXDomain),
		ob(catalog.PDNSDoH, "www.netflix.com", probe.OK, ""),
		ob(catalog.PDNSPublic, "www.netflix.com", probe.Problem, catalog.FTimeout),
	}
	// A resolver that fails every name is not filtering.
	ev := Derive(append(obs, ob(catalog.PHTTPSControl, "https://www.google.com/", probe.Problem, catalog.FNXDomain)), nil)
	if ev["dns_blocked_name"] || !ev["dns_system_fail"] || ev["dns_trusted_fail"] {
		t.Errorf("resolver failing everything: %v", ev)
	}
	// One that answers other names and denies only the service's filters it;
	// the failure is charged to that, not counted again as "DNS failing".
	ev = Derive(append(obs, ob(catalog.PHTTPSControl, "https://www.google.com/", probe.OK, "")), nil)
	if !ev["dns_blocked_name"] || ev["dns_trusted_fail"] {
		t.Errorf("filtering resolver: %v", ev)
	}
	if _, ok := ev["dns_system_fail"]; ok {
		t.Errorf("the filter's answers were counted twice: %v", ev)
	}
}

// A dead uplink behind a router that answers: the outside resolvers, the
// sites and the service all fail. That is one symptom (internet_down), and
// the failures it explains are not multiplied again.
func TestDeriveChargesTheFirstBrokenLayer(t *testing.T) {
	obs := []probe.Observation{
		ob(catalog.PLink, "eth0", probe.OK, ""),
		{Probe: catalog.PGateway, Target: "192.0.2.1", Status: probe.OK, Value: 2},
		ob(catalog.PDNSSystem, "www.netflix.com", probe.Problem, catalog.FTimeout),
		ob(catalog.PDNSDoH, "www.netflix.com", probe.Problem, catalog.FTimeout),
		ob(catalog.PDNSPublic, "www.netflix.com", probe.Problem, catalog.FTimeout),
		ob(catalog.PHTTPSControl, "https://www.google.com/", probe.Problem, catalog.FDNSTimeout),
		ob(catalog.PHTTPSControl, "https://www.wikipedia.org/", probe.Problem, catalog.FDNSTimeout),
		ob(catalog.PTCPService, "www.netflix.com:443", probe.NotRun, catalog.FDNSTimeout),
		ob(catalog.PHTTPSService, "https://www.netflix.com/", probe.Problem, catalog.FDNSTimeout),
	}
	ev := Derive(obs, nil)
	if !ev["internet_down"] || ev["gateway_fail"] || ev["link_down"] {
		t.Fatalf("%v", ev)
	}
	for _, id := range []string{"dns_system_fail", "dns_trusted_fail", "controls_fail", "service_tcp_fail", "service_5xx", "service_slow"} {
		if _, ok := ev[id]; ok {
			t.Errorf("%s is known (%v) though the broken uplink explains it or it was never measured", id, ev[id])
		}
	}
	// With the router dead, the uplink's failure is the router's too.
	obs[1] = ob(catalog.PGateway, "192.0.2.1", probe.Problem, catalog.FHostUnreachable)
	ev = Derive(obs, nil)
	if !ev["gateway_fail"] {
		t.Fatalf("%v", ev)
	}
	if _, ok := ev["internet_down"]; ok {
		t.Errorf("internet_down counted beside the dead router: %v", ev)
	}
}

// Graded measurements set exactly one band each.
func TestDeriveBands(t *testing.T) {
	for _, c := range []struct {
		p    string
		v    float64
		want string
	}{
		{catalog.PWiFi, -50, "wifi_signal_good"}, {catalog.PWiFi, -72, "wifi_signal_fair"}, {catalog.PWiFi, -82, "wifi_signal_weak"}, {catalog.PWiFi, -100, "wifi_signal_very_weak"},
		{catalog.PLatency, 20, "latency_normal"}, {catalog.PLatency, 250, "latency_high"}, {catalog.PLatency, 1050, "latency_very_high"},
		{catalog.PJitter, 3, "jitter_low"}, {catalog.PJitter, 12, "jitter_some"}, {catalog.PJitter, 40, "jitter_high"},
		{catalog.PLoss, 0, "loss_none"}, {catalog.PLoss, 6.3, "loss_some"}, {catalog.PLoss, 15, "loss_heavy"},
	} {
		ev := Derive([]probe.Observation{{Probe: c.p, Status: probe.OK, Value: c.v}}, nil)
		n := 0
		for id, v := range ev {
			if v && id != "on_wifi" {
				n++
				if id != c.want {
					t.Errorf("%s %v: %s, want %s", c.p, c.v, id, c.want)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s %v: %d bands set: %v", c.p, c.v, n, ev)
		}
	}
}

// The system resolver and the trusted ones both answer, with different
// public addresses: the service is sent somewhere else.
func TestDeriveRedirection(t *testing.T) {
	obs := []probe.Observation{
		{Probe: catalog.PDNSSystem, Target: "www.netflix.com", Status: probe.OK, Addrs: []string{"203.0.113.9"}},
		{Probe: catalog.PDNSDoH, Target: "www.netflix.com", Status: probe.OK, Addrs: []string{"198.51.100.10"}},
	}
	if ev := Derive(obs, nil); !ev["dns_redirected"] {
		t.Errorf("%v", ev)
	}
	obs[0].Addrs = []string{"198.51.100.10", "198.51.100.11"}
	if ev := Derive(obs, nil); ev["dns_redirected"] {
		t.Errorf("overlapping answers called a redirection: %v", ev)
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

// The crowd's answer is one of three symbols, and unknown when the probe
// did not run (no server, or no answer over this network).
func TestDeriveCrowd(t *testing.T) {
	for _, c := range []struct {
		o    probe.Observation
		want string
	}{
		{probe.Observation{Probe: catalog.PCrowd, Status: probe.OK}, "crowd_normal"},
		{probe.Observation{Probe: catalog.PCrowd, Status: probe.Problem, Failure: catalog.FCrowdElevated}, "crowd_elevated"},
		{probe.Observation{Probe: catalog.PCrowd, Status: probe.Problem, Failure: catalog.FCrowdOutage}, "crowd_outage"},
		{probe.Observation{Probe: catalog.PCrowd, Status: probe.NotRun, Failure: catalog.FTimeout}, ""},
	} {
		ev := Derive([]probe.Observation{c.o}, nil)
		for _, id := range []string{"crowd_normal", "crowd_elevated", "crowd_outage"} {
			if _, set := ev[id]; set != (id == c.want) {
				t.Errorf("%s %s: %s set=%v", c.o.Status, c.o.Failure, id, set)
			}
		}
	}
}

// The browser's requests count only where the computer's own got answers:
// a browser that fails alone is blocked inside; one that fails with the
// computer says nothing more.
func TestDeriveBrowserOnlyWhereTheComputerGotThrough(t *testing.T) {
	browser := func(ok bool) []probe.Observation {
		return probe.BrowserObservations([]probe.BrowserResult{
			{URL: "https://www.netflix.com/favicon.ico", OK: ok, MS: 3, Error: "network"},
			{URL: "https://assets.nflxext.com/favicon.ico", OK: ok, MS: 3, Error: "network"},
		})
	}
	answered := []probe.Observation{{Probe: catalog.PHTTPSService, Target: "https://www.netflix.com/", Status: probe.OK}}
	blockPage := []probe.Observation{{Probe: catalog.PHTTPSService, Target: "https://www.netflix.com/", Status: probe.Problem, Failure: catalog.FBlockProxy}}
	silent := []probe.Observation{{Probe: catalog.PHTTPSService, Target: "https://www.netflix.com/", Status: probe.Problem, Failure: catalog.FTimeout}}
	cases := []struct {
		name  string
		obs   []probe.Observation
		known bool
		want  bool
	}{
		{"browser fails alone", append(answered, browser(false)...), true, true},
		{"both reach", append(answered, browser(true)...), true, false},
		{"the service answered with a block page", append(blockPage, browser(false)...), true, true},
		{"both fail", append(silent, browser(false)...), false, false},
		{"no page", answered, false, false},
	}
	for _, c := range cases {
		ev := Derive(c.obs, nil)
		v, known := ev["browser_blocked"]
		if known != c.known || v != c.want {
			t.Errorf("%s: browser_blocked = %v (known %v), want %v (known %v)", c.name, v, known, c.want, c.known)
		}
	}
}

// A server slow to accept: every connect long, the TLS exchange after it
// short. A lossy line delays some connects, not the typical one.
func TestDeriveAcceptSlowNotLoss(t *testing.T) {
	obs := func(connect, tlsTotal, latency float64) []probe.Observation {
		var out []probe.Observation
		for _, h := range []string{"www.netflix.com", "assets.nflxext.com", "help.netflix.com"} {
			out = append(out, probe.Observation{Probe: catalog.PTCPService, Target: h + ":443", Status: probe.OK, Value: connect},
				probe.Observation{Probe: catalog.PTLSService, Target: h, Status: probe.OK, Value: tlsTotal})
		}
		return append(out, probe.Observation{Probe: catalog.PLatency, Target: "198.51.100.10:443", Status: probe.Problem, Failure: catalog.FHighLatency, Value: latency})
	}
	ev := Derive(obs(1220, 1245, 1220), nil)
	if !ev["service_accept_slow"] || ev["latency_very_high"] {
		t.Errorf("slow accept: %v", ev)
	}
	// A long detour: every exchange as long as the connect.
	if ev := Derive(obs(700, 2100, 700), nil); ev["service_accept_slow"] || !ev["latency_very_high"] {
		t.Errorf("long path: %v", ev)
	}
	// A lossy line: the connects here needed a resent SYN, the typical one did not.
	if ev := Derive(obs(1020, 1045, 20), nil); ev["service_accept_slow"] {
		t.Errorf("lost SYNs read as a slow accept: %v", ev)
	}
}
