package report

import (
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// plainSummary says a layer's problems in plain words: what failed and how,
// with counts, no ids or raw errors.
func plainSummary(l *lang.L, bad []probe.Observation, service string) string {
	return summarise(l, bad, 3, func(o probe.Observation) string {
		return plainProbe(l, o.Probe, service) + ": " + plainFailure(l, o.Failure)
	}, func(key string, n int, _ probe.Observation) string {
		if n > 1 {
			return l.N("report.times", n, "Line", key)
		}
		return key
	})
}

// plainProbe says what a probe looks at in l's language.
func plainProbe(l *lang.L, name, service string) string {
	s := catalog.PlainProbeTemplate(name)
	if s == "" {
		return l.T("report.a_check")
	}
	return strings.ReplaceAll(l.Text("probe."+name, s), "{service}", service)
}

// plainFailure says what a failure code means in l's language.
func plainFailure(l *lang.L, code string) string {
	if s, ok := catalog.PlainFailure[code]; ok {
		return l.Text("failure."+code, s)
	}
	return l.Text("failure."+catalog.FUnknown, catalog.PlainFailure[catalog.FUnknown])
}

// plainOK says a passed measurement in plain words. Most details already
// are (in English; in another language the probe's name and "ok" say it);
// the speed sample's name servers, streams and RPM are for help desks
// (they stay in the summary and under the details).
func plainOK(l *lang.L, o probe.Observation) string {
	switch o.Probe {
	case catalog.PThroughput:
		if strings.HasPrefix(o.Detail, probe.AtLeast) {
			return l.T("report.ok.throughput_at_least", "Mbps", mbpsIn(l, o.Value))
		}
		return l.T("report.ok.throughput", "Mbps", mbpsIn(l, o.Value))
	case catalog.PLoadedRTT:
		return l.T("report.ok.loaded_rtt", "MS", l.Num(o.Value, 0))
	}
	if !l.IsSource() {
		return ""
	}
	return o.Detail
}

// mbpsIn writes a rate with the precision it deserves, the language's way
// (3.5 / 3,5).
func mbpsIn(l *lang.L, v float64) string {
	if v >= 10 {
		return l.Num(v, 0)
	}
	return l.Num(v, 1)
}
