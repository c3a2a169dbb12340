package server

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

func TestPoissonTail(t *testing.T) {
	for _, c := range []struct {
		c    int
		mu   float64
		want float64
	}{
		{0, 3, 1},
		{1, 1, 1 - math.Exp(-1)},
		{3, 1, 1 - math.Exp(-1)*(1+1+0.5)},
		{10, 2, 4.6498e-5}, // 1 - CDF(9; 2)
		{20, 5, 3.4521e-7}, // 1 - CDF(19; 5), summed directly
	} {
		got := PoissonTail(c.c, c.mu)
		if math.Abs(got-c.want) > c.want*1e-3 {
			t.Errorf("P(X >= %d; %v) = %.6g, want %.6g", c.c, c.mu, got, c.want)
		}
	}
}

// at is a time inside bucket b, e seconds in.
func at(b int64, e int64) time.Time { return time.Unix(b*BucketSeconds+e, 0) }

func steady(from, to int64, n int) Series {
	s := Series{Counts: map[int64]int{}, First: from}
	for b := from; b <= to; b++ {
		s.Counts[b] = n
	}
	return s
}

func TestColdStartBurstIsAnOutage(t *testing.T) {
	now := int64(6_000_000)
	s := Series{Counts: map[int64]int{now: 20, now - 1: 25}, First: now - 1}
	v := Evaluate(s, at(now, 120), DefaultParams)
	if v.Status != outage.Outage {
		t.Fatalf("45 viewers in ten minutes with no history: %s, want outage", v.Status)
	}
	if v.Since != at(now-1, 0).UTC() {
		t.Errorf("since %v, want the start of the first bucket that crossed", v.Since)
	}
}

func TestSteadyTrafficIsNormal(t *testing.T) {
	now := int64(6_000_000)
	const week = 7 * 24 * 12
	s := steady(now-5*week, now, 3)
	v := Evaluate(s, at(now, 150), DefaultParams)
	if v.Status != outage.Normal {
		t.Fatalf("steady traffic: %s (pS %.2g pL %.2g), want normal", v.Status, v.ShortP, v.LongP)
	}
	if math.Abs(v.Baseline15-9) > 0.01 {
		t.Errorf("baseline over 15 minutes %.2f, want 9 (3 per bucket)", v.Baseline15)
	}
}

// One past week's outage in the same hour does not lift the baseline: it
// is the median of the weeks.
func TestBaselineIgnoresOnePastOutage(t *testing.T) {
	now := int64(6_000_000)
	const week = 7 * 24 * 12
	s := steady(now-5*week, now, 2)
	for b := now - week - 12; b <= now-week+12; b++ {
		s.Counts[b] = 80
	}
	if got := s.baseline(now, DefaultParams); got != 2 {
		t.Errorf("baseline %.2f, want 2 (median of four weeks, one with an outage)", got)
	}
}

// Hysteresis: after a surge the status steps down only after HoldSteps calm
// evaluations, never on the first quiet bucket.
func TestHysteresis(t *testing.T) {
	now := int64(6_000_000)
	const week = 7 * 24 * 12
	s := steady(now-5*week, now, 2)
	for b := now - 8; b <= now-4; b++ {
		s.Counts[b] = 40 // a surge that ended four buckets ago
	}
	p := DefaultParams
	if v := Evaluate(s, at(now-4, 299), p); v.Status != outage.Outage {
		t.Fatalf("during the surge: %s, want outage", v.Status)
	}
	// One quiet bucket later the long window still holds the surge.
	if v := Evaluate(s, at(now-3, 299), p); v.Status == outage.Normal {
		t.Errorf("one bucket after the surge: normal already")
	}
	if v := Evaluate(s, at(now, 299), p); v.Status != outage.Normal {
		t.Errorf("four quiet buckets after the surge: %s, want normal", v.Status)
	}
}

func TestMinimumCount(t *testing.T) {
	// Two reports in a quiet hour of a brand-new service: unusual, but
	// fewer than MinShort viewers never make an outage.
	now := int64(6_000_000)
	s := Series{Counts: map[int64]int{now: 2}, First: now}
	if v := Evaluate(s, at(now, 60), DefaultParams); v.Status != outage.Normal {
		t.Errorf("two reports: %s, want normal", v.Status)
	}
}

