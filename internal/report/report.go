// Package report renders a diagnosis: a checklist for a terminal (with colour
// on a TTY, plain otherwise), the streamdoctor.report/v1 JSON document, and a
// self-contained Markdown or HTML file a person can send to a help desk.
// It only reads; building the Report from a diagnosis is Build's job.
package report

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// Schema is the JSON document's schema id.
const Schema = "streamdoctor.report/v1"

// Cause is one ranked cause.
type Cause struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Probability float64  `json:"probability"`
	Evidence    []string `json:"evidence"`
}

// PlanStep is one fix of the plan.
type PlanStep struct {
	Fix        string   `json:"fix"`
	Title      string   `json:"title"`
	Difficulty string   `json:"difficulty"`
	Minutes    float64  `json:"minutes"`
	PSuccess   float64  `json:"p_success"`
	Automated  bool     `json:"automated"`
	Steps      []string `json:"steps"`
}

// Verdict is the one-line answer.
type Verdict struct {
	Summary string `json:"summary"`
	// Short is the summary without its confidence, for a page that says
	// the confidence on its own line (an addition to v1).
	Short      string  `json:"short,omitempty"`
	TopCause   string  `json:"top_cause"`
	Confidence float64 `json:"confidence"`
}

// Question is a question worth answering before the first fix.
type Question struct {
	ID           string  `json:"id"`
	Ask          string  `json:"ask"`
	SavesMinutes float64 `json:"saves_minutes"`
}

// Layer is one line of the checklist.
type Layer struct {
	Name    string       `json:"name"`
	Status  probe.Status `json:"status"`
	Summary string       `json:"summary"` // for help desks: probe ids and details
	// Plain says the same in a viewer's words.
	Plain string `json:"plain"`
	// WorthKnowing marks a problem line that is not what the verdict is
	// about: none of its symptoms speaks for the verdict's cause.
	WorthKnowing bool `json:"worth_knowing,omitempty"`
}

// Report is the streamdoctor.report/v1 document.
type Report struct {
	Schema       string              `json:"schema"`
	Service      string              `json:"service"`
	Code         string              `json:"code"`
	StartedAt    time.Time           `json:"started_at"`
	DurationMS   int64               `json:"duration_ms"`
	Observations []probe.Observation `json:"observations"`
	Causes       []Cause             `json:"causes"`
	Plan         []PlanStep          `json:"plan"`
	Verdict      Verdict             `json:"verdict"`
	// Additions to v1 (additive, allowed by the schema's rules).
	Question *Question `json:"question,omitempty"`
	Layers   []Layer   `json:"layers"`
	CodeInfo string    `json:"code_title,omitempty"`
	// CodeClass says whose problem the code is (network, browser, device,
	// account, payment, service, playback).
	CodeClass string   `json:"code_class,omitempty"`
	Because   []string `json:"because,omitempty"`
	Speed     *Speed   `json:"speed,omitempty"`

	title string  // the service's display name, from its profile
	lang  *lang.L // the viewer's language (nil: English)
}

// Lang is the language the report's viewer texts are in.
func (r *Report) Lang() *lang.L { return r.lang }

// Speed is the throughput measurement with its verdict per quality
// (an addition to report/v1).
type Speed struct {
	speed.Result
	Mode     string          `json:"mode"` // quick | deep
	Verdicts []speed.Quality `json:"verdicts"`
	Notes    []string        `json:"notes,omitempty"`
}

// Input is what Build needs.
type Input struct {
	Service      string
	ServiceTitle string
	Code         string
	OS           string // windows | macos | linux
	StartedAt    time.Time
	Duration     time.Duration
	Observations []probe.Observation
	Diagnosis    engine.Diagnosis
	Evidence     engine.Evidence
	Speed        *Speed
	// Home is the user's home folder, shown as ~ in the report.
	Home string
	// Lang is the language of what a viewer reads (nil: English); ids,
	// observations and help-desk summaries stay English.
	Lang *lang.L
}

