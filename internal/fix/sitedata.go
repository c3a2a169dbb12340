package fix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite driver

	"github.com/streamdoctor/streamdoctor/internal/browsers"
)

// Env is what a fix needs to know about the machine.
type Env struct {
	OS      string // linux | windows | darwin
	Home    string
	Journal *Journal
	Runner  Runner
	// Running reports the browsers that run now (by name).
	Running func() map[string]bool
	// Processes reports the programs that run now (by process name).
	Processes func() map[string]bool
	// Domains are the service's registrable domains ("netflix.com").
	Domains []string
	// DNSServers are the servers change_dns switches to (opt-in).
	DNSServers []string
}

// ErrBrowserRunning means a browser must be closed first.
var ErrBrowserRunning = errors.New("browser is running")

// StorePlan is one cookie store a clear_site_data plan changes.
type StorePlan struct {
	Browser string `json:"browser"`
	Path    string `json:"path"`   // as found in the profile
	Target  string `json:"target"` // the real file (a symbolic link followed)
	Cookies int    `json:"cookies"`
}

var titles = map[string]string{"chrome": "Chrome", "chromium": "Chromium", "edge": "Edge", "brave": "Brave", "firefox": "Firefox"}

func (e *Env) cookieStores() []browsers.Profile {
	var out []browsers.Profile
	for _, p := range browsers.FindProfiles(e.Home, e.OS) {
		if p.Cookies != "" {
			out = append(out, p)
		}
	}
	return out
}

// TildePath shows a path under home as ~/…: what a report or a consent
// line needs, without the user's name.
func TildePath(home, p string) string {
	if home == "" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Join("~", rel)
	}
	return p
}

// planSiteData lists the stores and how many of the service's cookies
// would go from each.
func planSiteData(e *Env) (Plan, error) {
	p := Plan{Fix: "clear_site_data", Automated: true}
	for _, pr := range e.cookieStores() {
		target, err := filepath.EvalSymlinks(pr.Cookies)
		if err != nil {
			return p, fmt.Errorf("%s: %w", pr.Cookies, err)
		}
		if target, err = filepath.Abs(target); err != nil {
			return p, err
		}
		c, err := browsers.CountSiteCookies(target, pr.Engine, e.Domains, timeNow())
		if err != nil {
			return p, fmt.Errorf("%s: %w", pr.Cookies, err)
		}
		p.Stores = append(p.Stores, StorePlan{Browser: pr.Browser, Path: pr.Cookies, Target: target, Cookies: c.Total})
		p.add(say("delete_cookies", fmt.Sprintf("delete %d %s cookies from %s (%s); other sites' cookies stay",
			c.Total, strings.Join(e.Domains, ", "), titles[pr.Browser], TildePath(e.Home, pr.Cookies)),
			"Count", fmt.Sprint(c.Total), "Domains", strings.Join(e.Domains, ", "), "Browser", titles[pr.Browser], "Path", TildePath(e.Home, pr.Cookies)))
	}
	if len(p.Changes) == 0 {
		p.Automated = false
		p.Changes, p.Words = nil, nil
		p.add(say("no_cookie_store", "no Chrome, Edge, Brave, Chromium or Firefox cookie store found; follow the steps instead (Safari: Settings > Privacy > Manage Website Data)"))
	}
	return p, nil
}

func (e *Env) refuseRunning(browsersUsed []string) error {
	if e.Running == nil {
		return nil
	}
	run := e.Running()
	for _, b := range browsersUsed {
		if run[b] {
			return fmt.Errorf("%w: close %s first (it rewrites its cookies as it runs and on exit)", ErrBrowserRunning, titles[b])
		}
	}
	return nil
}

func engineOf(browser string) (table, col string) {
	if browser == "firefox" {
		return "moz_cookies", "host"
	}
	return "cookies", "host_key"
}

