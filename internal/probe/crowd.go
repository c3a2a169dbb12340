package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/outage"
)

// CrowdTimeout bounds the question to the crowd outage service: it runs
// beside the other probes, so within it the verdict is never delayed.
const CrowdTimeout = time.Second

// probeCrowd asks the crowd outage service whether many people report the
// service failing. It is reached like any site (the system's resolver, this
// network), so a network that reaches nothing reaches no crowd either, and
// its answer is then unknown rather than "normal".
func probeCrowd(ctx context.Context, s *state) []Observation {
	if s.env.OutageServer == nil {
		return []Observation{{Status: NotRun, Detail: "no outage server configured (--outage-server)"}}
	}
	c := s.httpClient(nil, false)
	defer c.CloseIdleConnections()
	cl := &outage.Client{Base: s.env.OutageServer, HTTP: c}
	st, err := cl.Status(ctx, s.prof.Name, "")
	if err != nil {
		return []Observation{{Target: s.env.OutageServer.Host, Status: NotRun, Failure: Classify(err), Detail: "the outage server did not answer: " + err.Error()}}
	}
	counts := fmt.Sprintf("%d reports in the last 15 minutes, usually about %.0f", st.Reports15m, st.Baseline15)
	o := Observation{Target: s.env.OutageServer.Host, Value: float64(st.Reports15m), Status: OK,
		Detail: "other viewers report nothing unusual (" + counts + ")"}
	switch st.Status {
	case outage.Elevated:
		o.Status, o.Failure = Problem, catalog.FCrowdElevated
		o.Detail = "more viewers than usual report trouble (" + counts + ")"
	case outage.Outage:
		o.Status, o.Failure = Problem, catalog.FCrowdOutage
		o.Detail = "many viewers report it down right now (" + counts + ")"
	}
	return []Observation{o}
}
