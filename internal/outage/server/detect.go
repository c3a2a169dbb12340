package server

import (
	"math"
	"slices"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

// BucketSeconds is the width of a stored count: reports are kept as counts
// per service, region and five minutes.
const BucketSeconds = 300

// Params are the detector's numbers; DefaultParams explains each.
type Params struct {
	// Alpha: a window is significant when a count this high has a Poisson
	// upper-tail probability below Alpha under the baseline.
	Alpha float64
	// ExitAlpha: a raised status steps down only when the windows are no
	// longer significant even at this looser level (hysteresis).
	ExitAlpha float64
	// MinShort and MinLong: the fewest distinct clients a window needs
	// before it can be significant at all.
	MinShort, MinLong int
	// Floor is the smallest baseline, in reports per bucket: quiet hours
	// are not allowed to make two reports look like a surge.
	Floor float64
	// Weeks of history the hour-of-week baseline is taken from.
	Weeks int
	// HoldSteps: evaluations (of five minutes) the lower status must last
	// before the status steps down.
	HoldSteps int
	// ReplaySteps: how many five-minute steps the status is replayed over,
	// so that every instance reading the same database gives the same
	// status and the same "since".
	ReplaySteps int
}

// DefaultParams: false alarms are costlier than a few minutes' delay, since
// an "outage" answer tells viewers to wait rather than fix their side.
var DefaultParams = Params{
	Alpha:       1e-5, // per window; both must agree: no false outage in replayed calm months (bench/outage-detect), a 5x surge called in minutes
	ExitAlpha:   1e-2, // a surge is over only when even a 1 % tail no longer flags it
	MinShort:    3,    // three viewers within ten minutes, at the least
	MinLong:     5,    // five within twenty
	Floor:       0.2,  // one report per 25 minutes, the quietest hour of a small crowd
	Weeks:       4,    // a month of hour-of-week history
	HoldSteps:   2,    // ten minutes calm before stepping down
	ReplaySteps: 72,   // six hours
}

// Series is a service's (and region's) counts by bucket number (Unix time /
// BucketSeconds), plus the first bucket it has any history from.
type Series struct {
	Counts map[int64]int
	First  int64 // first bucket with a report; 0 = none yet
}

// Verdict is the detector's answer at one moment.
type Verdict struct {
	Status     string
	Since      time.Time
	Reports15m int     // reports in the long window
	Baseline15 float64 // what the baseline expects in 15 minutes
	ShortP     float64 // upper-tail probabilities of the two windows
	LongP      float64
}

// HistoryNeeded is the least history (in buckets) before the detector uses
// its own past instead of the cold-start floor: two hours.
const HistoryNeeded = 24

// baseline is the expected reports per bucket at bucket b: the median over
// past weeks of that hour-of-week's mean, or, with under a week of history,
// the mean of the past day (leaving out the last hour, where a surge would
// sit); never below the floor.
func (s Series) baseline(b int64, p Params) float64 {
	const perHour = 3600 / BucketSeconds
	const perWeek = 7 * 24 * perHour
	hourStart := b - b%perHour
	var weekly []float64
	for k := int64(1); k <= int64(p.Weeks); k++ {
		start := hourStart - k*perWeek
		if s.First == 0 || start < s.First {
			break
		}
		sum := 0
		for i := int64(0); i < perHour; i++ {
			sum += s.Counts[start+i]
		}
		weekly = append(weekly, float64(sum)/perHour)
	}
	var lam float64
	switch {
	case len(weekly) > 0:
		slices.Sort(weekly)
		n := len(weekly)
		lam = weekly[n/2]
		if n%2 == 0 {
			lam = (weekly[n/2-1] + weekly[n/2]) / 2
		}
	case s.First != 0 && b-s.First >= HistoryNeeded:
		// Cold start: the past day, up to an hour ago.
		from := max(s.First, b-24*perHour)
		to := b - perHour
		sum := 0
		for i := from; i < to; i++ {
			sum += s.Counts[i]
		}
		if to > from {
			lam = float64(sum) / float64(to-from)
		}
	}
	return max(lam, p.Floor)
}

// raw is the status at time t from the two windows alone, at level alpha.
func (s Series) raw(t time.Time, p Params, alpha float64) (string, Verdict) {
	b := t.Unix() / BucketSeconds
	elapsed := float64(t.Unix()%BucketSeconds) / BucketSeconds
	lam := s.baseline(b, p)
	sum := func(from int64) int {
		n := 0
		for i := from; i <= b; i++ {
			n += s.Counts[i]
		}
		return n
	}
	// Short: this bucket so far and the one before (5-10 minutes); long:
	// this bucket and the two before (10-15 minutes).
	cS, cL := sum(b-1), sum(b-2)
	pS := PoissonTail(cS, lam*(1+elapsed))
	pL := PoissonTail(cL, lam*(2+elapsed))
	v := Verdict{Reports15m: cL, Baseline15: lam * 3, ShortP: pS, LongP: pL}
	short := cS >= p.MinShort && pS < alpha
	long := cL >= p.MinLong && pL < alpha
	switch {
	case short && long:
		return outage.Outage, v
	case short || long:
		return outage.Elevated, v
	}
	return outage.Normal, v
}

// Evaluate replays the status over the last ReplaySteps buckets up to now
// and returns it. It reads only s, so instances sharing a database agree.
// Stepping up is immediate; stepping down needs the lower status, judged at
// ExitAlpha, for HoldSteps evaluations in a row.
func Evaluate(s Series, now time.Time, p Params) Verdict {
	b := now.Unix() / BucketSeconds
	start := b - int64(p.ReplaySteps)
	state, since, calm := outage.Normal, time.Unix(start*BucketSeconds, 0).UTC(), 0
	var v Verdict
	for step := start; step <= b; step++ {
		t := time.Unix((step+1)*BucketSeconds-1, 0) // the end of each bucket
		if step == b {
			t = now
		}
		st, vv := s.raw(t, p, p.Alpha)
		v = vv
		if outage.Level(st) > outage.Level(state) {
			state, since, calm = st, time.Unix(step*BucketSeconds, 0).UTC(), 0
			continue
		}
		exit, _ := s.raw(t, p, p.ExitAlpha)
		if outage.Level(exit) < outage.Level(state) {
			calm++
			if calm >= p.HoldSteps {
				state, since, calm = exit, time.Unix(step*BucketSeconds, 0).UTC(), 0
			}
		} else {
			calm = 0
		}
	}
	v.Status, v.Since = state, since
	return v
}

// PoissonTail is P(X >= c) for X ~ Poisson(mu).
func PoissonTail(c int, mu float64) float64 {
	if c <= 0 {
		return 1
	}
	if mu <= 0 {
		return 0
	}
	if float64(c) <= mu {
		// At or below the mean: use the complement of the lower sum.
		lower, term := 0.0, math.Exp(-mu)
		for k := 0; k < c; k++ {
			lower += term
			term *= mu / float64(k+1)
		}
		return math.Max(0, 1-lower)
	}
	lg, _ := math.Lgamma(float64(c) + 1)
	term := math.Exp(-mu + float64(c)*math.Log(mu) - lg)
	sum := 0.0
	for k := c; term > sum*1e-15 && k < c+100000; k++ {
		sum += term
		term *= mu / float64(k+1)
	}
	return math.Min(1, sum)
}
