package server

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

// The status of a service in a region is tested on that region's reports
// alone. The status of the whole service (no region asked) is the worst of
// separate series, each tested alone against its own baseline and its own
// floor of networks: the reports that name no country, and each country's.
// No report is ever added into another series' counts, so reports spread
// over countries do not add up to an outage that none of them shows, and a
// country's busy hour does not hide in the total. A network counts once
// per service per 30 minutes in whichever series its report named, so it
// is never in two series at once.

type cacheKey struct {
	service, region string
	kind            int // kindStatus, kindChart (with the page's series), kindPage (the page's bytes)
}

const (
	kindStatus = iota
	kindChart
	kindPage
)

type cacheEntry struct {
	mu    sync.Mutex
	ok    bool
	gen   uint64
	began time.Time // wall clock, when its computation began
	clock time.Time // the server's clock (simulated in benchmarks)
	val   any
}

// computed is a status, and for the status page the all-regions series it
// draws.
type computed struct {
	st    outage.Status
	total *Series
}

// StatusOf evaluates the status of service (and region) now, or answers
// the one computed less than StatusCache ago if this instance has stored
// no report for the service since.
func (s *Server) StatusOf(ctx context.Context, service, region string) (outage.Status, error) {
	c, err := s.statusOf(ctx, service, region, false)
	return c.st, err
}

func (s *Server) statusOf(ctx context.Context, service, region string, chart bool) (computed, error) {
	kind := kindStatus
	if chart {
		kind = kindChart
	}
	v, err := s.cached(cacheKey{service, region, kind}, func(now time.Time) (any, error) {
		return s.compute(ctx, service, region, chart, now)
	})
	c, _ := v.(computed)
	return c, err
}

// cached answers a value computed less than StatusCache ago, unless this
// instance has since stored a report for the key's service (any service,
// for the page), or one whose computation began after the request arrived
// (a request never gets an answer older than itself once the instance has
// taken a report, so a viewer who reported sees the report counted). One
// computation per key at a time; the requests waiting for it take its
// answer.
func (s *Server) cached(k cacheKey, compute func(now time.Time) (any, error)) (any, error) {
	arrived := time.Now()
	if s.cfg.StatusCache < 0 {
		return compute(s.cfg.Now())
	}
	s.cacheMu.Lock()
	e := s.cache[k]
	if e == nil {
		e = &cacheEntry{}
		s.cache[k] = e
	}
	s.cacheMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.cfg.Now()
	gen := s.generation(k)
	ttl := s.cfg.StatusCache
	fresh := time.Since(e.began) < ttl && !now.Before(e.clock) && now.Sub(e.clock) < ttl
	if e.ok && fresh && (e.gen == gen || !e.began.Before(arrived)) {
		return e.val, nil
	}
	began := time.Now()
	v, err := compute(now)
	if err != nil {
		return nil, err
	}
	e.ok, e.gen, e.began, e.clock, e.val = true, gen, began, now, v
	return v, nil
}

// generation counts the commits of reports for k's service (of any
// service, for the page) on this instance.
func (s *Server) generation(k cacheKey) uint64 {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if k.kind == kindPage {
		return s.genAll
	}
	return s.gen[k.service]
}

// compute reads the aggregates and evaluates.
func (s *Server) compute(ctx context.Context, service, region string, chart bool, now time.Time) (computed, error) {
	p := s.cfg.Params
	set, err := s.cfg.Store.load(ctx, service, region, now, p, chart)
	if err != nil {
		return computed{}, err
	}
	st := outage.Status{Schema: outage.Schema, Service: service, Region: region, UpdatedAt: now.UTC().Truncate(time.Second)}
	fill := func(v Verdict) {
		st.Status, st.Reports15m, st.Networks15m, st.Since = v.Status, v.Reports15m, v.Reports15m, v.Since
		st.Baseline15 = math.Round(v.Baseline15*100) / 100
	}
	if region != "" {
		fill(Evaluate(*set[region], now, p))
		return computed{st: st}, nil
	}
	v, worst := combine(set, now, p)
	fill(v)
	st.WorstRegion = worst
	s.metrics.status.WithLabelValues(service).Set(float64(outage.Level(v.Status)))
	return computed{st: st, total: set[allRegions]}, nil
}

// combine is the status of a whole service from its separate series (by
// region; "" = no country named, "*" = all, which is only counted): the
// worst of them at each replayed step. Its numbers are those of the series
// that raised it (named as worst, unless it is the one naming no country),
// or, when all is normal, those of all the service's reports.
func combine(set map[string]*Series, now time.Time, p Params) (Verdict, string) {
	regions := make([]string, 0, len(set))
	for r := range set {
		if r != allRegions {
			regions = append(regions, r)
		}
	}
	slices.Sort(regions)
	var combined []int
	var best Verdict
	worst, found := "", false
	for _, r := range regions {
		levels, v := timeline(*set[r], now, p)
		if combined == nil {
			combined = levels
		} else {
			for i := range combined {
				combined[i] = max(combined[i], levels[i])
			}
		}
		if !found || outage.Level(v.Status) > outage.Level(best.Status) ||
			(outage.Level(v.Status) == outage.Level(best.Status) && v.Reports15m > best.Reports15m) {
			best, worst, found = v, r, true
		}
	}
	b := now.Unix() / BucketSeconds
	start := b - int64(p.ReplaySteps)
	level := 0
	if len(combined) > 0 {
		level = combined[len(combined)-1]
	}
	// Since: the start of the last run at this level; a step up counts
	// from its bucket, a step down from the end of the bucket that
	// completed it (as in timeline).
	since := time.Unix(start*BucketSeconds, 0).UTC()
	for i := len(combined) - 1; i > 0; i-- {
		if combined[i-1] != level {
			step := start + int64(i)
			if combined[i-1] > level {
				step++
			}
			since = time.Unix(step*BucketSeconds, 0).UTC()
			break
		}
	}
	if level == 0 {
		v := Verdict{Status: outage.Normal}
		if t := set[allRegions]; t != nil {
			v = Evaluate(*t, now, p)
		}
		v.Status, v.Since = outage.Normal, since
		return v, ""
	}
	best.Since = since
	return best, worst
}
