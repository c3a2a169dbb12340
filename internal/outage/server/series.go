package server

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// countKey names one aggregate row: a series (service and region) and a
// bucket or an hour.
type countKey struct {
	service, region string
	at              int64
}

type seriesKey struct{ service, region string }

// aggregate is what a batch adds to the aggregates: five-minute and hourly
// counts of its series and of each service's all-regions series, and the
// first bucket of each.
type aggregate struct {
	buckets, hours map[countKey]int
	first          map[seriesKey]int64
}

func newAggregate() *aggregate {
	return &aggregate{buckets: map[countKey]int{}, hours: map[countKey]int{}, first: map[seriesKey]int64{}}
}

func (a *aggregate) add(service, region string, bucket int64, n int) {
	for _, r := range []string{region, allRegions} {
		a.buckets[countKey{service, r, bucket}] += n
		a.hours[countKey{service, r, bucket / perHour}] += n
		k := seriesKey{service, r}
		if f, ok := a.first[k]; !ok || bucket < f {
			a.first[k] = bucket
		}
	}
}

func sortedKeys(m map[countKey]int) []countKey {
	keys := make([]countKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// One order for every writer, so that two instances updating the same
	// rows in PostgreSQL cannot deadlock.
	slices.SortFunc(keys, func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.service, b.service), cmp.Compare(a.region, b.region), cmp.Compare(a.at, b.at))
	})
	return keys
}

