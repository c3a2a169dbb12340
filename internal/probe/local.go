package probe

import (
	"context"
	"fmt"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func notRun(probe, why string) []Observation {
	return []Observation{{Probe: probe, Status: NotRun, Detail: why}}
}

func probeLink(_ context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactInterfaces); ok {
		return notRun(catalog.PLink, why)
	}
	var up []sysinfo.Interface
	for _, i := range s.facts.Interfaces {
		if i.Up && i.Kind != sysinfo.KindLoopback {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return []Observation{{Target: "", Status: Problem, Failure: catalog.FNoLink, Detail: "no network interface is connected"}}
	}
	r := s.facts.DefaultRoute
	if r == nil && s.facts.DefaultRoute6 == nil {
		if _, skipped := s.facts.Skipped(sysinfo.FactRoute); !skipped {
			return []Observation{{Target: up[0].Name, Status: Problem, Failure: catalog.FNoRoute,
				Detail: fmt.Sprintf("%s is up but there is no default route", up[0].Name)}}
		}
	}
	if r == nil {
		r = s.facts.DefaultRoute6
	}
	name := up[0].Name
	if r != nil {
		name = r.Interface
	}
	kind := ""
	for _, i := range s.facts.Interfaces {
		if i.Name == name {
			kind = i.Kind
		}
	}
	return []Observation{{Target: name, Status: OK, Detail: strings.TrimSpace(kind + " connected")}}
}

func probeWiFi(_ context.Context, s *state) []Observation {
	w := s.facts.WiFi
	if w == nil && !s.onWiFiLink() {
		// Known from the interfaces, whether or not the signal could be read:
		// no Wi-Fi adapter, or traffic leaves through a wired one.
		return []Observation{{Status: NotRun, Failure: catalog.FWired, Detail: "not connected over Wi-Fi"}}
	}
	if why, ok := s.facts.Skipped(sysinfo.FactWiFi); ok {
		return notRun(catalog.PWiFi, why)
	}
	if w == nil {
		return []Observation{{Status: NotRun, Failure: catalog.FWired, Detail: "not connected over Wi-Fi"}}
	}
	o := Observation{Target: w.Interface, Value: w.SignalDBM, Status: OK,
		Detail: fmt.Sprintf("signal %.0f dBm", w.SignalDBM)}
	if w.SignalDBM < catalog.WeakSignalDBM {
		o.Status, o.Failure = Problem, catalog.FWeakSignal
		o.Detail += fmt.Sprintf(" (weaker than %.0f dBm)", catalog.WeakSignalDBM)
	}
	return []Observation{o}
}

// onWiFiLink says whether traffic may leave over Wi-Fi: true unless the
// interfaces were read and the default route's interface (or, without a
// route, every connected interface) is something else.
func (s *state) onWiFiLink() bool {
	if _, skipped := s.facts.Skipped(sysinfo.FactInterfaces); skipped {
		return true
	}
	kinds := map[string]string{}
	anyWiFi := false
	for _, i := range s.facts.Interfaces {
		kinds[i.Name] = i.Kind
		anyWiFi = anyWiFi || (i.Kind == sysinfo.KindWiFi && i.Up)
	}
	if r := s.facts.DefaultRoute; r != nil {
		if k, ok := kinds[r.Interface]; ok && k != sysinfo.KindWiFi && !(sysinfo.Interface{Kind: k}).IsVPN() {
			return false
		}
	}
	return anyWiFi
}

func probeConnectivity(_ context.Context, s *state) []Observation {
	who := s.facts.ConnectivitySource
	if who == "" {
		who = "The system"
	}
	switch s.facts.Connectivity {
	case "":
		why, ok := s.facts.Skipped(sysinfo.FactConnectivity)
		if !ok {
			why = "the system does not report it"
		}
		return notRun(catalog.PConnectivity, why)
	case "full":
		return []Observation{{Target: who, Status: OK, Detail: who + " reports full connectivity"}}
	case "portal":
		return []Observation{{Target: who, Status: Problem, Failure: catalog.FPortal, Detail: who + " sees a captive portal"}}
	default:
		return []Observation{{Target: who, Status: Problem, Failure: "limited_connectivity",
			Detail: who + " reports " + s.facts.Connectivity + " connectivity"}}
	}
}

func probeProxy(_ context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactProxy); ok {
		return notRun(catalog.PProxy, why)
	}
	p := s.facts.Proxy
	switch p.Mode {
	case "manual", "pac":
		what := "proxy " + p.URL
		if p.Mode == "pac" {
			what = "automatic proxy script " + p.URL
		}
		return []Observation{{Target: p.URL, Status: Problem, Failure: catalog.FProxy,
			Detail: fmt.Sprintf("%s set by %s", what, p.Source)}}
	}
	return []Observation{{Status: OK, Detail: "no proxy configured"}}
}

func probeVPN(_ context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactInterfaces); ok {
		return notRun(catalog.PVPN, why)
	}
	for _, i := range s.facts.Interfaces {
		if !i.IsVPN() || !i.Up {
			continue
		}
		d := fmt.Sprintf("%s interface %s is up", i.Kind, i.Name)
		for _, r := range []*sysinfo.Route{s.facts.DefaultRoute, s.facts.DefaultRoute6} {
			if r != nil && r.Interface == i.Name {
				d += "; the default route goes through it"
				break
			}
		}
		return []Observation{{Target: i.Name, Status: Problem, Failure: catalog.FVPN, Detail: d}}
	}
	return []Observation{{Status: OK, Detail: "no VPN interface"}}
}

func probeUptime(_ context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactUptime); ok {
		return notRun(catalog.PUptime, why)
	}
	h := s.facts.Uptime.Hours()
	o := Observation{Value: h, Status: OK, Detail: "up " + humanSeconds(s.facts.Uptime.Seconds())}
	if h > catalog.LongUptimeHours {
		o.Status, o.Failure = Problem, catalog.FLongUptime
		o.Detail = fmt.Sprintf("not restarted for %.0f days", h/24)
	}
	return []Observation{o}
}
