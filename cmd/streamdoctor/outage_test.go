//go:build linux

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"

	_ "modernc.org/sqlite"
)

// startOutageServer runs `streamdoctor outage serve` on a free port and
// returns its base URL (from its first line). It trusts X-Forwarded-For
// from loopback, so that a test can report from many networks.
func startOutageServer(t *testing.T, bin, db string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	args := append([]string{"outage", "serve", "--db", "sqlite:" + db, "--listen", "127.0.0.1:0", "--per-network-rate", "100000",
		"--trust-proxy", "127.0.0.0/8"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("no first line: %v", err)
	}
	_, after, ok := strings.Cut(line, "http://")
	if !ok {
		t.Fatalf("first line %q has no URL", line)
	}
	return cmd, "http://" + strings.Fields(after)[0]
}

// kill -9 in the middle of a burst of reports loses none that were
// answered 202: each is committed before it is acknowledged.
func TestOutageServerKilledLosesNoAcceptedReport(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "outage.db")
	cmd, base := startOutageServer(t, bin, db)
	var accepted, sent atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 2 * time.Second}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				// Every report from its own network (a /24 per worker and
				// report), so that every one is counted.
				body := fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"burst-%02d-%06d"}`, w, i)
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/reports", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("%d.%d.%d.1", 20+w, i/256%256, i%256))
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				if resp.StatusCode == 202 {
					accepted.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	close(stop)
	wg.Wait()
	if accepted.Load() < 50 {
		t.Fatalf("only %d reports accepted before the kill; the burst did not run", accepted.Load())
	}

	// Restarted on the same file, the server counts every accepted report.
	cmd2, base2 := startOutageServer(t, bin, db)
	defer func() { cmd2.Process.Kill(); cmd2.Wait() }()
	resp, err := http.Get(base2 + "/v1/status?service=netflix")
	if err != nil {
		t.Fatal(err)
	}
	var st outage.Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	// The reports kept, read from the database file itself.
	sdb, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var raw int
	if err := sdb.QueryRow(`SELECT COUNT(*) FROM report`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, accepted %d, stored %d, counted %d in 15 min", sent.Load(), accepted.Load(), raw, st.Reports15m)
	if int64(raw) < accepted.Load() || int64(st.Reports15m) < accepted.Load() {
		t.Errorf("accepted %d reports, but after the kill %d are stored and %d counted", accepted.Load(), raw, st.Reports15m)
	}
	if int64(raw) > sent.Load() {
		t.Errorf("stored %d reports, more than the %d sent", raw, sent.Load())
	}
}

func TestOutageServeBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"outage", "serve", "--trust-proxy", "proxy.internal"}, "--trust-proxy \"proxy.internal\""},
		{[]string{"outage", "serve", "--min-networks", "-1"}, "--min-networks -1"},
		{[]string{"outage", "serve", "--require-pow", "--pow-bits", "40"}, "--pow-bits 40"},
		{[]string{"outage", "serve", "--per-network-rate", "0"}, "--per-network-rate 0"},
		{[]string{"outage", "serve", "--status-cache", "-1s"}, "--status-cache"},
	} {
		r := cli(t, nil, c.args...)
		if r.code != ExitUsage || strings.Count(strings.TrimSpace(r.errOut), "\n") != 0 || !strings.Contains(r.errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, r.code, r.errOut, c.want)
		}
	}
}

// xffTransport says each request comes from the next network, as a
// trusted proxy would.
type xffTransport struct{ n atomic.Int64 }

func (x *xffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.9", x.n.Add(1)))
	return http.DefaultTransport.RoundTrip(r)
}

// The serve flags reach the server: behind a trusted proxy, with stamps
// required and a floor of 3 networks, eight viewers on eight networks
// (each client stamping its report when asked) make an outage, and the
// status says how many networks report.
func TestOutageServeFlags(t *testing.T) {
	bin := buildBinary(t)
	cmd, base := startOutageServer(t, bin, filepath.Join(t.TempDir(), "outage.db"),
		"--require-pow", "--pow-bits", "10", "--min-networks", "3", "--status-cache", "0")
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	resp, err := http.Post(base+"/v1/reports", "application/json", strings.NewReader(`{"service":"netflix","client":"install-0001"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPreconditionRequired {
		t.Fatalf("a report without a stamp: HTTP %d, want 428", resp.StatusCode)
	}
	u, _ := outage.ParseServer(base)
	cl := &outage.Client{Base: u, HTTP: &http.Client{Transport: &xffTransport{}, Timeout: 10 * time.Second}}
	for i := range 8 {
		if err := cl.Send(context.Background(), outage.Report{Service: "netflix", Code: "NSEZ-503", Client: fmt.Sprintf("install-%04d", i)}); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	st, err := (&outage.Client{Base: u, HTTP: http.DefaultClient}).Status(context.Background(), "netflix", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != outage.Outage || st.Networks15m != 8 {
		t.Errorf("eight stamped reports from eight networks, floor 3: %+v, want outage from 8 networks", st)
	}
}