// applySiteData removes the service's cookies from the consented stores,
// after backing each store (and its side files) up and saving the rows.
func applySiteData(ctx context.Context, e *Env, p Plan) (*Entry, error) {
	var used []string
	for _, s := range p.Stores {
		used = append(used, s.Browser)
	}
	if err := e.refuseRunning(used); err != nil {
		return nil, err
	}
	en, err := e.Journal.newEntry("clear_site_data", timeNow())
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Entry, error) {
		os.RemoveAll(en.dir)
		return nil, fmt.Errorf("%w; nothing was changed", err)
	}
	for i, s := range p.Stores {
		sweepTemps(s.Target)
		if _, err := en.backup(s.Target); err != nil {
			return fail(err)
		}
		en.Files[len(en.Files)-1].Original = s.Path
		for _, ext := range []string{"-journal", "-wal", "-shm"} {
			side := s.Target + ext
			if _, err := os.Lstat(side); errors.Is(err, os.ErrNotExist) {
				en.Absent = append(en.Absent, side)
			} else if err == nil {
				if _, err := en.backup(side); err != nil {
					return fail(err)
				}
			}
		}
		table, _ := engineOf(s.Browser)
		en.Rows = append(en.Rows, DeletedRows{Browser: s.Browser, Store: s.Target, Table: table, File: fmt.Sprintf("rows-%d.json", i)})
		c := say("deleted_cookies", fmt.Sprintf("deleted %d %s cookies from %s", s.Cookies, strings.Join(e.Domains, ", "), TildePath(e.Home, s.Path)),
			"Count", fmt.Sprint(s.Cookies), "Domains", strings.Join(e.Domains, ", "), "Path", TildePath(e.Home, s.Path))
		en.Changes, en.Words = append(en.Changes, c.text), append(en.Words, c.words)
	}
	if err := en.Save(Prepared); err != nil {
		return fail(fmt.Errorf("cannot write the journal (%w)", err))
	}
	for i, s := range p.Stores {
		table, col := engineOf(s.Browser)
		if err := deleteRows(ctx, s.Target, table, col, e.Domains, filepath.Join(en.dir, en.Rows[i].File)); err != nil {
			if uerr := en.restoreFiles(); uerr != nil {
				return en, fmt.Errorf("%s: %v; restoring the backup also failed: %v (run 'streamdoctor undo %s')", TildePath(e.Home, s.Path), err, uerr, en.ID)
			}
			os.RemoveAll(en.dir)
			return nil, fmt.Errorf("%s: %v; the backup was restored, nothing changed", TildePath(e.Home, s.Path), err)
		}
	}
	// What the change left: undo restores byte for byte only while the
	// files are still so.
	for i := range en.Files {
		f := &en.Files[i]
		f.After, _ = fileSum(f.Target)
		if f.HasOwner {
			_ = setOwner(f.Target, f.UID, f.GID)
		}
	}
	return en, en.Save(Applied)
}

// onlyStores refuses an entry that names anything but this home's cookie
// stores (and their side files) as the fix finds them now: a record is
// outside input, and undo writes, deletes and inserts where it says.
func (en *Entry) onlyStores(e *Env) error {
	ok := map[string]bool{}
	for _, pr := range e.cookieStores() {
		target, err := filepath.EvalSymlinks(pr.Cookies)
		if err != nil {
			continue
		}
		if target, err = filepath.Abs(target); err != nil {
			continue
		}
		for _, ext := range []string{"", "-journal", "-wal", "-shm"} {
			ok[target+ext] = true
		}
	}
	var named []string
	for _, f := range en.Files {
		named = append(named, f.Target)
	}
	named = append(named, en.Absent...)
	for _, r := range en.Rows {
		named = append(named, r.Store)
	}
	for _, p := range named {
		if !ok[p] {
			return fmt.Errorf("it names %s, which is not one of this home's browser cookie stores as StreamDoctor finds them now; nothing was changed", TildePath(e.Home, p))
		}
	}
	return nil
}

// unchanged: every file is as the change left it (or, for a change that
// never finished, nobody but this program touched it since).
func (en *Entry) unchanged() bool {
	if en.State == Prepared || en.State == Undoing {
		return true
	}
	for _, f := range en.Files {
		now, _ := fileSum(f.Target)
		if now != f.After {
			return false
		}
	}
	for _, p := range en.Absent {
		if _, err := os.Lstat(p); err == nil {
			return false
		}
	}
	return true
}

