package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests here speak to the handler directly, each request from the
// address the test gives (RemoteAddr), as a server with no proxy in front
// sees it.

func crowdServer(t *testing.T, cfg Config) (*Server, http.Handler) {
	t.Helper()
	st, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "outage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	if cfg.Services == nil {
		cfg.Services = []string{"netflix"}
	}
	srv := NewServer(cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, srv.Handler()
}

// do sends one request from addr ("host:port") with extra headers (name,
// value, ...).
func do(h http.Handler, method, target, from, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = from
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func report(h http.Handler, from, region, client string) int {
	return do(h, http.MethodPost, "/v1/reports", from,
		fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":%q,"client":%q}`, region, client)).Code
}

// statusDoc is the status document, read here field by field.
type statusDoc struct {
	Status      string `json:"status"`
	Reports15m  int    `json:"reports_15m"`
	Networks15m int    `json:"networks_15m"`
	WorstRegion string `json:"worst_region"`
}

func statusAt(t *testing.T, h http.Handler, region string) statusDoc {
	t.Helper()
	target := "/v1/status?service=netflix"
	if region != "" {
		target += "&region=" + region
	}
	rec := do(h, http.MethodGet, target, "192.0.2.200:1000", "")
	if rec.Code != 200 {
		t.Fatalf("status: HTTP %d %s", rec.Code, rec.Body)
	}
	var st statusDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// The audit: one address faked an outage with 7 requests, a fresh random
// client id each. A network counts once per service per 30 minutes,
// whatever ids it makes up, and other addresses of the same /24 or /48 are
// the same network.
func TestOneNetworkCountsOnceWhateverItsClientIDs(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1000})
	var froms []string
	for i := range 7 {
		froms = append(froms, "203.0.113.9:5000")
		froms = append(froms, fmt.Sprintf("203.0.113.%d:4000", 20+i))
		froms = append(froms, fmt.Sprintf("[2001:db8:7:%x::%x]:443", i*4099, i+1))
		froms = append(froms, fmt.Sprintf("[::ffff:203.0.113.%d]:80", 100+i))
	}
	for i, from := range froms {
		if code := report(h, from, "", fmt.Sprintf("made-up-id-%06d", i)); code != 202 {
			t.Fatalf("report %d from %s: HTTP %d", i, from, code)
		}
	}
	st := statusAt(t, h, "")
	if st.Status != "normal" || st.Reports15m != 2 || st.Networks15m != 2 {
		t.Errorf("%d reports from one /24 and one /48: %+v, want normal with 2 reports from 2 networks", len(froms), st)
	}
}

// The rate limit is per network: new addresses from the same /24 or /48
// share one budget; another network has its own.
func TestRateLimitPerNetwork(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1}) // bursts of 5
	for _, c := range []struct {
		what string
		from func(i int) string
	}{
		{"addresses of one /24", func(i int) string { return fmt.Sprintf("198.51.100.%d:1000", i+1) }},
		{"addresses of one /48", func(i int) string { return fmt.Sprintf("[2001:db8:99:%x::1]:1000", i) }},
	} {
		limited := 0
		for i := range 20 {
			if report(h, c.from(i), "", fmt.Sprintf("client-%08d", i)) == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited < 10 {
			t.Errorf("20 quick reports from %s: %d limited, want most", c.what, limited)
		}
	}
	if code := report(h, "192.0.2.1:1000", "", "another-network"); code != 202 {
		t.Errorf("a report from another network: HTTP %d, want 202", code)
	}
}

// An outage needs a floor of distinct networks (20 by default) in 15
// minutes beyond the usual count (0.6 on a new service), besides the
// Poisson test; the status says how many report.
func TestNetworkFloor(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1000})
	for i := range 20 {
		if code := report(h, fmt.Sprintf("198.51.%d.1:80", i), "", fmt.Sprintf("viewer-%04d", i)); code != 202 {
			t.Fatal(code)
		}
	}
	if st := statusAt(t, h, ""); st.Status != "normal" || st.Networks15m != 20 {
		t.Errorf("20 networks on a new service: %+v, want normal, networks_15m 20", st)
	}
	report(h, "198.51.200.1:80", "", "viewer-0021")
	if st := statusAt(t, h, ""); st.Status != "outage" || st.Networks15m != 21 {
		t.Errorf("21 networks on a new service: %+v, want outage, networks_15m 21", st)
	}
}

