//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
)

// snapshot maps every file under dir to its SHA-256.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrashSafety starts `fix --only clear_site_data --yes` on fixture
// browser profiles and SIGKILLs it at random moments, 100 times. After each,
// `undo --all` must leave every file byte-identical to the original, and the
// state left behind must not break the next run.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	bin := buildBinary(t)
	home, state := t.TempDir(), t.TempDir()
	for _, b := range []string{"chrome", "firefox"} {
		if _, err := fixture.Write(home, "linux", fixture.Profile{Browser: b, Version: "150", Domain: "netflix.com", SiteCookies: 40, Expired: 5, OtherCookies: 200}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	orig := snapshot(t, home)
	env := append(os.Environ(), "HOME="+home, "STREAMDOCTOR_STATE_DIR="+state)
	run := func(args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Env = env
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
	// How long one uninterrupted run takes sets the window for the kills.
	start := time.Now()
	if out, err := run("fix", "--only", "clear_site_data", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	full := time.Since(start)
	if out, err := run("undo", "--all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(42, 7))
	restored, killedMidway := 0, 0
	for i := 0; i < 100; i++ {
		c := exec.Command(bin, "fix", "--only", "clear_site_data", "--yes")
		c.Env = env
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Float64() * float64(full)))
		_ = c.Process.Signal(syscall.SIGKILL)
		if err := c.Wait(); err != nil {
			killedMidway++
		}
		if out, err := run("undo", "--all"); err != nil {
			t.Fatalf("run %d: undo --all failed: %v\n%s", i, err, out)
		}
		now := snapshot(t, home)
		same := len(now) == len(orig)
		for p, h := range orig {
			same = same && now[p] == h
		}
		if !same {
			var diff []string
			for p := range now {
				if orig[p] != now[p] {
					diff = append(diff, p)
				}
			}
			t.Fatalf("run %d: not byte-identical after undo: %v", i, diff)
		}
		if out, err := run("history"); err != nil || strings.Contains(out, "panic") {
			t.Fatalf("run %d: history after a crash: %v\n%s", i, err, out)
		}
		restored++
	}
	t.Logf("%d/100 restored byte-identical (%d runs killed before finishing; one run takes %s)", restored, killedMidway, full.Round(time.Millisecond))
	if restored != 100 {
		t.Errorf("%d/100 restored", restored)
	}
}