// The audit's sequence: a burst over a steady 4 reports per bucket, the
// status asked every ten seconds. On the old detector a burst of 12 went
// outage -> elevated -> normal -> outage -> elevated -> normal -> elevated
// -> normal within ten minutes, because the bucket in progress was judged
// on its exposure so far and counted as a calm evaluation. Now, for every
// burst size: within a bucket the status never steps down; once down it
// never climbs back (no report came since); and it steps down only after
// HoldSteps complete calm buckets following the last step up.
func TestStatusStepsDownOnlyAfterTwoCalmBuckets(t *testing.T) {
	const week = 7 * 24 * 12
	b0 := int64(6_000_000)
	p := DefaultParams
	for k := 1; k <= 40; k++ {
		s := steady(b0-5*week, b0+12, 4)
		t0 := b0*BucketSeconds + 30
		prev, fell, lastUp := 0, false, int64(0)
		var seq []string
		for tt := t0 - 60; tt < t0+40*60; tt += 10 {
			s.Counts[b0] = 4
			if tt >= t0 {
				s.Counts[b0] += k
			}
			l := outage.Level(Evaluate(s, time.Unix(tt, 0), p).Status)
			b := tt / BucketSeconds
			if l != prev {
				seq = append(seq, fmt.Sprintf("%d@%+ds", l, tt-t0))
			}
			switch {
			case l > prev && fell:
				t.Errorf("burst %d: climbed back after stepping down with no new report: %v", k, seq)
			case l > prev:
				lastUp = b
			case l < prev && (tt-10)/BucketSeconds == b:
				t.Errorf("burst %d: stepped down inside a bucket: %v", k, seq)
			case l < prev && b < lastUp+1+int64(p.HoldSteps):
				t.Errorf("burst %d: stepped down %d s after the step up, before %d calm buckets: %v", k, tt-lastUp*BucketSeconds, p.HoldSteps, seq)
			}
			fell = fell || l < prev
			prev = l
		}
	}
}

// One network is not a crowd: below the floor of distinct networks in 15
// minutes beyond the usual count nothing is raised, however unusual the
// count; at the floor, a quiet service's burst is an outage.
func TestFloorOfNetworks(t *testing.T) {
	now := int64(6_000_000)
	for _, c := range []struct {
		floor, n int
		want     string
	}{
		// A new service's baseline is the floor, 0.6 reports in 15 minutes.
		{20, 19, outage.Normal}, {20, 20, outage.Normal}, {20, 21, outage.Outage}, {20, 7, outage.Normal}, {5, 7, outage.Outage},
	} {
		p := DefaultParams
		p.MinNetworks = c.floor
		s := Series{Counts: map[int64]int{now: c.n}, First: now}
		if v := Evaluate(s, at(now, 30), p); v.Status != c.want {
			t.Errorf("%d networks at once, floor %d: %s, want %s", c.n, c.floor, v.Status, c.want)
		}
	}
}

// The baseline read from hourly aggregates is the one summed from the
// five-minute counts.
func TestHourlyAggregatesGiveTheSameBaseline(t *testing.T) {
	now := int64(6_000_000)
	const week = 7 * 24 * 12
	for _, first := range []int64{now - 5*week, now - 30, now - 200} {
		s := steady(first, now, 0)
		for b := first; b <= now; b++ {
			s.Counts[b] = int((b*7919)%11) % 5
		}
		h := Series{Counts: s.Counts, Hours: map[int64]int{}, First: first}
		for b, n := range s.Counts {
			h.Hours[b/12] += n
		}
		for b := now - 100; b <= now; b++ {
			if x, y := s.baseline(b, DefaultParams), h.baseline(b, DefaultParams); x != y {
				t.Fatalf("first %d, bucket %d: baseline %v from counts, %v from hours", first, b, x, y)
			}
		}
		if x, y := Evaluate(s, at(now, 100), DefaultParams), Evaluate(h, at(now, 100), DefaultParams); x != y {
			t.Errorf("verdicts differ: %+v and %+v", x, y)
		}
	}
}