// Build assembles the Report.
func Build(k *kb.KB, in Input) *Report {
	l := in.Lang
	k = k.In(l)
	r := &Report{
		Schema: Schema, Service: in.Service, Code: in.Code,
		StartedAt: in.StartedAt.UTC(), DurationMS: in.Duration.Milliseconds(),
		Observations: make([]probe.Observation, 0, len(in.Observations)), title: in.ServiceTitle, lang: l,
	}
	// What was measured came from outside: made fit to print and private
	// once, here, for every rendering.
	for _, o := range in.Observations {
		o.Target, o.Detail = Private(in.Home, o.Target), Private(in.Home, o.Detail)
		r.Observations = append(r.Observations, o)
	}
	in.Observations = r.Observations
	if c := k.Code(in.Code); c != nil {
		// The code as its service shows it; the service is beside it.
		r.Code, r.CodeInfo, r.CodeClass = c.Code, c.Title, c.Class
	}
	d := in.Diagnosis
	dist := engine.Dist{}
	for _, c := range d.Causes {
		dist[c.Cause] = c.P
	}
	for _, c := range d.Causes {
		rc := Cause{ID: c.Cause, Title: ServiceIn(k.Cause(c.Cause).Title, in.ServiceTitle), Probability: round(c.P, 4), Evidence: []string{}}
		if c.P >= 0.01 {
			for i, rs := range engine.Reasons(k, dist, in.Evidence, c.Cause) {
				if i == 3 {
					break
				}
				rc.Evidence = append(rc.Evidence, ServiceIn(reasonText(l, k, rs), in.ServiceTitle))
			}
		}
		r.Causes = append(r.Causes, rc)
	}
	for i, rs := range d.Reasons {
		if i == 3 {
			break
		}
		r.Because = append(r.Because, ServiceIn(reasonText(l, k, rs), in.ServiceTitle))
	}
	r.Plan = []PlanStep{}
	for _, s := range d.Plan {
		f := k.Fix(s.Fix)
		var steps []string
		for _, st := range f.StepsFor(in.OS) {
			steps = append(steps, ServiceIn(st, in.ServiceTitle))
		}
		r.Plan = append(r.Plan, PlanStep{
			Fix: s.Fix, Title: ServiceIn(f.Title, in.ServiceTitle), Difficulty: f.Difficulty, Minutes: f.Minutes,
			PSuccess: round(s.PSuccess, 3), Automated: f.Automated[in.OS], Steps: steps,
		})
	}
	if d.Question != nil {
		q := *d.Question // the diagnosis is shared by the English and the viewer's build
		if e := k.Ev(q.Evidence); e != nil && e.Question != "" {
			q.Ask = e.Question // in the viewer's language
		}
		ask := ServiceIn(q.Ask, in.ServiceTitle)
		r.Question = &Question{ID: q.Evidence, Ask: ask, SavesMinutes: round(q.Saves, 1)}
	}
	top := k.Cause(d.Top)
	r.Verdict = Verdict{TopCause: d.Top, Confidence: round(d.P, 4)}
	r.Layers = LayersIn(l, in.Observations, in.ServiceTitle)
	markWorthKnowing(k, r.Layers, in.Observations, dist, in.Evidence, d.Top)
	switch red := redLayers(r.Layers); {
	case d.Top != "none":
		title := ServiceIn(top.Title, in.ServiceTitle)
		r.Verdict.Summary = l.T("report.summary.likely", "Cause", title, "Pct", Pct(d.P))
		r.Verdict.Short = l.T("report.short.likely", "Cause", title)
	case len(red) > 0:
		// A problem row is never followed by "No problem found": it is
		// named, as worth knowing.
		r.Verdict.Summary = l.T("report.summary.worth_knowing", "Service", in.ServiceTitle, "Pct", Pct(d.P), "Rows", strings.Join(red, "; "))
		r.Verdict.Short = l.T("report.short.worth_knowing", "Service", in.ServiceTitle, "Rows", strings.Join(red, "; "))
	default:
		r.Verdict.Summary = l.T("report.summary.none", "Service", in.ServiceTitle, "Pct", Pct(d.P))
		r.Verdict.Short = l.T("report.short.none", "Service", in.ServiceTitle)
	}
	if in.Speed != nil {
		sp := *in.Speed
		sp.Notes = nil
		for _, n := range in.Speed.Notes {
			sp.Notes = append(sp.Notes, Private(in.Home, n))
		}
		r.Speed = &sp
	}
	return r
}

