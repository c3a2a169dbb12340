// Command outagedetect replays a synthetic month of crowd reports through
// the real outage detector on a simulated clock, then surges of 3x, 5x and
// 10x, and prints how often it cried "outage" in the calm month, how long
// each surge took to be called an outage, and how many distinct networks
// one attacker needs to fake an outage at a quiet and at a busy hour. Run by
// bench/outage-detect.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/outage/server"
)

const bucket = server.BucketSeconds

// rate is the usual reports per five minutes at t: a daily cycle from a
// quarter of the peak (8 am) to the peak (8 pm), a third more at weekends.
func rate(t time.Time, peak float64) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	daily := 0.625 + 0.375*math.Cos((h-20)/24*2*math.Pi)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		daily *= 1.3
	}
	return peak * daily
}

// arrivals draws a Poisson process of the given rate (per bucket) from
// start to end, with an extra multiplier inside [s0, s1).
func arrivals(r *rand.Rand, start, end time.Time, peak float64, s0, s1 time.Time, mult float64) []int64 {
	var out []int64
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		lam := rate(t, peak) / 5 // per minute
		if !t.Before(s0) && t.Before(s1) {
			lam *= mult
		}
		// Poisson count for this minute, spread uniformly over it.
		n, l, p := 0, math.Exp(-lam), 1.0
		for {
			p *= r.Float64()
			if p <= l {
				break
			}
			n++
		}
		for range n {
			out = append(out, t.Unix()+int64(r.IntN(60)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// series holds complete bucket counts; at evaluates the detector at t with
// only the reports that have arrived by then in the current bucket.
type series struct {
	full  map[int64]int
	times []int64
	first int64
}

func newSeries(ts []int64) *series {
	s := &series{full: map[int64]int{}, times: ts}
	for _, t := range ts {
		s.full[t/bucket]++
	}
	if len(ts) > 0 {
		s.first = ts[0] / bucket
	}
	return s
}

func (s *series) at(t time.Time, p server.Params) server.Verdict {
	b := t.Unix() / bucket
	lo := sort.Search(len(s.times), func(i int) bool { return s.times[i] >= b*bucket })
	hi := sort.Search(len(s.times), func(i int) bool { return s.times[i] > t.Unix() })
	saved, had := s.full[b]
	s.full[b] = hi - lo
	v := server.Evaluate(server.Series{Counts: s.full, First: s.first}, t, p)
	if had {
		s.full[b] = saved
	} else {
		delete(s.full, b)
	}
	return v
}

// minToFake is the fewest reports, each from its own network, that one
// attacker must add to make the calm series say "outage" at the moments of
// the given hour (UTC) on each day from start to end: at the end of each
// bucket of the hour (the attacker's best moment in it), with every report
// in that bucket (where it counts in both windows). It returns the median
// over those moments and the lowest (the month's luckiest moment for the
// attacker, when the usual reports happen to be many).
func minToFake(calm *series, start, end time.Time, hour int, p server.Params) (median, lowest int) {
	var need []int
	for day := start; day.Before(end); day = day.Add(24 * time.Hour) {
		h0 := time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, time.UTC)
		for t := h0.Add(bucket*time.Second - time.Second); t.Before(h0.Add(time.Hour)); t = t.Add(bucket * time.Second) {
			b := t.Unix() / bucket
			lo, hi := 0, 1000 // outage at hi, not at lo
			for hi-lo > 1 {
				mid := (lo + hi) / 2
				if calm.withExtra(t, b, mid, p).Status == outage.Outage {
					hi = mid
				} else {
					lo = mid
				}
			}
			need = append(need, hi)
		}
	}
	slices.Sort(need)
	return need[len(need)/2], need[0]
}

// withExtra evaluates at t with n more reports in bucket b.
func (s *series) withExtra(t time.Time, b int64, n int, p server.Params) server.Verdict {
	lo := sort.Search(len(s.times), func(i int) bool { return s.times[i] >= b*bucket })
	hi := sort.Search(len(s.times), func(i int) bool { return s.times[i] > t.Unix() })
	saved, had := s.full[b]
	s.full[b] = hi - lo + n
	v := server.Evaluate(server.Series{Counts: s.full, First: s.first}, t, p)
	if had {
		s.full[b] = saved
	} else {
		delete(s.full, b)
	}
	return v
}

func main() {
	peak := flag.Float64("peak", 6, "usual reports per five minutes at the busiest hour")
	minNetworks := flag.Int("min-networks", server.DefaultParams.MinNetworks, "the floor of distinct networks (outage serve --min-networks)")
	seed := flag.Uint64("seed", 1, "random seed")
	surges := flag.Int("surges", 12, "surges per magnitude, spread over the month")
	verbose := flag.Bool("v", false, "print each surge")
	flag.Parse()
	p := server.DefaultParams
	p.MinNetworks = *minNetworks
	r := rand.New(rand.NewPCG(*seed, 2))
	warm := time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC) // a Monday
	start := warm.Add(28 * 24 * time.Hour)              // four weeks of history first
	end := start.Add(30 * 24 * time.Hour)
	never := time.Time{}

	// The calm month.
	calm := newSeries(arrivals(r, warm, end, *peak, never, never, 1))
	falseOutage, falseElevated := 0, 0
	prev := outage.Normal
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		st := calm.at(t, p).Status
		if st != prev {
			if st == outage.Outage {
				falseOutage++
			}
			if st == outage.Elevated && prev == outage.Normal {
				falseElevated++
			}
		}
		prev = st
	}
	fmt.Printf("calm month (%d days, peak %.0f reports per 5 min): false outages %d, false elevated %d\n",
		int(end.Sub(start).Hours()/24), *peak, falseOutage, falseElevated)

	fmt.Printf("%-9s %-8s %-10s %-10s %-10s\n", "surge", "surges", "detected", "median_min", "max_min")
	var delay5 []float64
	for _, mult := range []float64{3, 5, 10} {
		var delays []float64
		missed := 0
		for i := range *surges {
			// Spread the surges over the month and the hours of the day.
			s0 := start.Add(time.Duration(i)*(end.Sub(start)/time.Duration(*surges)) + time.Duration(r.IntN(24*60))*time.Minute)
			s1 := s0.Add(time.Hour)
			lo := s0.Add(-30 * 24 * time.Hour)
			ser := newSeries(arrivals(r, lo, s1, *peak, s0, s1, mult))
			found := false
			for t := s0; t.Before(s1); t = t.Add(time.Minute) {
				if v := ser.at(t, p); v.Status == outage.Outage {
					if *verbose {
						fmt.Printf("  %.0fx at %s (usual %.1f per 5 min): %.0f min\n", mult, s0.Format("Mon 15:04"), rate(s0, *peak), t.Sub(s0).Minutes())
					}
					delays = append(delays, t.Sub(s0).Minutes())
					found = true
					break
				}
			}
			if !found {
				missed++
			}
		}
		slices.Sort(delays)
		med, mx := math.NaN(), math.NaN()
		if len(delays) > 0 {
			med, mx = delays[len(delays)/2], delays[len(delays)-1]
		}
		fmt.Printf("%-9s %-8d %-10d %-10.0f %-10.0f\n", fmt.Sprintf("%.0fx", mult), *surges, *surges-missed, med, mx)
		if mult == 5 {
			delay5 = delays
			if missed > 0 {
				delay5 = append(delay5, math.Inf(1))
			}
		}
	}
	med, worst := math.NaN(), math.NaN()
	if len(delay5) > 0 {
		med, worst = delay5[len(delay5)/2], slices.Max(delay5)
	}
	// One attacker with many networks, at the quietest hour (8 am, a
	// quarter of the peak) and the busiest (8 pm), on the month's days.
	quiet, quietLow := minToFake(calm, start, end, 8, p)
	busy, busyLow := minToFake(calm, start, end, 20, p)
	fmt.Printf("networks one attacker needs to fake an outage: %d at 8 am (usual %.1f per 5 min), %d at 8 pm (usual %.1f to %.1f);\n"+
		"  at the month's luckiest moment for the attacker (the usual reports by chance many): %d and %d\n",
		quiet, *peak/4, busy, *peak, *peak*1.3, quietLow, busyLow)
	fmt.Printf("goals: no false outage in the month (%s); a 5x surge called within 10 minutes (median %s); at least 20 networks to fake an outage (%s)\n",
		verdict(falseOutage == 0), verdict(med <= 10), verdict(min(quiet, busy) >= 20))
	fmt.Printf("false_alarms=%d detection_delay_min=%.0f worst_delay_min=%.0f min_networks_to_fake_outage_quiet=%d min_networks_to_fake_outage_busy=%d lowest_quiet=%d lowest_busy=%d\n",
		falseOutage, med, worst, quiet, busy, quietLow, busyLow)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