// apply adds an aggregate to the stored aggregates inside tx.
func (s *Store) apply(ctx context.Context, tx *sql.Tx, a *aggregate) error {
	tables := []struct {
		m                map[countKey]int
		table, col, cols string
	}{
		{a.buckets, "bucket_count", "bucket", "(service, region, bucket, n)"},
		{a.hours, "hour_count", "hour", "(service, region, hour, n)"},
	}
	for _, t := range tables {
		keys := sortedKeys(t.m)
		conflict := " ON CONFLICT (service, region, bucket) DO UPDATE SET n = bucket_count.n + excluded.n"
		if t.table == "hour_count" {
			conflict = " ON CONFLICT (service, region, hour) DO UPDATE SET n = hour_count.n + excluded.n"
		}
		if s.postgres {
			for chunk := range slices.Chunk(keys, 20000) {
				var svc, reg []string
				var at, n []int64
				for _, k := range chunk {
					svc, reg, at, n = append(svc, k.service), append(reg, k.region), append(at, k.at), append(n, int64(t.m[k]))
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO `+t.table+` `+t.cols+`
					SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])`+conflict, svc, reg, at, n); err != nil {
					return err
				}
			}
			continue
		}
		// SQLite: up to 200 rows a statement.
		for chunk := range slices.Chunk(keys, 200) {
			q := `INSERT INTO ` + t.table + ` ` + t.cols + ` VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", len(chunk)), ",") + conflict
			args := make([]any, 0, 4*len(chunk))
			for _, k := range chunk {
				args = append(args, k.service, k.region, k.at, t.m[k])
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
	}
	firsts := make([]seriesKey, 0, len(a.first))
	s.firstMu.Lock()
	for k, f := range a.first {
		if known, ok := s.firsts[k]; !ok || f < known {
			firsts = append(firsts, k)
		}
	}
	s.firstMu.Unlock()
	if len(firsts) == 0 {
		return nil
	}
	slices.SortFunc(firsts, func(x, y seriesKey) int {
		return cmp.Or(cmp.Compare(x.service, y.service), cmp.Compare(x.region, y.region))
	})
	const firstConflict = ` ON CONFLICT (service, region) DO UPDATE SET first = excluded.first WHERE excluded.first < series_first.first`
	if s.postgres {
		var svc, reg []string
		var first []int64
		for _, k := range firsts {
			svc, reg, first = append(svc, k.service), append(reg, k.region), append(first, a.first[k])
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO series_first (service, region, first)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`+firstConflict, svc, reg, first)
		return err
	}
	for chunk := range slices.Chunk(firsts, 300) {
		args := make([]any, 0, 3*len(chunk))
		for _, k := range chunk {
			args = append(args, k.service, k.region, a.first[k])
		}
		q := `INSERT INTO series_first (service, region, first) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(chunk)), ",") + firstConflict
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// knowFirsts remembers the first buckets an aggregate has committed.
func (s *Store) knowFirsts(a *aggregate) {
	s.firstMu.Lock()
	defer s.firstMu.Unlock()
	if s.firsts == nil {
		s.firsts = map[seriesKey]int64{}
	}
	for k, f := range a.first {
		if known, ok := s.firsts[k]; !ok || f < known {
			s.firsts[k] = f
		}
	}
}

// BucketCount is N reports of a service in a region ("" = none said) in
// one five-minute bucket (Unix time / BucketSeconds).
type BucketCount struct {
	Service, Region string
	Bucket          int64
	N               int
}

// ImportCounts adds five-minute counts without their reports (a history
// brought from elsewhere, or a benchmark's), keeping the hourly and
// all-regions aggregates in step, in one transaction.
func (s *Store) ImportCounts(ctx context.Context, counts []BucketCount) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	for chunk := range slices.Chunk(counts, 100000) {
		a := newAggregate()
		for _, c := range chunk {
			if c.Region == allRegions || c.N <= 0 {
				return fmt.Errorf("import: a count of %d in region %q", c.N, c.Region)
			}
			a.add(c.Service, c.Region, c.Bucket, c.N)
		}
		if err := s.apply(ctx, tx, a); err != nil {
			return unavailable(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// raiseFloor is the fewest reports a long window needs before a series
// can be raised at all, whatever its baseline: below it, raw says normal.
func (p Params) raiseFloor() int {
	return max(p.MinNetworks, min(p.MinShort, p.MinLong), 1)
}

// canRise reports whether any step from b-back to b has a long window
// reaching the floor: if none has, every step of the series' timeline is
// normal, and it need not be replayed.
func (ser *Series) canRise(b, back int64, floor int) bool {
	for x := b - back; x <= b; x++ {
		if ser.Counts[x-2]+ser.Counts[x-1]+ser.Counts[x] >= floor {
			return true
		}
	}
	return false
}

// load reads what the status of service (and region) at now needs, from
// the aggregates alone: the buckets of the replayed window, the hours the
// baselines read, and the first bucket of each series.
//
// For a region, it returns that region's series. For the whole service
// (region ""), it returns the series that could be raised somewhere in the
// replayed window (a long window reaching the floor; the others are normal
// throughout, see canRise): the one of reports naming no country and each
// country's, and always the all-regions series ("*"), whose numbers the
// status gives when all is normal. With chart, "*" also holds the last 24
// hours for the status page. A few hundred rows per series raised, a few
// thousand index entries in all, whatever the history.
func (s *Store) load(ctx context.Context, service, region string, now time.Time, p Params, chart bool) (map[string]*Series, error) {
	b := now.Unix() / BucketSeconds
	back := int64(p.ReplaySteps)
	from := b - back - 2
	all := map[string]*Series{}
	get := func(r string) *Series {
		if all[r] == nil {
			all[r] = &Series{Counts: map[int64]int{}, Hours: map[int64]int{}}
		}
		return all[r]
	}
	one, oneArgs := "", []any{}
	if region != "" {
		one, oneArgs = " AND region = ?", []any{region}
		get(region)
	} else {
		get(allRegions)
	}
	scan := func(q string, args []any, put func(r string, at int64, n int)) error {
		rows, err := s.db.QueryContext(ctx, s.q(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			var at int64
			var n int
			if err := rows.Scan(&r, &at, &n); err != nil {
				return err
			}
			put(r, at, n)
		}
		return rows.Err()
	}
	firsts := map[string]int64{}
	if err := scan(`SELECT region, first, 0 FROM series_first WHERE service = ?`+one, append([]any{service}, oneArgs...),
		func(r string, f int64, _ int) { firsts[r] = f }); err != nil {
		return nil, unavailable(err)
	}
	floor := p.raiseFloor()
	if region == "" {
		// Which series could rise: a 15-minute window holds at most three
		// times a series' largest bucket, so only those whose largest
		// bucket in the window reaches a third of the floor are read.
		var maybe []any
		if err := scan(`SELECT region, MAX(n), 0 FROM bucket_count WHERE service = ? AND bucket >= ? AND bucket <= ? GROUP BY region`,
			[]any{service, from, b}, func(r string, mx int64, _ int) {
				if r == allRegions || 3*mx >= int64(floor) {
					maybe = append(maybe, r)
				}
			}); err != nil {
			return nil, unavailable(err)
		}
		if len(maybe) > 0 {
			in := strings.TrimSuffix(strings.Repeat("?, ", len(maybe)), ", ")
			if err := scan(`SELECT region, bucket, n FROM bucket_count WHERE service = ? AND region IN (`+in+`) AND bucket >= ? AND bucket <= ?`,
				append(append([]any{service}, maybe...), from, b), func(r string, at int64, n int) { get(r).Counts[at] = n }); err != nil {
				return nil, unavailable(err)
			}
		}
	} else if err := scan(`SELECT region, bucket, n FROM bucket_count WHERE service = ? AND region = ? AND bucket >= ? AND bucket <= ?`,
		[]any{service, region, from, b}, func(r string, at int64, n int) { get(r).Counts[at] = n }); err != nil {
		return nil, unavailable(err)
	}
	// The series to replay: those that can rise, and the one asked for.
	out := map[string]*Series{}
	for r, ser := range all {
		ser.First = firsts[r]
		if r == region || r == allRegions || ser.canRise(b, back, floor) {
			out[r] = ser
		}
	}
	chartFrom := b - 287 - 2
	if chart && region == "" {
		if err := scan(`SELECT region, bucket, n FROM bucket_count WHERE service = ? AND region = '*' AND bucket >= ? AND bucket < ?`,
			[]any{service, chartFrom, from}, func(r string, at int64, n int) { get(r).Counts[at] = n }); err != nil {
			return nil, unavailable(err)
		}
	}
	// The hours their baselines read: the same hours in each past week a
	// series has history for, and the day before when one has under a
	// week (cold start).
	var spans []hourSpan
	need := func(from int64, only func(string) bool) {
		h0, hb := from/perHour, b/perHour
		cold, weeks := false, 0
		for r, ser := range out {
			if !only(r) || ser.First == 0 {
				continue
			}
			cold = cold || ser.First > h0*perHour-7*24*perHour
			for k := weeks + 1; k <= p.Weeks && ser.First <= hb*perHour-int64(k)*7*24*perHour; k++ {
				weeks = k
			}
		}
		if cold {
			spans = append(spans, hourSpan{h0 - 24, hb - 2})
		}
		for k := int64(1); k <= int64(weeks); k++ {
			spans = append(spans, hourSpan{h0 - k*7*24, hb - k*7*24})
		}
	}
	var names []string
	for r := range out {
		names = append(names, r)
	}
	slices.Sort(names)
	need(b-back, func(string) bool { return true })
	if err := s.hours(ctx, service, names, spans, get); err != nil {
		return nil, unavailable(err)
	}
	if chart && region == "" {
		// The chart's 24 hours, for "*" only (the spans above repeat).
		spans = spans[:0]
		need(chartFrom, func(r string) bool { return r == allRegions })
		if err := s.hours(ctx, service, []string{allRegions}, spans, get); err != nil {
			return nil, unavailable(err)
		}
	}
	return out, nil
}

// hourSpan is the hours from lo to hi.
type hourSpan struct{ lo, hi int64 }

// hours reads the hourly counts of the named series in the given spans.
func (s *Store) hours(ctx context.Context, service string, regions []string, spans []hourSpan, get func(string) *Series) error {
	if len(regions) == 0 {
		return nil
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(regions)), ", ")
	for _, sp := range spans {
		args := []any{service}
		for _, r := range regions {
			args = append(args, r)
		}
		args = append(args, sp.lo, sp.hi)
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT region, hour, n FROM hour_count WHERE service = ? AND region IN (`+in+`) AND hour >= ? AND hour <= ?`), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r string
			var h int64
			var n int
			if err := rows.Scan(&r, &h, &n); err != nil {
				rows.Close()
				return err
			}
			get(r).Hours[h] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
