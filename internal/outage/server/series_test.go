package server

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

// The status read from the incremental aggregates (a few hours of buckets,
// the hours the baselines need, series that cannot rise left out) is
// exactly the one a full scan of every count would give: for each region,
// and for the whole service as the worst of its separate series, at many
// moments around bursts in different regions.
func TestAggregatesAgreeWithAFullScan(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(7, 7))
	regions := []string{"", "DE", "FR", "BR"}
	end := int64(6_000_000)
	start := end - 5*7*24*12
	full := map[string]map[int64]int{}
	for _, reg := range append(regions, allRegions) {
		full[reg] = map[int64]int{}
	}
	// Five weeks of history (FR's only the last three days), imported.
	var hist []BucketCount
	for _, reg := range regions {
		from := start
		if reg == "FR" {
			from = end - 3*24*12
		}
		for b := from; b < end-100; b++ {
			if n := r.IntN(4); n > 0 {
				hist = append(hist, BucketCount{"netflix", reg, b, n})
				full[reg][b] += n
				full[allRegions][b] += n
			}
		}
	}
	if err := st.ImportCounts(ctx, hist); err != nil {
		t.Fatal(err)
	}
	// The last 100 buckets as reports from networks, with bursts.
	var entries []Entry
	id := 0
	for b := end - 100; b <= end; b++ {
		for _, reg := range regions {
			n := r.IntN(3)
			switch {
			case reg == "DE" && b >= end-60 && b < end-55:
				n += 12 // a burst that ends
			case reg == "BR" && b >= end-4:
				n += 9 // a burst now
			case reg == "" && b >= end-30 && b < end-28:
				n += 25
			}
			for range n {
				id++
				entries = append(entries, Entry{Service: "netflix", Region: reg, Network: fmt.Sprintf("net-%06d", id), Bucket: b})
			}
		}
	}
	// A network reporting again within 30 minutes is not counted again.
	entries = append(entries, Entry{Service: "netflix", Region: "FR", Network: "net-000001", Bucket: entries[0].Bucket + 3})
	ok, err := st.Add(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if ok[i] {
			full[e.Region][e.Bucket]++
			full[allRegions][e.Bucket]++
		}
	}
	if ok[len(ok)-1] {
		t.Fatal("a repeat within 30 minutes was counted")
	}
	series := func(reg string) *Series {
		s := &Series{Counts: full[reg]}
		for b := range full[reg] {
			if s.First == 0 || b < s.First {
				s.First = b
			}
		}
		return s
	}
	srv := NewServer(Config{Store: st, Services: []string{"netflix"}})
	raised := map[string]int{}
	for b := end - 70; b <= end; b += 3 {
		for _, e := range []int64{0, 170, 299} {
			// Both read nothing after now's bucket.
			now := at(b, e)
			for _, reg := range regions[1:] {
				got, err := srv.compute(ctx, "netflix", reg, false, now)
				if err != nil {
					t.Fatal(err)
				}
				want := Evaluate(*series(reg), now, DefaultParams)
				if got.st.Status != want.Status || got.st.Reports15m != want.Reports15m || !got.st.Since.Equal(want.Since) ||
					math.Abs(got.st.Baseline15-want.Baseline15) > 0.006 {
					t.Errorf("%s at bucket %d+%ds: aggregates %+v, full scan %+v", reg, b, e, got.st, want)
				}
			}
			set := map[string]*Series{}
			for _, reg := range append(regions, allRegions) {
				set[reg] = series(reg)
			}
			want, worst := combine(set, now, DefaultParams)
			got, err := srv.compute(ctx, "netflix", "", false, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.st.Status != want.Status || got.st.Reports15m != want.Reports15m || !got.st.Since.Equal(want.Since) ||
				got.st.WorstRegion != worst || math.Abs(got.st.Baseline15-want.Baseline15) > 0.006 {
				t.Errorf("whole service at bucket %d+%ds: aggregates %+v, full scan %+v (worst %q)", b, e, got.st, want, worst)
			}
			if got.st.Status != outage.Normal {
				raised["worst="+got.st.WorstRegion]++
			}
		}
	}
	// The bursts were seen, each raising the whole service's status: DE's
	// while it lasted, the one naming no country, BR's now.
	if raised["worst=DE"] == 0 || raised["worst="] == 0 || raised["worst=BR"] == 0 {
		t.Errorf("statuses raised, by the series that raised them: %v; want DE's, BR's and the one naming no country", raised)
	}
}

