package report

import (
	"fmt"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// plainSummary says a layer's problems in plain words: what failed and how,
// with counts, no ids or raw errors.
func plainSummary(bad []probe.Observation, service string) string {
	return summarise(bad, 3, func(o probe.Observation) string {
		what := catalog.PlainProbe(o.Probe, service)
		how := catalog.PlainFailure[o.Failure]
		if how == "" {
			how = "did not work"
		}
		return what + ": " + how
	}, func(key string, n int, _ probe.Observation) string {
		if n > 1 {
			return key + fmt.Sprintf(" (%d times)", n)
		}
		return key
	})
}

// plainOK says a passed measurement in plain words. Most details already
// are; the speed sample's name servers, streams and RPM are for help desks
// (they stay in the summary and under the details).
func plainOK(o probe.Observation) string {
	switch o.Probe {
	case catalog.PThroughput:
		s := fmt.Sprintf("%s Mbps down", mbps(o.Value))
		if strings.HasPrefix(o.Detail, probe.AtLeast) {
			s = "at least " + s + ", enough for every quality"
		}
		return s
	case catalog.PLoadedRTT:
		return fmt.Sprintf("%.0f ms delay while the line is busy", o.Value)
	}
	return o.Detail
}

// mbps writes a rate with the precision it deserves.
func mbps(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
