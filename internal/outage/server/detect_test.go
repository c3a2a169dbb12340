package server

import (
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
	s := Series{Counts: map[int64]int{now: 20, now - 1: 15}, First: now - 1}
	v := Evaluate(s, at(now, 120), DefaultParams)
	if v.Status != outage.Outage {
		t.Fatalf("35 viewers in ten minutes with no history: %s, want outage", v.Status)
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
