package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

func newTestServer(t *testing.T, perAddr float64) (*Server, *httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := Open(context.Background(), "sqlite:"+filepath.Join(dir, "outage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Reports carry their network in X-Forwarded-For (postFrom), as from
	// behind a reverse proxy on loopback.
	srv := NewServer(Config{Store: st, Services: []string{"netflix"}, PerAddress: perAddr, TrustProxy: loopback})
	srv.Start()
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs, dir
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	return postFrom(t, url, "", body)
}

// postFrom posts a report as if from addr (through a proxy on loopback
// that the test servers trust); "" = from loopback itself.
func postFrom(t *testing.T, url, addr, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/reports", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func status(t *testing.T, url string) outage.Status {
	t.Helper()
	resp, err := http.Get(url + "/v1/status?service=netflix")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status: HTTP %d", resp.StatusCode)
	}
	var st outage.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReportsValidatedWithOneLineReasons(t *testing.T) {
	_, hs, _ := newTestServer(t, 1000)
	for _, c := range []struct {
		body string
		code int
		says string
	}{
		{`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"install-0001"}`, 202, "accepted"},
		{`{"service":"netflix","code":"","region":"","client":"install-0002"}`, 202, "accepted"},
		{`{"service":"hulu","code":"NSEZ-503","region":"DE","client":"install-0001"}`, 400, "unknown service"},
		{`{"service":"netflix","code":"NSEZ 503; drop","region":"DE","client":"install-0001"}`, 400, "not an error code"},
		{`{"service":"netflix","code":"NSEZ-503","region":"XX","client":"install-0001"}`, 400, "ISO 3166"},
		{`{"service":"netflix","code":"NSEZ-503","region":"de","client":"install-0001"}`, 400, "ISO 3166"},
		{`{"service":"netflix","code":"NSEZ-503","region":"DE"}`, 400, "client is missing"},
		{`{"service":"netflix","client":"install-0001","ip":"1.2.3.4"}`, 400, "unknown field"},
		{`{"service":"netflix","client":"install-0001"}{"service":"netflix"}`, 400, "more than one"},
		{`not json`, 400, "not a report"},
		{`{"service":"netflix","client":"` + strings.Repeat("a", 5000) + `"}`, 413, "at most"},
	} {
		code, body := post(t, hs.URL, c.body)
		if code != c.code || !strings.Contains(body, c.says) || strings.Count(strings.TrimSpace(body), "\n") > 0 {
			t.Errorf("%.60s: HTTP %d %q, want %d with %q on one line", c.body, code, body, c.code, c.says)
		}
	}
}

func TestAThousandReportsFromOneClientCountOnce(t *testing.T) {
	_, hs, _ := newTestServer(t, 100000)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				resp, err := http.Post(hs.URL+"/v1/reports", "application/json",
					strings.NewReader(`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"same-install-1"}`))
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if st := status(t, hs.URL); st.Reports15m != 1 {
		t.Errorf("1000 reports from one client counted %d times, want 1", st.Reports15m)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	_, hs, _ := newTestServer(t, 1) // bursts of 5
	limited := 0
	for i := range 20 {
		code, _ := post(t, hs.URL, fmt.Sprintf(`{"service":"netflix","client":"install-%04d"}`, i))
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 10 {
		t.Errorf("20 quick reports from one address: %d limited, want most", limited)
	}
}

func TestManyViewersMakeAnOutage(t *testing.T) {
	_, hs, _ := newTestServer(t, 100000)
	if st := status(t, hs.URL); st.Status != outage.Normal || st.Schema != outage.Schema || st.Service != "netflix" {
		t.Fatalf("empty store: %+v", st)
	}
	for i := range 40 {
		if code, body := postFrom(t, hs.URL, fmt.Sprintf("198.51.%d.7", i), fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":"FR","client":"viewer-%04d"}`, i)); code != 202 {
			t.Fatalf("HTTP %d %s", code, body)
		}
	}
	st := status(t, hs.URL)
	if st.Status != outage.Outage || st.Reports15m != 40 || st.Networks15m != 40 || st.WorstRegion != "FR" {
		t.Errorf("40 viewers on 40 networks at once: %+v, want outage with 40 reports from 40 networks in FR", st)
	}
	// The page shows it without any script, and metrics count it.
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("<svg")) || bytes.Contains(page, []byte("<script")) || !bytes.Contains(page, []byte("likely down")) {
		t.Errorf("status page lacks the chart or the status, or has a script")
	}
	resp, err = http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`streamdoctor_outage_reports_accepted_total{service="netflix"} 40`, `streamdoctor_outage_status{service="netflix"} 2`, "streamdoctor_outage_request_seconds_bucket"} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Nothing that could name a person or a machine is in the database files:
// not the client ids, not the address the reports came from.
func TestNoAddressOrClientIDStored(t *testing.T) {
	srv, hs, dir := newTestServer(t, 100000)
	var ids []string
	var nets []string
	for i := range 30 {
		id := fmt.Sprintf("secret-install-id-%04d", i)
		ids = append(ids, id)
		addr := fmt.Sprintf("203.0.%d.77", 100+i)
		nets = append(nets, addr, fmt.Sprintf("203.0.%d.0", 100+i))
		if code, _ := postFrom(t, hs.URL, addr, `{"service":"netflix","code":"NSEZ-503","region":"DE","client":"`+id+`"}`); code != 202 {
			t.Fatal(code)
		}
	}
	if code, _ := postFrom(t, hs.URL, "2001:db8:4242:17::99", `{"service":"netflix","client":"secret-install-v6"}`); code != 202 {
		t.Fatal(code)
	}
	nets = append(nets, "2001:db8:4242", "2001:0db8:4242")
	srv.Close()
	srv.cfg.Store.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "outage.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range append(append(ids, nets...), "127.0.0.1", "secret-install", "Go-http-client") {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s holds %q", filepath.Base(f), needle)
			}
		}
		// Windows has no mode bits; files_test.go checks them on Unix.
		if fi, _ := os.Stat(f); runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 && filepath.Base(f) == "outage.db" {
			t.Errorf("%s is mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestDatabaseUnavailableIs503AndTheServerLives(t *testing.T) {
	srv, hs, _ := newTestServer(t, 100000)
	srv.cfg.Store.Close()
	for range 3 {
		code, body := post(t, hs.URL, `{"service":"netflix","client":"install-0001"}`)
		if code != 503 || !strings.Contains(body, "unavailable") {
			t.Fatalf("HTTP %d %s, want 503 unavailable", code, body)
		}
	}
	resp, err := http.Get(hs.URL + "/v1/status?service=netflix")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("status with the database gone: HTTP %d, want 503", resp.StatusCode)
	}
}

func TestPruneForgetsKeysAndOldReports(t *testing.T) {
	st, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	old := now.Add(-(RawDays + 1) * 24 * time.Hour)
	k1, _ := st.DayKey(ctx, old.Unix()/86400)
	if _, err := st.Add(ctx, []Entry{{Service: "netflix", ClientHash: HashClient(k1, "netflix", "a"), Bucket: old.Unix() / BucketSeconds},
		{Service: "netflix", ClientHash: "b", Bucket: now.Unix() / BucketSeconds}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Prune(ctx, now); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.reports(ctx); n != 1 {
		t.Errorf("%d raw reports after pruning, want 1 (the one under 14 days old)", n)
	}
	k2, _ := st.DayKey(ctx, old.Unix()/86400)
	if bytes.Equal(k1, k2) {
		t.Error("an old day's key survived pruning: its hashes could still be tied to ids")
	}
}