// restoreFiles puts every backed-up file back byte for byte, all or
// nothing: each copy is checked against its checksum before anything is
// replaced, each file keeps its owner and mode, and if one cannot be
// replaced the ones already replaced are put back as they were.
func (en *Entry) restoreFiles() error {
	for _, f := range en.Files {
		sweepTemps(f.Target)
	}
	if err := en.verifyBackups(); err != nil {
		return err
	}
	type saved struct {
		f    FileBackup
		copy string // "" when the file did not exist
	}
	var done []saved
	rollback := func() {
		for i := len(done) - 1; i >= 0; i-- {
			d := done[i]
			if d.copy == "" {
				os.Remove(d.f.Target)
				continue
			}
			_ = copyInto(d.copy, d.f)
		}
	}
	for i, f := range en.Files {
		cur := filepath.Join(en.dir, fmt.Sprintf("preundo-%d", i))
		if err := copyFile(f.Target, cur); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				rollback()
				return fmt.Errorf("cannot keep a copy of %s before restoring it: %w", f.Target, err)
			}
			cur = ""
		}
		if err := copyInto(filepath.Join(en.dir, f.Copy), f); err != nil {
			rollback()
			return fmt.Errorf("cannot restore %s: %w; nothing was changed", f.Target, err)
		}
		done = append(done, saved{f, cur})
	}
	for _, p := range en.Absent {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			rollback()
			return fmt.Errorf("cannot remove %s: %w; nothing was changed", p, err)
		}
	}
	for i := range en.Files {
		os.Remove(filepath.Join(en.dir, fmt.Sprintf("preundo-%d", i)))
	}
	return nil
}

// verifyBackups checks every copy against its checksum.
func (en *Entry) verifyBackups() error {
	for _, f := range en.Files {
		sum, err := fileSum(filepath.Join(en.dir, f.Copy))
		if err != nil {
			return fmt.Errorf("the backup of %s is missing: %w", f.Target, err)
		}
		if sum != f.SHA256 {
			return fmt.Errorf("the backup of %s does not match its checksum; nothing was restored", f.Target)
		}
	}
	return nil
}

// sweepTemps removes what a run killed mid-write left next to path: its
// temporary files, which only this program names so (and, under the
// journal's lock, no other run of it is writing).
func sweepTemps(path string) {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, p := range m {
		os.Remove(p)
	}
}

// copyInto writes src over f.Target atomically with f's mode and owner.
func copyInto(src string, f FileBackup) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	uid, gid := -1, -1
	if f.HasOwner {
		uid, gid = f.UID, f.GID
	}
	mode := os.FileMode(f.Mode)
	if mode == 0 {
		mode = 0o600
	}
	_, err = writeAtomic(f.Target, mode, uid, gid, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = writeAtomic(dst, 0o600, -1, -1, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
	return err
}

// undoSiteData takes a clear_site_data change back: byte for byte while the
// stores are as the change left them, else by putting the deleted rows
// back (cookies written since are kept).
func (en *Entry) undoSiteData(ctx context.Context, e *Env) error {
	if err := en.onlyStores(e); err != nil {
		return err
	}
	var used []string
	for _, r := range en.Rows {
		used = append(used, r.Browser)
	}
	if err := e.refuseRunning(used); err != nil {
		return err
	}
	if en.State == Undoing || en.unchanged() || len(en.Rows) == 0 {
		if err := en.verifyBackups(); err != nil {
			return err
		}
		prev := en.State
		if prev != Undoing {
			if err := en.Save(Undoing); err != nil {
				return err
			}
		}
		if err := en.restoreFiles(); err != nil {
			// Nothing was changed (the restore rolls itself back).
			_ = en.Save(prev)
			return err
		}
		return nil
	}
	type added struct {
		r   DeletedRows
		ids []int64
	}
	var done []added
	for _, r := range en.Rows {
		ids, err := reinsert(ctx, r.Store, r.Table, filepath.Join(en.dir, r.File))
		if err != nil {
			for _, d := range done {
				_ = unInsert(ctx, d.r.Store, d.r.Table, d.ids)
			}
			return fmt.Errorf("cannot put the cookies back into %s: %w; nothing was changed", TildePath(e.Home, r.Store), err)
		}
		done = append(done, added{r, ids})
	}
	for _, f := range en.Files {
		if f.HasOwner {
			for _, p := range []string{f.Target, f.Target + "-journal", f.Target + "-wal", f.Target + "-shm"} {
				if _, err := os.Lstat(p); err == nil {
					_ = setOwner(p, f.UID, f.GID)
				}
			}
		}
	}
	return nil
}
