package engine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// Evidence maps evidence ids to what was observed: true = present, false =
// observed absent. A missing key means unknown.
type Evidence map[string]bool

// Dist is a probability for every cause id.
type Dist map[string]float64

// GiveUpMinutes is the cost charged when a plan runs out of fixes with the
// fault still there: calling the service's or the provider's support.
const GiveUpMinutes = 60

// MinSuccess: fixes less likely than this to work are left out of a plan.
const MinSuccess = 0.02

// MaxSteps bounds the plan's length.
const MaxSteps = 8

// Posterior computes P(cause | evidence) from the priors for code. A cause
// with presentations (mutually exclusive ways it shows) has the likelihood
// Σ_m share_m Π_e P(e | c, m), so the absence of one presentation's
// symptoms does not count against another's.
func Posterior(k *kb.KB, priors Dist, ev Evidence) Dist {
	logp := map[string]float64{}
	maxLog := math.Inf(-1)
	ids := slices.Sorted(maps.Keys(ev))
	for _, c := range kb.CauseIDs {
		if priors[c] <= 0 {
			continue // ruled out: stays at exactly zero
		}
		lp := math.Log(priors[c]) + logLikelihood(k, c, ids, ev)
		logp[c] = lp
		maxLog = math.Max(maxLog, lp)
	}
	out := Dist{}
	for _, c := range kb.CauseIDs {
		out[c] = 0
	}
	sum := 0.0
	for c, lp := range logp {
		v := math.Exp(lp - maxLog)
		out[c] = v
		sum += v
	}
	for c := range out {
		out[c] /= sum
	}
	return out
}

// logLikelihood is log P(evidence | cause), mixing its presentations.
func logLikelihood(k *kb.KB, cause string, ids []string, ev Evidence) float64 {
	pres := k.Cause(cause).Presentations
	if len(pres) == 0 {
		lp := 0.0
		for _, id := range ids {
			if e := k.Ev(id); e != nil {
				lp += math.Log(likelihood(e, cause, ev[id]))
			}
		}
		return lp
	}
	terms := make([]float64, 0, len(pres))
	for _, m := range pres {
		lp := math.Log(m.Share.P)
		for _, id := range ids {
			e := k.Ev(id)
			if e == nil {
				continue
			}
			p := e.Likelihood(cause)
			if g, ok := m.Given[id]; ok {
				p = g.P
			}
			lp += math.Log(clamp(p, ev[id]))
		}
		terms = append(terms, lp)
	}
	mx := slices.Max(terms)
	s := 0.0
	for _, t := range terms {
		s += math.Exp(t - mx)
	}
	return mx + math.Log(s)
}

// Predicts is P(symptom present | cause), over the cause's presentations:
// how much the cause expects the symptom.
func Predicts(k *kb.KB, symptom, cause string) float64 {
	e := k.Ev(symptom)
	if e == nil || k.Cause(cause) == nil {
		return 0
	}
	return marginal(k, e, cause)
}

// marginal is P(e = present | cause) over the cause's presentations.
func marginal(k *kb.KB, e *kb.Evidence, cause string) float64 {
	pres := k.Cause(cause).Presentations
	if len(pres) == 0 {
		return e.Likelihood(cause)
	}
	p := 0.0
	for _, m := range pres {
		v := e.Likelihood(cause)
		if g, ok := m.Given[e.ID]; ok {
			v = g.P
		}
		p += m.Share.P * v
	}
	return p
}

// likelihood is P(e = v | c), clamped away from 0 and 1 so that no single
// symbol can veto a cause outright.
func likelihood(e *kb.Evidence, cause string, present bool) float64 {
	return clamp(e.Likelihood(cause), present)
}

func clamp(p float64, present bool) float64 {
	p = math.Min(math.Max(p, 1e-4), 1-1e-4)
	if present {
		return p
	}
	return 1 - p
}

// PSuccess is the chance that fix f works now: Σ_c P(c) r(f, c).
func PSuccess(f *kb.Fix, d Dist) float64 {
	s := 0.0
	for c, r := range f.Repairs {
		s += d[c] * r.P
	}
	return s
}

