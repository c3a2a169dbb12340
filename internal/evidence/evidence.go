// Package evidence turns probe observations and a person's answers into the
// binary evidence symbols of the knowledge base: one small rule per layer of
// the probe catalogue (rules.go), then the screen that keeps correlated
// symptoms from being counted twice. It is the one bridge between what was
// measured (probe) and what the engine reasons about.
//
// A symbol is set only when the probes that decide it ran; otherwise it
// stays unknown and the engine ignores it. A failure is charged to the
// first element on the path that failed (link, router, uplink, resolver,
// service), the failures beyond it left unknown; a graded measurement
// (signal, latency, jitter, loss, throughput) sets exactly one band.
// docs/model.md has the whole model.
package evidence

import (
	"fmt"
	"slices"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// Answers are a person's answers to the questions: evidence id -> yes|no|unknown.
type Answers map[string]string

// ParseAnswer normalises yes/no/unknown.
func ParseAnswer(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true":
		return "yes", nil
	case "no", "n", "false":
		return "no", nil
	case "unknown", "", "?":
		return "unknown", nil
	}
	return "", fmt.Errorf("%q is not an answer: use yes, no or unknown", s)
}

// Answer checks one answer to a question (the CLI's --answer, the page's
// buttons): the question must be one a person is asked, the answer yes, no
// or unknown. It returns the answer normalised.
func Answer(id, val string) (string, error) {
	if !slices.Contains(catalog.Answered, id) {
		return "", fmt.Errorf("%q is not a question (%s)", id, strings.Join(catalog.Answered, ", "))
	}
	v, err := ParseAnswer(val)
	if err != nil {
		return "", fmt.Errorf("%s: %w", id, err)
	}
	return v, nil
}

// ParseAnswerFlag reads one "question=answer".
func ParseAnswerFlag(s string) (id, answer string, err error) {
	id, val, ok := strings.Cut(s, "=")
	id = strings.TrimSpace(id)
	if !ok {
		return "", "", fmt.Errorf("%q: use %s=yes|no", s, strings.Join(catalog.Answered, "=yes|no, "))
	}
	v, err := Answer(id, val)
	if err != nil && !slices.Contains(catalog.Answered, id) {
		return "", "", fmt.Errorf("%q: use %s=yes|no", s, strings.Join(catalog.Answered, "=yes|no, "))
	}
	return id, v, err
}

// view indexes the observations of one check by probe.
type view struct {
	all []probe.Observation
	by  map[string][]probe.Observation
}

func newView(obs []probe.Observation) view {
	v := view{all: obs, by: map[string][]probe.Observation{}}
	for _, o := range obs {
		v.by[o.Probe] = append(v.by[o.Probe], o)
	}
	return v
}

// ran returns the observations of probe p that ran.
func (v view) ran(p string) []probe.Observation {
	var out []probe.Observation
	for _, o := range v.by[p] {
		if o.Status != probe.NotRun {
			out = append(out, o)
		}
	}
	return out
}

func has(obs []probe.Observation, failures ...string) bool {
	for _, o := range obs {
		if o.Status == probe.Problem && slices.Contains(failures, o.Failure) {
			return true
		}
	}
	return false
}

func count(obs []probe.Observation, pred func(probe.Observation) bool) int {
	n := 0
	for _, o := range obs {
		if pred(o) {
			n++
		}
	}
	return n
}

func problem(o probe.Observation) bool { return o.Status == probe.Problem }
func ok(o probe.Observation) bool      { return o.Status == probe.OK }

// majority: more than half of the observations satisfy pred.
func majority(obs []probe.Observation, pred func(probe.Observation) bool) bool {
	return len(obs) > 0 && 2*count(obs, pred) > len(obs)
}

// connectFailure: could not reach it (an error nobody could classify
// counts too).
func connectFailure(code string) bool { return probe.Unreachable(code) || code == catalog.FUnknown }

// notDNS drops observations whose failure was a name lookup: those are
// charged to the resolver, and say nothing about the service or the site.
func notDNS(obs []probe.Observation) []probe.Observation {
	var out []probe.Observation
	for _, o := range obs {
		if !probe.IsDNSFailure(o.Failure) {
			out = append(out, o)
		}
	}
	return out
}

// symbols is the evidence being derived: set records a symbol only when
// what decides it was measured.
type symbols engine.Evidence

func (ev symbols) set(id string, known, val bool) {
	if known {
		ev[id] = val
	}
}

