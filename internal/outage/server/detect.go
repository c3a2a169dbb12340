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
	// MinShort and MinLong: the fewest reports (each from a distinct
	// network) a window needs before it can be significant at all.
	MinShort, MinLong int
	// MinNetworks: the floor of distinct networks in the last 15 minutes
	// (the long window) beyond the usual count, before the status can be
	// raised at all, to "elevated" or "outage", whatever the Poisson test
	// says: networks_15m - baseline_15m >= MinNetworks (21 networks on a
	// service with no history, whose baseline is 0.6; 25 where 4.5 are
	// usual). So the reporters who are there anyway do not lend an
	// attacker their networks. A network counts once per service per 30
	// minutes, so the window's count is its number of networks.
	MinNetworks int
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
	MinLong:     5,    // five within fifteen
	MinNetworks: 20,   // one person, or one office, is not a crowd: --min-networks
	Floor:       0.2,  // one report per 25 minutes, the quietest hour of a small crowd
	Weeks:       4,    // a month of hour-of-week history
	HoldSteps:   2,    // ten minutes calm before stepping down
	ReplaySteps: 72,   // six hours
}

// Series is a service's (and region's) counts by bucket number (Unix time /
// BucketSeconds), plus the first bucket it has any history from.
//
// Hours, when not nil, holds the counts per hour (bucket / 12) that the
// baseline reads, so that Counts need only hold the buckets the windows
// look at (the server reads both from incremental aggregates); nil: hours
// are summed from Counts.
type Series struct {
	Counts map[int64]int
	Hours  map[int64]int
	First  int64 // first bucket with a report; 0 = none yet
}

const perHour = 3600 / BucketSeconds

// hourSum is the count of hour h (buckets h*12 to h*12+11).
func (s Series) hourSum(h int64) int {
	if s.Hours != nil {
		return s.Hours[h]
	}
	n := 0
	for i := int64(0); i < perHour; i++ {
		n += s.Counts[h*perHour+i]
	}
	return n
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
// the mean of the past day's whole hours up to the last one (leaving out
// the last hour or two, where a surge would sit); never below the floor.
// It depends only on b's hour.
func (s Series) baseline(b int64, p Params) float64 {
	const perWeek = 7 * 24 * perHour
	hour := b / perHour
	hourStart := hour * perHour
	var weekly []float64
	for k := int64(1); k <= int64(p.Weeks); k++ {
		start := hourStart - k*perWeek
		if s.First == 0 || start < s.First {
			break
		}
		weekly = append(weekly, float64(s.hourSum(hour-k*7*24))/perHour)
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
		// Cold start: the past day's whole hours, up to the one before
		// this hour (nothing is stored before First).
		from := max(s.First, hourStart-24*perHour)
		to := hourStart - perHour
		sum := 0
		for h := from / perHour; h < to/perHour; h++ {
			sum += s.hourSum(h)
		}
		if to > from {
			lam = float64(sum) / float64(to-from)
		}
	}
	return max(lam, p.Floor)
}

// evaluator evaluates one series, remembering each hour's baseline.
type evaluator struct {
	s   Series
	p   Params
	lam map[int64]float64
}

func (e *evaluator) baseline(b int64) float64 {
	h := b / perHour
	if v, ok := e.lam[h]; ok {
		return v
	}
	if e.lam == nil {
		e.lam = map[int64]float64{}
	}
	v := e.s.baseline(b, e.p)
	e.lam[h] = v
	return v
}

// raw is the status of bucket b from its two windows alone, at level
// alpha. A bucket is judged on its whole exposure even while it is still
// in progress: its count can only grow, so within a bucket the raw status
// never falls as time passes (with the exposure so far, the same reports
// would look less and less unusual each second, and the status would
// step down inside the bucket).
func (e *evaluator) raw(b int64, alpha float64) (string, Verdict) {
	s, p := e.s, e.p
	lam := e.baseline(b)
	// Short: this bucket and the one before (5-10 minutes); long: this
	// bucket and the two before (10-15 minutes).
	cS := s.Counts[b-1] + s.Counts[b]
	cL := cS + s.Counts[b-2]
	pS := PoissonTail(cS, lam*2)
	pL := PoissonTail(cL, lam*3)
	v := Verdict{Reports15m: cL, Baseline15: lam * 3, ShortP: pS, LongP: pL}
	if float64(cL)-lam*3 < float64(p.MinNetworks) {
		return outage.Normal, v
	}
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
func Evaluate(s Series, now time.Time, p Params) Verdict {
	_, v := timeline(s, now, p)
	return v
}

// timeline replays the status bucket by bucket and returns its level at
// each step (ReplaySteps+1 of them, the last being now's bucket) with the
// final verdict. Each complete bucket is one evaluation. Stepping up is
// immediate, even in the bucket in progress; stepping down needs the lower
// status, judged at ExitAlpha, in HoldSteps complete buckets in a row. The
// bucket in progress never counts as a calm evaluation, so the status never
// steps down inside a bucket, and never steps down to climb back when the
// bucket's reports are in.
func timeline(s Series, now time.Time, p Params) ([]int, Verdict) {
	b := now.Unix() / BucketSeconds
	start := b - int64(p.ReplaySteps)
	e := &evaluator{s: s, p: p}
	state, since, calm := outage.Normal, time.Unix(start*BucketSeconds, 0).UTC(), 0
	levels := make([]int, 0, p.ReplaySteps+1)
	var v Verdict
	for step := start; step <= b; step++ {
		st, vv := e.raw(step, p.Alpha)
		v = vv
		switch {
		case outage.Level(st) > outage.Level(state):
			state, since, calm = st, time.Unix(step*BucketSeconds, 0).UTC(), 0
		case step == b:
			// In progress: it may raise the status, never lower it.
		default:
			exit, _ := e.raw(step, p.ExitAlpha)
			if outage.Level(exit) < outage.Level(state) {
				calm++
				if calm >= p.HoldSteps {
					state, since, calm = exit, time.Unix((step+1)*BucketSeconds, 0).UTC(), 0
				}
			} else {
				calm = 0
			}
		}
		levels = append(levels, outage.Level(state))
	}
	v.Status, v.Since = state, since
	return levels, v
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
