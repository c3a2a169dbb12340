//go:build linux

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

// pgCluster is a throw-away PostgreSQL cluster on a temp dir, reached by a
// unix socket only (no TCP port, no download).
type pgCluster struct {
	bin, dir string
	cred     *syscall.Credential
	t        *testing.T
}

func pgBin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) > 0 {
		return filepath.Dir(m[len(m)-1])
	}
	return ""
}

func startPG(t *testing.T) *pgCluster {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		t.Skip("no PostgreSQL binaries (initdb, pg_ctl; Debian package postgresql); skipped")
	}
	dir, err := os.MkdirTemp("", "sd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{bin: bin, dir: dir, t: t}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run PostgreSQL as; skipped")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start()
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *pgCluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories=%s -c fsync=on", c.dir)
	if out, err := c.run("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (c *pgCluster) stop() {
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *pgCluster) url() string {
	return "postgres://postgres@/postgres?host=" + c.dir + "&sslmode=disable&connect_timeout=5"
}

// Two instances on one database give the same status, wherever the reports
// arrived; with the database gone both answer 503 and keep running.
func TestPostgresTwoInstancesAgree(t *testing.T) {
	pg := startPG(t)
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	var urls []string
	for range 2 {
		st, err := Open(ctx, pg.url())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv := NewServer(Config{Store: st, Services: []string{"netflix"}, PerAddress: 100000, Now: clock, TrustProxy: loopback})
		srv.Start()
		t.Cleanup(srv.Close)
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		urls = append(urls, hs.URL)
	}
	// The same viewers (on 30 networks) report to both instances: counted
	// once each.
	for i := range 30 {
		for _, u := range urls {
			if code, body := postFrom(t, u, fmt.Sprintf("198.51.%d.20", i), fmt.Sprintf(`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"viewer-%04d"}`, i)); code != 202 {
				t.Fatalf("HTTP %d %s", code, body)
			}
		}
	}
	a, b := status(t, urls[0]), status(t, urls[1])
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("instances disagree:\n%s\n%s", ja, jb)
	}
	if a.Status != outage.Outage || a.Reports15m != 30 || a.Networks15m != 30 {
		t.Errorf("30 viewers through two instances: %s with %d reports, want outage with 30", a.Status, a.Reports15m)
	}
	// Reports taken by one instance only: the other, which answered from
	// its cache a moment ago, agrees again within the cache's life.
	for i := range 25 {
		if code, body := postFrom(t, urls[1], fmt.Sprintf("203.0.%d.20", i), fmt.Sprintf(`{"service":"netflix","region":"FR","client":"fr-viewer-%04d"}`, i)); code != 202 {
			t.Fatalf("HTTP %d %s", code, body)
		}
	}
	deadline := time.Now().Add(DefaultStatusCache + 2*time.Second)
	for {
		var docs []string
		for _, u := range urls {
			for _, q := range []string{"", "&region=FR", "&region=DE"} {
				resp, err := http.Get(u + "/v1/status?service=netflix" + q)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				docs = append(docs, string(b))
			}
		}
		if docs[0] == docs[3] && docs[1] == docs[4] && docs[2] == docs[5] && strings.Contains(docs[1], `"reports_15m":25`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances still disagree after the cache's life:\n%s", strings.Join(docs, ""))
		}
		time.Sleep(100 * time.Millisecond)
	}

	pg.stop()
	for _, u := range urls {
		code, body := post(t, u, `{"service":"netflix","client":"viewer-9999"}`)
		if code != 503 {
			t.Errorf("database stopped: HTTP %d %s, want 503", code, body)
		}
	}
	pg.start()
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body := post(t, urls[0], `{"service":"netflix","client":"viewer-9999"}`)
		if code == 202 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database came back: HTTP %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A PostgreSQL database of the previous version's schema is brought up to
// this one.
func TestPostgresOpensTheOldSchema(t *testing.T) {
	pg := startPG(t)
	testOldSchema(t, pg.url())
}
