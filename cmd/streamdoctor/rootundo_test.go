//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
	"github.com/streamdoctor/streamdoctor/internal/fix"
)

// The user whose home root runs StreamDoctor on in these tests.
const homeUID, homeGID = 4242, 4242

// userWorld is a home that belongs to homeUID with Chrome and Firefox
// profiles, a folder only root can enter (with a file in it), and the
// binary where both can run it. run runs it as root on that home (sudo -E);
// asUser runs it as the home's owner.
type userWorld struct {
	home, rootOnly, secret string
	run, asUser            func(args ...string) (string, error)
}

func newUserWorld(t *testing.T) userWorld {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("plays root running StreamDoctor on another user's home: needs root")
	}
	built := buildBinary(t)
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // the test's temp folders are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := userWorld{home: filepath.Join(base, "home"), rootOnly: filepath.Join(base, "root-only")}
	bin := filepath.Join(base, "streamdoctor")
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, br := range []string{"chrome", "firefox"} {
		if _, err := fixture.Write(w.home, "linux", fixture.Profile{Browser: br, Version: "150", Domain: "netflix.com", SiteCookies: 20, OtherCookies: 50}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.WalkDir(w.home, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, homeUID, homeGID)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(w.rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	w.secret = filepath.Join(w.rootOnly, "secret")
	if err := os.WriteFile(w.secret, []byte("root's own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + w.home, "PATH=/usr/bin:/bin"}
	w.run = binRun(bin, env)
	w.asUser = func(args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Env = env
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: homeUID, Gid: homeGID}}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	return w
}

func (w userWorld) journal() string {
	return filepath.Join(w.home, ".local", "state", "streamdoctor", "journal")
}

// forge rewrites entry id as the home's owner could (the files are theirs)
// and marks it applied again.
func (w userWorld) forge(t *testing.T, id string, edit func(*fix.Entry)) {
	t.Helper()
	p := filepath.Join(w.journal(), id, "entry.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var en fix.Entry
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	en.State, en.UndoneAt = fix.Applied, nil
	edit(&en)
	b, _ = json.Marshal(en)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, homeUID, homeGID)
}

// rootFileIntact fails unless p still holds want, owned by root, mode 0600.
func rootFileIntact(t *testing.T, p, want, what string) {
	t.Helper()
	b, err := os.ReadFile(p)
	fi, serr := os.Stat(p)
	if err != nil || serr != nil {
		t.Errorf("%s: the root-only file is gone: %v", what, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if string(b) != want || st.Uid != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: the root-only file was changed: %d bytes (want %d), owner %d, mode %v", what, len(b), len(want), st.Uid, fi.Mode().Perm())
	}
}

// Root's fix on a user's home leaves nothing of root's there: the state
// folder, the journal and the backups belong to the user, whose own undo
// then works.
func TestRootFixLeavesTheUsersOwnUndoWorking(t *testing.T) {
	w := newUserWorld(t)
	before := snapshot(t, w.home)
	if out, err := w.run("fix", "--only", "clear_site_data", "--yes"); err != nil {
		t.Fatalf("root's fix: %v\n%s", err, out)
	}
	state := filepath.Join(w.home, ".local", "state")
	filepath.WalkDir(state, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, err := os.Lstat(p); err == nil && fi.Sys().(*syscall.Stat_t).Uid != homeUID {
			t.Errorf("%s belongs to uid %d, not the home's owner", p, fi.Sys().(*syscall.Stat_t).Uid)
		}
		return nil
	})
	if out, err := w.asUser("undo", "--all"); err != nil {
		t.Fatalf("the user's own undo after root's fix: %v\n%s", err, out)
	}
	after := snapshot(t, w.home)
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s not restored", p)
		}
	}
}

// A journal is the user's to write: root's undo must not be steered by it
// into a place only root may change.
func TestRootUndoCannotBeSteeredByAForgedJournal(t *testing.T) {
	w := newUserWorld(t)
	if out, err := w.run("fix", "--only", "clear_site_data", "--yes"); err != nil {
		t.Fatalf("root's fix: %v\n%s", err, out)
	}
	sum := sha256.Sum256([]byte("root's own\n"))
	// 1. A backup restored over a root-only file.
	w.forge(t, "0001", func(en *fix.Entry) {
		en.Files[0].Target = w.secret
		en.Files[0].After = hex.EncodeToString(sum[:])
		en.Files[0].Mode, en.Files[0].UID, en.Files[0].GID, en.Files[0].HasOwner = 0o777, homeUID, homeGID, true
	})
	out, err := w.run("undo", "0001")
	if err == nil {
		t.Errorf("root's undo of an entry naming a root-only file succeeded:\n%s", out)
	}
	rootFileIntact(t, w.secret, "root's own\n", "a forged target")

	// 2. A file "created by the fix" that undo removes.
	w.forge(t, "0001", func(en *fix.Entry) { en.Files, en.Rows, en.Absent = nil, nil, []string{w.secret} })
	if out, err := w.run("undo", "0001"); err == nil {
		t.Errorf("root's undo of an entry that removes a root-only file succeeded:\n%s", out)
	}
	rootFileIntact(t, w.secret, "root's own\n", "a forged absent file")

	// 3. The journal's lock linked to a file root would create.
	lock := filepath.Join(w.journal(), ".lock")
	planted := filepath.Join(w.rootOnly, "planted")
	os.Remove(lock)
	if err := os.Symlink(planted, lock); err != nil {
		t.Fatal(err)
	}
	os.Lchown(lock, homeUID, homeGID)
	w.run("undo", "--all")
	w.run("history")
	if _, err := os.Lstat(planted); err == nil {
		t.Error("root created the file the journal's lock links to")
	}
}

// A profile folder swapped for a link to a root-only folder after the fix:
// root's undo must not write through it.
func TestRootUndoDoesNotFollowASwappedProfile(t *testing.T) {
	w := newUserWorld(t)
	if out, err := w.run("fix", "--only", "clear_site_data", "--yes"); err != nil {
		t.Fatalf("root's fix: %v\n%s", err, out)
	}
	var profile string
	filepath.WalkDir(w.home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "Cookies" && strings.Contains(p, "chrome") {
			profile = filepath.Dir(p)
		}
		return err
	})
	if profile == "" {
		t.Fatal("no Chrome profile in the home")
	}
	target := filepath.Join(w.rootOnly, "profile")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(profile, profile+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, profile); err != nil {
		t.Fatal(err)
	}
	os.Lchown(profile, homeUID, homeGID)
	w.run("undo", "--all")
	entries, _ := os.ReadDir(target)
	for _, e := range entries {
		t.Errorf("root wrote %s through the swapped profile folder", filepath.Join(target, e.Name()))
	}
}