// AfterFailure conditions d on fix f having been tried without success.
func AfterFailure(f *kb.Fix, d Dist) Dist {
	out := Dist{}
	sum := 0.0
	for c, p := range d {
		v := p * (1 - f.Repairs[c].P)
		out[c] = v
		sum += v
	}
	if sum == 0 {
		return d
	}
	for c := range out {
		out[c] /= sum
	}
	return out
}

// Step is one entry of a plan.
type Step struct {
	Fix string
	// PSuccess is the chance this step works, given the earlier ones did not.
	PSuccess float64
	Cost     float64
}

// Plan orders fixes by p_success / cost, re-planning after each assumed
// failure. Fixes in skip (already tried) are left out.
func Plan(k *kb.KB, d Dist, skip map[string]bool) []Step {
	var out []Step
	used := map[string]bool{}
	for s := range skip {
		used[s] = true
	}
	for len(out) < MaxSteps {
		best, bestRatio, bestP := "", 0.0, 0.0
		for _, id := range kb.FixIDs {
			if used[id] {
				continue
			}
			f := k.Fix(id)
			p := PSuccess(f, d)
			if p < MinSuccess {
				continue
			}
			if r := p / f.Cost(); r > bestRatio+1e-12 {
				best, bestRatio, bestP = id, r, p
			}
		}
		if best == "" {
			break
		}
		f := k.Fix(best)
		out = append(out, Step{Fix: best, PSuccess: bestP, Cost: f.Cost()})
		used[best] = true
		d = AfterFailure(f, d)
	}
	return out
}

// ExpectedCost is the expected minutes spent following order from d: each
// step is paid for if every earlier one failed, and GiveUpMinutes is paid if
// all of them fail.
func ExpectedCost(k *kb.KB, d Dist, order []string) float64 {
	reach := 1.0 // P(still broken before this step)
	cost := 0.0
	for _, id := range order {
		f := k.Fix(id)
		cost += reach * f.Cost()
		p := PSuccess(f, d)
		reach *= 1 - p
		d = AfterFailure(f, d)
	}
	return cost + reach*GiveUpMinutes
}

// Fixes returns the fix ids of a plan.
func Fixes(plan []Step) []string {
	out := make([]string, len(plan))
	for i, s := range plan {
		out[i] = s.Fix
	}
	return out
}

// Question is a question worth asking before the next fix.
type Question struct {
	Evidence string
	Ask      string
	Minutes  float64
	// Saves is the expected minutes saved by asking, net of the asking.
	Saves float64
}

// BestQuestion returns the unanswered question whose answer lowers the
// expected cost of the plan by more than it costs to ask, or nil.
func BestQuestion(k *kb.KB, priors Dist, ev Evidence, skip map[string]bool) *Question {
	d := Posterior(k, priors, ev)
	d = conditionOnFailures(k, d, skip)
	now := ExpectedCost(k, d, Fixes(Plan(k, d, skip)))
	var best *Question
	for _, e := range k.Evidence {
		if e.Question == "" {
			continue
		}
		if _, known := ev[e.ID]; known {
			continue
		}
		pYes := 0.0
		for c, p := range d {
			pYes += p * marginal(k, &e, c)
		}
		exp := 0.0
		for _, ans := range []bool{true, false} {
			ev2 := Evidence{}
			for k2, v := range ev {
				ev2[k2] = v
			}
			ev2[e.ID] = ans
			d2 := conditionOnFailures(k, Posterior(k, priors, ev2), skip)
			pa := pYes
			if !ans {
				pa = 1 - pYes
			}
			exp += pa * ExpectedCost(k, d2, Fixes(Plan(k, d2, skip)))
		}
		saves := now - exp - e.Minutes
		if saves > 0 && (best == nil || saves > best.Saves) {
			best = &Question{Evidence: e.ID, Ask: e.Question, Minutes: e.Minutes, Saves: saves}
		}
	}
	return best
}

func conditionOnFailures(k *kb.KB, d Dist, failed map[string]bool) Dist {
	for _, id := range slices.Sorted(maps.Keys(failed)) {
		if f := k.Fix(id); f != nil {
			d = AfterFailure(f, d)
		}
	}
	return d
}

