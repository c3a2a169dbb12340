//go:build linux

package main

import (
	"bufio"
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
// returns its base URL (from its first line).
func startOutageServer(t *testing.T, bin, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "outage", "serve", "--db", "sqlite:"+db, "--listen", "127.0.0.1:0", "--per-address-rate", "100000")
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
				body := fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"burst-%02d-%06d"}`, w, i)
				resp, err := client.Post(base+"/v1/reports", "application/json", strings.NewReader(body))
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