// A region's reports count toward that region's status only. The whole
// service's status is the worst of the separate series (no country named;
// each country), each tested alone: 15 networks naming no country and 15
// in DE are two quiet series, not an outage of 30.
func TestRegionReportsDoNotCountTowardTheGlobalStatus(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1000})
	n := 0
	send := func(region string, k int) {
		for range k {
			n++
			if code := report(h, fmt.Sprintf("10.%d.%d.1:80", n/256, n%256), region, fmt.Sprintf("viewer-%04d", n)); code != 202 {
				t.Fatal(code)
			}
		}
	}
	send("", 15)
	send("DE", 15)
	if st := statusAt(t, h, ""); st.Status != "normal" {
		t.Errorf("15 networks naming no country and 15 in DE: global %+v, want normal", st)
	}
	if st := statusAt(t, h, "DE"); st.Status != "normal" || st.Reports15m != 15 {
		t.Errorf("DE: %+v, want normal with its own 15", st)
	}
	send("FR", 25)
	if st := statusAt(t, h, ""); st.Status != "outage" || st.WorstRegion != "FR" || st.Reports15m != 25 {
		t.Errorf("and 25 in FR: global %+v, want outage raised by FR (25 reports)", st)
	}
	if st := statusAt(t, h, "DE"); st.Status != "normal" {
		t.Errorf("DE with FR in outage: %+v, want normal", st)
	}
}

// /metrics counts a repeat like any report, as the 202 answers it: they
// never tell which reports were counted.
func TestMetricsDoNotTellRepeats(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1000})
	for i := range 3 {
		// The same install twice, then another on the same network.
		if code := report(h, "203.0.113.50:80", "", fmt.Sprintf("same-network-%d", i/2)); code != 202 {
			t.Fatal(code)
		}
	}
	m := do(h, http.MethodGet, "/metrics", "192.0.2.1:1", "").Body.String()
	if strings.Contains(m, "duplicate") || !strings.Contains(m, `streamdoctor_outage_reports_accepted_total{service="netflix"} 3`) {
		var lines []string
		for _, l := range strings.Split(m, "\n") {
			if strings.Contains(l, "reports_") && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		t.Errorf("three reports from one network, metrics say %q: want 3 accepted and no repeats told apart", lines)
	}
}

// Status and page cost do not grow with the stored history: they read the
// incremental aggregates of the last hours, not every bucket row. Timed
// against the same service with three hours of history (the ratio does not
// depend on the machine's speed); the old full scan took over 20 times as
// long.
func TestStatusCostDoesNotGrowWithHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a quarter of a million rows")
	}
	regions := []string{"", "DE", "FR", "GB", "US", "ES", "IT", "NL", "BE", "PL", "SE", "NO", "DK", "FI", "AT", "CH", "PT", "IE", "CZ", "HU", "RO", "GR", "BR", "MX", "CA"}
	now := time.Now()
	b := now.Unix() / BucketSeconds
	median := func(weeks int) (time.Duration, time.Duration) {
		path := filepath.Join(t.TempDir(), "o.db")
		st, err := Open(context.Background(), "sqlite:"+path)
		if err != nil {
			t.Fatal(err)
		}
		// Rows written as an older version left them; reopening builds
		// whatever else this version reads from them.
		tx, _ := st.db.Begin()
		stmt, _ := tx.Prepare(`INSERT INTO bucket_count (service, region, bucket, n) VALUES (?, ?, ?, ?)`)
		from := b - int64(weeks)*7*24*12
		if weeks == 0 {
			from = b - 36
		}
		for _, r := range regions {
			for k := from; k <= b; k++ {
				if _, err := stmt.Exec("netflix", r, k, 1+k%3); err != nil {
					t.Fatal(err)
				}
			}
		}
		stmt.Close()
		_, _ = tx.Exec(`DELETE FROM meta`)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if st, err = Open(context.Background(), "sqlite:"+path); err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		clock := now
		srv := NewServer(Config{Store: st, Services: []string{"netflix"}, Now: func() time.Time { return clock }})
		h := srv.Handler()
		var ts, tp []time.Duration
		for range 7 {
			clock = clock.Add(3 * time.Second) // past any cache
			t0 := time.Now()
			if rec := do(h, http.MethodGet, "/v1/status?service=netflix", "192.0.2.1:1", ""); rec.Code != 200 {
				t.Fatalf("status: %d", rec.Code)
			}
			ts = append(ts, time.Since(t0))
			clock = clock.Add(3 * time.Second)
			t0 = time.Now()
			if rec := do(h, http.MethodGet, "/", "192.0.2.1:1", ""); rec.Code != 200 {
				t.Fatalf("page: %d", rec.Code)
			}
			tp = append(tp, time.Since(t0))
		}
		slices.Sort(ts)
		slices.Sort(tp)
		return ts[3], tp[3]
	}
	shortS, shortP := median(0)
	longS, longP := median(5)
	t.Logf("status: %v with 3 hours of history, %v with 5 weeks (%d rows); page: %v and %v", shortS, longS, len(regions)*5*7*24*12, shortP, longP)
	if longS > 4*shortS+10*time.Millisecond {
		t.Errorf("status takes %v with 5 weeks of history, %v with 3 hours: it grows with the history", longS, shortS)
	}
	if longP > 4*shortP+20*time.Millisecond {
		t.Errorf("page takes %v with 5 weeks of history, %v with 3 hours: it grows with the history", longP, shortP)
	}
}