// Reason is one piece of evidence that speaks for a cause.
type Reason struct {
	Evidence string
	Present  bool
	Text     string
	// Ratio is P(observation | cause) / P(observation | other causes).
	Ratio float64
}

// Reasons lists the observed evidence that favours cause over the others,
// strongest first.
func Reasons(k *kb.KB, d Dist, ev Evidence, cause string) []Reason {
	var out []Reason
	for _, id := range slices.Sorted(maps.Keys(ev)) {
		e := k.Ev(id)
		if e == nil {
			continue
		}
		v := ev[id]
		num := clamp(marginal(k, e, cause), v)
		den, w := 0.0, 0.0
		for c, p := range d {
			if c == cause {
				continue
			}
			den += p * clamp(marginal(k, e, c), v)
			w += p
		}
		if w == 0 {
			continue
		}
		ratio := num / (den / w)
		if ratio <= 1.2 {
			continue
		}
		text := e.Says
		if !v {
			text = e.SaysNot
			if text == "" {
				text = "not: " + e.Says
			}
		}
		out = append(out, Reason{Evidence: id, Present: v, Text: text, Ratio: ratio})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ratio > out[j].Ratio })
	return out
}

// Ranked is a cause with its probability.
type Ranked struct {
	Cause string
	P     float64
}

// Rank sorts a distribution, most likely first (ties by id, for stable output).
func Rank(d Dist) []Ranked {
	out := make([]Ranked, 0, len(d))
	for c, p := range d {
		out = append(out, Ranked{c, p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].P != out[j].P {
			return out[i].P > out[j].P
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}

// Input is what a diagnosis starts from.
type Input struct {
	Code     string
	Evidence Evidence
	// Failed are fixes already tried without success.
	Failed map[string]bool
	// Skipped are fixes the person cannot do now: left out of the plan,
	// and (not having been tried) they say nothing about the causes.
	Skipped map[string]bool
	// Persisting: the person reports the problem is still there (they are
	// fixing it). That rules out "none": P(still failing | nothing wrong) = 0.
	Persisting bool
}

// Diagnosis is the engine's answer.
type Diagnosis struct {
	Code     string
	Causes   []Ranked
	Top      string
	P        float64
	Reasons  []Reason // for the top cause
	Plan     []Step
	Question *Question
	// ExpectedMinutes is the expected effort of following the plan.
	ExpectedMinutes float64
}

// Diagnose runs the whole engine.
func Diagnose(k *kb.KB, in Input) (Diagnosis, error) {
	if in.Code != "" && k.Code(in.Code) == nil {
		return Diagnosis{}, fmt.Errorf("unknown error code %q", in.Code)
	}
	priors := Dist(k.Priors(in.Code))
	if in.Persisting {
		p := Dist{}
		for c, v := range priors {
			p[c] = v
		}
		p["none"] = 0
		priors = p
	}
	d := conditionOnFailures(k, Posterior(k, priors, in.Evidence), in.Failed)
	// A fix whose precondition is observed false cannot apply: it is left
	// out of the plan (a wired computer is not told to use a cable).
	skip := map[string]bool{}
	for f := range in.Failed {
		skip[f] = true
	}
	for f := range in.Skipped {
		skip[f] = true
	}
	for _, id := range kb.FixIDs {
		if r := k.Fix(id).Requires; r != "" {
			if v, known := in.Evidence[r]; known && !v {
				skip[id] = true
			}
		}
	}
	ranked := Rank(d)
	top := ranked[0]
	diag := Diagnosis{Code: in.Code, Causes: ranked, Top: top.Cause, P: top.P}
	diag.Reasons = Reasons(k, d, in.Evidence, top.Cause)
	if top.Cause != "none" || top.P < 0.5 {
		diag.Plan = Plan(k, d, skip)
		diag.ExpectedMinutes = ExpectedCost(k, d, Fixes(diag.Plan))
		diag.Question = BestQuestion(k, priors, in.Evidence, in.Failed)
	}
	return diag, nil
}
