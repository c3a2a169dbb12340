//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

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

// binRun runs the binary to completion with env, returning its output.
func binRun(bin string, env []string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Env = env
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
}

// timeOneFix runs one fix and its undo uninterrupted: how long the fix
// takes sets the window for the kills.
func timeOneFix(t *testing.T, run func(args ...string) (string, error)) time.Duration {
	t.Helper()
	start := time.Now()
	if out, err := run("fix", "--only", "clear_site_data", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	full := time.Since(start)
	if out, err := run("undo", "--all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return full
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
	run := binRun(bin, env)
	full := timeOneFix(t, run)
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

// TestCrashSafetyUndoAndConcurrentFixes kills undo as it restores and one
// of two fixes started together, on a WAL-mode Firefox store and a Chrome
// store reached through a symbolic link, owned (when run as root) by
// another user with mode 0640. After a full undo every file is
// byte-identical, still owned and moded as before, and the link a link.
func TestCrashSafetyUndoAndConcurrentFixes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	bin := buildBinary(t)
	home, state, elsewhere := t.TempDir(), t.TempDir(), t.TempDir()
	for _, b := range []string{"chrome", "firefox"} {
		if _, err := fixture.Write(home, "linux", fixture.Profile{Browser: b, Version: "150", Domain: "netflix.com", SiteCookies: 40, Expired: 5, OtherCookies: 200}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var chromeStore, firefoxStore string
	filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.Name() == "Cookies":
			chromeStore = p
		case d.Name() == "cookies.sqlite":
			firefoxStore = p
		}
		return nil
	})
	db, err := sql.Open("sqlite", firefoxStore)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	real := filepath.Join(elsewhere, "Cookies")
	if err := os.Rename(chromeStore, real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, chromeStore); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	for _, p := range []string{real, firefoxStore} {
		os.Chmod(p, 0o640)
		if os.Geteuid() == 0 {
			uid, gid = 65534, 65534
			os.Chown(p, uid, gid)
		}
	}
	orig := snapshot(t, home)
	origReal := snapshot(t, elsewhere)
	env := append(os.Environ(), "HOME="+home, "STREAMDOCTOR_STATE_DIR="+state)
	run := binRun(bin, env)
	full := timeOneFix(t, run)
	rng := rand.New(rand.NewPCG(7, 42))
	kill := func(args ...string) {
		c := exec.Command(bin, args...)
		c.Env = env
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Float64() * float64(full)))
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	}
	for i := range 30 {
		// Two fixes at once, one killed at a random moment.
		other := exec.Command(bin, "fix", "--only", "clear_site_data", "--yes")
		other.Env = env
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		kill("fix", "--only", "clear_site_data", "--yes")
		_ = other.Wait()
		// An undo killed as it restores, then one that finishes.
		kill("undo", "--all")
		if out, err := run("undo", "--all"); err != nil {
			t.Fatalf("run %d: undo --all failed: %v\n%s", i, err, out)
		}
		for dir, want := range map[string]map[string][32]byte{home: orig, elsewhere: origReal} {
			now := snapshot(t, dir)
			for p, h := range want {
				if now[p] != h {
					t.Fatalf("run %d: %s not byte-identical after undo", i, p)
				}
			}
			if len(now) != len(want) {
				var extra []string
				for p := range now {
					if _, ok := want[p]; !ok {
						extra = append(extra, p)
					}
				}
				t.Fatalf("run %d: files left behind: %v", i, extra)
			}
		}
		if fi, err := os.Lstat(chromeStore); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("run %d: the symbolic link was replaced", i)
		}
		for _, p := range []string{real, firefoxStore} {
			fi, _ := os.Stat(p)
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o640 || int(st.Uid) != uid || int(st.Gid) != gid {
				t.Fatalf("run %d: %s is %v %d:%d, want 0640 %d:%d", i, p, fi.Mode().Perm(), st.Uid, st.Gid, uid, gid)
			}
		}
	}
	t.Logf("30/30 restored byte-identical, owner and mode kept, link kept (one fix takes %s)", full.Round(time.Millisecond))
}

// A fix helper that hangs with a child holding its output is cut off at
// its timeout, not when the child exits.
func TestFixHelperThatHangsIsCutOff(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "helper")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 60 &\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := execRunner{timeout: 500 * time.Millisecond}.Run(script)
	if took := time.Since(start); err == nil || took > 3*time.Second {
		t.Errorf("a hanging helper: %v after %v", err, took)
	}
}