// Derive builds the evidence from observations and answers: each layer's
// rule in the catalogue's order, then the screen, then the answers.
func Derive(obs []probe.Observation, ans Answers) engine.Evidence {
	v := newView(obs)
	ev := symbols{}
	for _, l := range catalog.Layers {
		rules[l.ID](v, ev)
	}
	screen(engine.Evidence(ev))
	for id, a := range ans {
		switch a {
		case "yes":
			ev[id] = true
		case "no":
			ev[id] = false
		}
	}
	return engine.Evidence(ev)
}

// explanations say, nearest break first, which failures a present symptom
// already explains: those are left unknown instead of multiplied (successes
// are kept: they contradict the break and must count). The first five walk
// the path — link, router, uplink, resolver filter, resolver — so a failure
// is charged to the first element that failed; the rest charge failures to
// a path that is too long, a line that loses, a clock days off. Each rule
// sees what the earlier ones left.
var explanations = []struct {
	when, explains []string
	// line: nothing past this break was measured at all, so its grades of
	// line quality are this break's failure too.
	line bool
}{
	{[]string{catalog.ELinkDown}, []string{catalog.EGatewayFail, catalog.EInternetDown, catalog.EDNSSystemFail, catalog.EDNSTrustedFail, catalog.EControlsFail, catalog.EServiceTCPFail,
		catalog.EServiceRefused, catalog.EServiceExchangeFail, catalog.EIPv6Fail, catalog.EDNSBlockedName, catalog.EPortal, catalog.EProxyPathFail, catalog.ERouterSlow, catalog.EDNSUnreliable}, true},
	{[]string{catalog.EGatewayFail}, []string{catalog.EInternetDown, catalog.EDNSSystemFail, catalog.EDNSTrustedFail, catalog.EControlsFail, catalog.EServiceTCPFail,
		catalog.EServiceRefused, catalog.EServiceExchangeFail, catalog.EIPv6Fail, catalog.EDNSBlockedName, catalog.EPortal, catalog.EProxyPathFail, catalog.EDNSUnreliable}, true},
	{[]string{catalog.EInternetDown}, []string{catalog.EDNSSystemFail, catalog.EDNSTrustedFail, catalog.EControlsFail, catalog.EServiceTCPFail, catalog.EServiceExchangeFail, catalog.EIPv6Fail, catalog.EProxyPathFail}, false},
	{[]string{catalog.EDNSBlockedName}, []string{catalog.EDNSSystemFail}, false},
	{[]string{catalog.EDNSSystemFail}, []string{catalog.EControlsFail}, false},
	// Over 300 ms a round trip, a handshake and a request take most of a
	// probe's budget: exchanges that ran out of time are the path's.
	{[]string{catalog.ELatencyVeryHigh}, []string{catalog.EServiceExchangeFail, catalog.EControlsFail, catalog.EServiceSlow}, false},
	// A lossy line explains a failed transfer from the video servers; so
	// does a resolver that answers late: the quick sample's second runs out
	// while the video server's name is still being looked up.
	{[]string{catalog.ELossHeavy, catalog.ELossSome, catalog.EDNSUnreliable}, []string{catalog.EVideoFail}, false},
	// Expired-looking certificates, and sites failing on them, are what a
	// clock days off predicts.
	{[]string{catalog.EClockOffDays}, []string{catalog.ETLSTime, catalog.EControlsFail, catalog.EServiceExchangeFail}, false},
}

// screen applies the explanations to ev.
func screen(ev engine.Evidence) {
	for _, x := range explanations {
		if !slices.ContainsFunc(x.when, func(id string) bool { return ev[id] }) {
			continue
		}
		for _, id := range x.explains {
			if ev[id] {
				delete(ev, id)
			}
		}
		if x.line {
			for _, bands := range [][]catalog.Band{catalog.LatencyBands, catalog.JitterBands, catalog.LossBands} {
				for _, b := range bands {
					delete(ev, b.ID)
				}
			}
			for _, id := range catalog.ThroughputBands {
				delete(ev, id)
			}
		}
	}
}

// BrowserCounts reports whether the browser's requests are evidence given
// the probes' observations: only where this computer got an HTTP answer from
// the service (otherwise the failure that stopped it explains the browser's).
func BrowserCounts(obs []probe.Observation) bool {
	for _, o := range obs {
		if o.Probe == catalog.PHTTPSService && !probe.IsDNSFailure(o.Failure) && gotAnswer(o) {
			return true
		}
	}
	return false
}

// gotAnswer: the service's server sent an HTTP answer, whatever it said.
func gotAnswer(o probe.Observation) bool {
	switch o.Failure {
	case "", catalog.FHTTP503, catalog.FHTTP5xx, catalog.FHTTP4xx, catalog.FBlockProxy, catalog.FBlockFilter, catalog.FSlow:
		return o.Status != probe.NotRun
	}
	return false
}