func TestImportRefusesTheAllRegionsSeries(t *testing.T) {
	st, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.ImportCounts(context.Background(), []BucketCount{{"netflix", "*", 1, 1}}); err == nil {
		t.Error("imported counts into the all-regions series")
	}
}

// A database left by the previous version (reports counted per client, no
// aggregates) opens, keeps its history and counts networks from then on.
func TestOpensADatabaseOfTheOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	testOldSchema(t, "sqlite:"+path)
}

func testOldSchema(t *testing.T, spec string) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the old schema, as the previous version created it.
	for _, q := range []string{
		`DROP TABLE report`, `DROP TABLE bucket_count`, `DROP TABLE hour_count`, `DROP TABLE series_first`, `DROP TABLE meta`,
		`CREATE TABLE report (service TEXT NOT NULL, region TEXT NOT NULL, code TEXT NOT NULL, client_hash TEXT NOT NULL, bucket BIGINT NOT NULL)`,
		`CREATE INDEX report_client ON report (service, client_hash, bucket)`,
		`CREATE TABLE bucket_count (service TEXT NOT NULL, region TEXT NOT NULL, bucket BIGINT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, region, bucket))`,
	} {
		if _, err := st.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now()
	b := now.Unix() / BucketSeconds
	for i := range 30 {
		if _, err := st.db.ExecContext(ctx, st.q(`INSERT INTO report (service, region, code, client_hash, bucket) VALUES ('netflix', 'DE', '', ?, ?)`), fmt.Sprintf("old-%d", i), b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.db.ExecContext(ctx, st.q(`INSERT INTO bucket_count (service, region, bucket, n) VALUES ('netflix', 'DE', ?, 30), ('netflix', '', ?, 2)`), b, b-1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err = Open(ctx, spec); err != nil {
		t.Fatalf("opening the old schema: %v", err)
	}
	defer st.Close()
	srv := NewServer(Config{Store: st, Services: []string{"netflix"}, Now: func() time.Time { return now }})
	got, err := srv.StatusOf(ctx, "netflix", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != outage.Outage || got.WorstRegion != "DE" || got.Reports15m != 30 {
		t.Errorf("the old history: %+v, want DE's 30 reports in outage", got)
	}
	ok, err := st.Add(ctx, []Entry{{Service: "netflix", Region: "DE", Network: "n1", Bucket: b}, {Service: "netflix", Region: "FR", Network: "n1", Bucket: b}})
	if err != nil || !ok[0] || ok[1] {
		t.Errorf("new reports on the migrated schema: %v %v, want the first counted and its repeat not", ok, err)
	}
}

// Counts older than eight weeks go, with their hourly sums; a series with
// nothing left is forgotten; the others start at the cut.
func TestPruneDropsOldCounts(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	b := now.Unix() / BucketSeconds
	old := b - (CountDays+7)*bucketsPerDay
	if err := st.ImportCounts(ctx, []BucketCount{{"netflix", "DE", old, 3}, {"netflix", "DE", b, 2}, {"netflix", "FR", old, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Prune(ctx, now); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var n int
		if err := st.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM bucket_count`); n != 2 { // DE's and "*"'s of now
		t.Errorf("%d bucket counts left, want 2", n)
	}
	if n := count(`SELECT COALESCE(SUM(n), 0) FROM hour_count`); n != 4 {
		t.Errorf("hourly sums of %d left, want 4 (DE's 2 and all regions' 2)", n)
	}
	if n := count(`SELECT COUNT(*) FROM series_first WHERE region = 'FR'`); n != 0 {
		t.Error("FR, with nothing left, is still a series")
	}
	if n := count(`SELECT COUNT(*) FROM series_first WHERE region = 'DE' AND first = ` + fmt.Sprint(b-CountDays*bucketsPerDay)); n != 1 {
		t.Error("DE does not start at the cut")
	}
}