// reasonText says a reason in k's language (the diagnosis was made with
// the English knowledge base).
func reasonText(l *lang.L, k *kb.KB, rs engine.Reason) string {
	e := k.Ev(rs.Evidence)
	switch {
	case e == nil:
		return rs.Text
	case rs.Present:
		return e.Says
	case e.SaysNot != "":
		return e.SaysNot
	}
	return l.T("report.not", "Text", e.Says)
}

// markWorthKnowing flags the problem lines none of whose symptoms is a
// reason for the verdict or something its cause expects (a failed name
// lookup expects the sites to fail too): on screen they are "worth
// knowing", not the verdict's subject (a healthy verdict has no subject).
func markWorthKnowing(k *kb.KB, ls []Layer, obs []probe.Observation, dist engine.Dist, ev engine.Evidence, top string) {
	reasons := map[string]bool{}
	if top != "none" {
		for _, rs := range engine.Reasons(k, dist, ev, top) {
			reasons[rs.Evidence] = true
		}
	}
	for i := range ls {
		if ls[i].Status != probe.Problem {
			continue
		}
		subject := false
		for _, l := range catalog.Layers {
			if l.Title != ls[i].Name {
				continue
			}
			for _, e := range catalog.Derived[l.ID] {
				subject = subject || reasons[e] || (top != "none" && ev[e] && engine.Predicts(k, e, top) >= 0.5)
			}
		}
		ls[i].WorthKnowing = !subject
	}
	// A line whose every failure is a name that could not be looked up
	// fails because of the name lookup: when that is the verdict's
	// subject, so is the line.
	dnsSubject := false
	for _, l := range ls {
		dnsSubject = dnsSubject || (l.Name == "DNS" && l.Status == probe.Problem && !l.WorthKnowing)
	}
	if !dnsSubject {
		return
	}
	for i := range ls {
		if !ls[i].WorthKnowing {
			continue
		}
		all, seen := true, false
		for _, o := range obs {
			if sp, ok := catalog.Spec(o.Probe); ok && o.Status == probe.Problem && LayerTitle(sp.Layer) == ls[i].Name {
				seen = true
				all = all && slices.Contains(catalog.NameLookupFailures, o.Failure)
			}
		}
		ls[i].WorthKnowing = !(seen && all)
	}
}

// LayerTitle is a layer's checklist title (Layer.Name).
func LayerTitle(id string) string {
	for _, l := range catalog.Layers {
		if l.ID == id {
			return l.Title
		}
	}
	return ""
}

// redLayers says each problem row in the viewer's words.
func redLayers(ls []Layer) []string {
	var out []string
	for _, l := range ls {
		if l.Status == probe.Problem {
			out = append(out, l.Plain)
		}
	}
	return out
}

// Problem reports whether the verdict is that something is wrong.
func (r *Report) Problem() bool { return r.Verdict.TopCause != "none" }

func round(v float64, n int) float64 {
	p := 1.0
	for i := 0; i < n; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// Pct formats a probability as a whole percentage.
func Pct(p float64) string {
	v := p * 100
	switch {
	case v > 99 && v < 100:
		return ">99 %"
	case v < 1 && v > 0:
		return "<1 %"
	}
	return fmt.Sprintf("%.0f %%", v)
}

// ServiceIn puts the service's name in a text that says "the service"
// (English) or {service} (a translation).
func ServiceIn(s, service string) string {
	return strings.ReplaceAll(theService.ReplaceAllLiteralString(s, service), "{service}", service)
}

// theService is "the service" as a phrase ("the service's" too, not "the
// services").
var theService = regexp.MustCompile(`\b[Tt]he service\b`)

// Layers summarises the observations as one checklist line per layer.
func Layers(obs []probe.Observation) []Layer { return LayersFor(obs, "the service") }

// LayersFor is Layers naming the service in the plain lines.
func LayersFor(obs []probe.Observation, service string) []Layer { return LayersIn(nil, obs, service) }

// LayersIn is LayersFor with the plain lines in l's language (the help-desk
// summaries stay English). Probes' own details are English, so a
// translated line says what failed and how from the catalogue's words.
func LayersIn(lg *lang.L, obs []probe.Observation, service string) []Layer {
	english := lg.IsSource()
	var out []Layer
	for _, l := range catalog.Layers {
		in := map[string]bool{}
		for _, p := range catalog.Probes {
			if p.Layer == l.ID {
				in[p.Name] = true
			}
		}
		var ok, bad, skipped []probe.Observation
		for _, o := range obs {
			if !in[o.Probe] {
				continue
			}
			switch o.Status {
			case probe.OK:
				ok = append(ok, o)
			case probe.Problem:
				bad = append(bad, o)
			default:
				skipped = append(skipped, o)
			}
		}
		if l.Optional && len(ok)+len(bad) == 0 && (len(skipped) == 0 || skipped[0].Failure == "") {
			continue
		}
		ly := Layer{Name: l.Title}
		switch {
		case len(bad) > 0 && len(in) == 1 && len(bad) == 1 && english:
			// A line of one measurement says what it measured.
			ly.Status, ly.Summary, ly.Plain = probe.Problem, bad[0].Detail, bad[0].Detail
		case len(bad) > 0:
			ly.Status = probe.Problem
			ly.Summary = problemSummary(bad)
			if len(in) == 1 && len(bad) == 1 {
				ly.Summary = bad[0].Detail
			}
			ly.Plain = plainSummary(lg, bad, service)
		case len(ok) > 0:
			ly.Status = probe.OK
			ly.Summary = fmt.Sprintf("%d checks passed", len(ok))
			ly.Plain = lg.N("report.checks_passed", len(ok))
			if len(ok) <= 2 {
				var ds, ps []string
				for _, o := range ok {
					if o.Detail != "" {
						ds = append(ds, o.Detail)
						if p := plainOK(lg, o); p != "" {
							ps = append(ps, p)
						}
					}
				}
				if len(ds) > 0 {
					ly.Summary = strings.Join(ds, "; ")
				}
				if len(ps) > 0 {
					ly.Plain = strings.Join(ps, "; ")
				}
			}
		default:
			ly.Status = probe.NotRun
			ly.Summary, ly.Plain = "not checked", lg.T("report.not_checked")
			if len(skipped) > 0 && skipped[0].Detail != "" {
				ly.Summary = "not checked: " + skipped[0].Detail
			}
		}
		out = append(out, ly)
	}
	return out
}

// problemSummary describes the problems of a layer in one line for help
// desks: the failures grouped by probe and code, with one example detail.
func problemSummary(bad []probe.Observation) string {
	return summarise(nil, bad, 2, func(o probe.Observation) string { return o.Probe + ": " + o.Failure },
		func(key string, n int, first probe.Observation) string {
			switch {
			case n > 1:
				return key + fmt.Sprintf(" (%d targets)", n)
			case first.Detail != "":
				return key + " — " + clip(first.Detail, 90)
			}
			return key
		})
}

// summarise groups observations by key (most frequent first) and joins the
// first limit groups as line says them.
func summarise(l *lang.L, obs []probe.Observation, limit int, key func(probe.Observation) string, line func(key string, n int, first probe.Observation) string) string {
	type grp struct {
		key   string
		n     int
		first probe.Observation
	}
	var groups []*grp
	idx := map[string]*grp{}
	for _, o := range obs {
		k := key(o)
		if g, ok := idx[k]; ok {
			g.n++
			continue
		}
		g := &grp{k, 1, o}
		idx[k] = g
		groups = append(groups, g)
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].n > groups[j].n })
	var parts []string
	for i, g := range groups {
		if i == limit {
			parts = append(parts, l.N("report.and_more", len(groups)-limit))
			break
		}
		parts = append(parts, line(g.key, g.n, g.first))
	}
	return strings.Join(parts, "; ")
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
