// Package fix applies the plan's fixes: only with consent, after showing the
// exact change (Plan), with a backup and a journal entry written first, and
// with an Undo that restores what was there.
//
// The journal: one directory per entry, numbered by a sequence under one
// lock (fix and undo of every face take it, so concurrent runs are
// serialised and the order of entries is the order of changes). An entry
// records the files it backed up (with their owner, mode and checksums
// before and after), the rows it deleted, and the previous values of the
// settings it changed — never a command line: undo rebuilds the commands
// from the recorded values through the same checked builders. Every write
// of state is atomic (temporary file, fsync, rename, fsync of the
// directory), so a crash at any moment leaves either the old or the new
// state. Backups are 0600 and are deleted BackupDays after a successful
// undo.
package fix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entry states.
const (
	Prepared = "prepared" // backups taken; the change may have started
	Applied  = "applied"
	Undoing  = "undoing" // a byte-for-byte restore started: a resumed undo finishes it the same way
	Undone   = "undone"
)

// EntrySchema marks the entries this version writes.
const EntrySchema = "streamdoctor.journal/v2"

// BackupDays: backups of an undone change are deleted this many days
// after the undo (the entry stays in the history).
const BackupDays = 7

// LockWait is how long a fix or undo waits for another to finish.
var LockWait = 10 * time.Second

// FileBackup is one file saved before a change.
type FileBackup struct {
	Original string `json:"original"` // the path as found (it may be a symbolic link)
	Target   string `json:"target"`   // the real file it names: restored here
	Copy     string `json:"copy"`     // base name inside the entry's directory
	SHA256   string `json:"sha256"`   // of the copy
	// After is the checksum just after the change ("" for a file the
	// change removed): undo restores the copy byte for byte only while the
	// file is still as the change left it.
	After    string `json:"after_sha256,omitempty"`
	Mode     uint32 `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	HasOwner bool   `json:"has_owner,omitempty"`
}

// DeletedRows are the rows a fix deleted from one store, kept so that undo
// can put them back into a store that has changed since.
type DeletedRows struct {
	Browser string `json:"browser"`
	Store   string `json:"store"` // the real path
	Table   string `json:"table"`
	File    string `json:"file"` // base name of the rows file in the entry's directory
}

// Entry is one change and how to take it back.
type Entry struct {
	Schema   string        `json:"schema"`
	Seq      int64         `json:"seq"`
	ID       string        `json:"id"`
	Time     time.Time     `json:"time"`
	Fix      string        `json:"fix"`
	State    string        `json:"state"`
	Changes  []string      `json:"changes"`
	Words    []Words       `json:"words,omitempty"` // the changes as messages (Plan.Words)
	Files    []FileBackup  `json:"files,omitempty"`
	Absent   []string      `json:"absent,omitempty"` // files that did not exist before (a database's -wal); undo removes them
	Rows     []DeletedRows `json:"rows,omitempty"`
	Settings []Setting     `json:"settings,omitempty"`
	UndoneAt *time.Time    `json:"undone_at,omitempty"`
	Pruned   bool          `json:"backups_deleted,omitempty"`
	// Legacy: an entry written by an older version that recorded command
	// lines; they are never run (see Undo).
	Legacy bool `json:"-"`
	// Corrupt says why an entry's record could not be read (List only).
	Corrupt string `json:"-"`
	dir     string
}

// Journal is the directory of entries.
type Journal struct{ Dir string }

// ErrBusy: another fix or undo holds the journal.
var ErrBusy = errors.New("another StreamDoctor fix or undo is running; try again when it has finished")

// Lock takes the journal's lock, waiting up to LockWait for another run to
// finish. Call the returned function to release it.
func (j *Journal) Lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(j.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(j.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the journal's lock: %w", err)
	}
	deadline := time.Now().Add(LockWait)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot lock the journal: %w", err)
		}
		if ok {
			return func() { unlock(f); f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WriteFileAtomic writes data so that path holds either its old content or
// all of data, whatever happens.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	_, err := writeAtomic(path, perm, -1, -1, func(w io.Writer) error { _, err := w.Write(data); return err })
	return err
}

// writeAtomic writes path through a temporary file in its directory (mode
// and owner set before the rename) and returns the SHA-256 of what it wrote.
func writeAtomic(path string, perm os.FileMode, uid, gid int, fill func(io.Writer) error) (string, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	err = fill(io.MultiWriter(tmp, h))
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil && uid >= 0 {
		err = setOwner(tmp.Name(), uid, gid)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // not supported on every OS (Windows); the rename is still atomic
	return nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var idRE = regexp.MustCompile(`^[0-9]{4,12}$`)

// newEntry starts an entry under the lock: the next sequence number, its
// directory, nothing recorded yet.
func (j *Journal) newEntry(fix string, now time.Time) (*Entry, error) {
	es, err := j.List()
	if err != nil {
		return nil, err
	}
	seq := int64(0)
	for _, e := range es {
		seq = max(seq, e.Seq)
		if n, err := strconv.ParseInt(e.ID, 10, 64); err == nil {
			seq = max(seq, n) // a corrupt entry keeps its number
		}
	}
	seq++
	id := fmt.Sprintf("%04d", seq)
	dir := filepath.Join(j.Dir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the journal entry: %w", err)
	}
	return &Entry{Schema: EntrySchema, Seq: seq, ID: id, Time: now.UTC(), Fix: fix, dir: dir}, nil
}

// backup saves a file into the entry before it is changed, following a
// symbolic link to the file it names.
func (e *Entry) backup(path string) (*FileBackup, error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	if target, err = filepath.Abs(target); err != nil {
		return nil, err
	}
	fi, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	b := FileBackup{Original: path, Target: target, Copy: fmt.Sprintf("backup-%d-%s", len(e.Files), filepath.Base(target)), Mode: uint32(fi.Mode().Perm())}
	b.UID, b.GID, b.HasOwner = ownerOf(fi)
	in, err := os.Open(target)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	// Backups hold other sites' cookies too: readable by this user alone.
	if b.SHA256, err = writeAtomic(filepath.Join(e.dir, b.Copy), 0o600, -1, -1, func(w io.Writer) error { _, err := io.Copy(w, in); return err }); err != nil {
		return nil, fmt.Errorf("cannot back up %s: %w", path, err)
	}
	e.Files = append(e.Files, b)
	return &e.Files[len(e.Files)-1], nil
}

// Save writes the entry atomically.
func (e *Entry) Save(state string) error {
	e.State = state
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(e.dir, "entry.json"), b, 0o600)
}

// automated are the fixes that write journal entries.
var automated = []string{"clear_site_data", "flush_dns", "disable_proxy", "change_dns"}

// legacyEntry is the first version's record, which listed command lines.
type legacyEntry struct {
	Backups []struct {
		Original string `json:"original"`
		Copy     string `json:"copy"`
		SHA256   string `json:"sha256"`
	} `json:"backups"`
	UndoCommands [][]string `json:"undo_commands"`
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseEntry reads and checks an entry record (outside input: a user may
// have edited it, a disk may have damaged it). name is its directory's name.
func ParseEntry(b []byte, name string) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("entry.json: %v", err)
	}
	if e.Schema == "" {
		// The first version: backups (same paths) and command lines.
		var l legacyEntry
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("entry.json: %v", err)
		}
		for _, lb := range l.Backups {
			e.Files = append(e.Files, FileBackup{Original: lb.Original, Target: lb.Original, Copy: filepath.Base(lb.Copy), SHA256: lb.SHA256, Mode: 0o600})
		}
		e.Legacy = len(l.UndoCommands) > 0
		e.Schema = "v1"
	} else if e.Schema != EntrySchema {
		return nil, fmt.Errorf("entry.json: schema %q is not %q", e.Schema, EntrySchema)
	}
	if e.ID != name {
		return nil, fmt.Errorf("entry.json: id %q does not match its folder %q", e.ID, name)
	}
	if !slices.Contains(automated, e.Fix) {
		return nil, fmt.Errorf("entry.json: unknown fix %q", e.Fix)
	}
	switch e.State {
	case Prepared, Applied, Undoing, Undone:
	default:
		return nil, fmt.Errorf("entry.json: unknown state %q", e.State)
	}
	abs := func(p string) bool { return filepath.IsAbs(p) && filepath.Clean(p) == p && !strings.ContainsRune(p, 0) }
	base := func(p string) bool {
		return p != "" && p == filepath.Base(p) && p != "." && p != ".." && p != "entry.json" && !strings.ContainsAny(p, `/\`+"\x00")
	}
	for _, f := range e.Files {
		if !abs(f.Original) || !abs(f.Target) || !base(f.Copy) || !hexRE.MatchString(f.SHA256) || (f.After != "" && !hexRE.MatchString(f.After)) || f.Mode > 0o777 {
			return nil, fmt.Errorf("entry.json: a backup record is damaged (%q)", f.Copy)
		}
	}
	for _, p := range e.Absent {
		if !abs(p) {
			return nil, fmt.Errorf("entry.json: %q is not an absolute path", p)
		}
	}
	for _, r := range e.Rows {
		if !abs(r.Store) || !base(r.File) || (r.Table != "cookies" && r.Table != "moz_cookies") {
			return nil, fmt.Errorf("entry.json: a rows record is damaged (%q)", r.File)
		}
	}
	for _, s := range e.Settings {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("entry.json: %v", err)
		}
	}
	return &e, nil
}

// List returns every entry in the order of the changes (sequence; entries
// of the first version, numbered by time, come first). An entry whose
// record cannot be read is listed with Corrupt saying why; a folder with no
// record at all (a run stopped before its first save) holds no change.
func (j *Journal) List() ([]*Entry, error) {
	ents, err := os.ReadDir(j.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, d := range ents {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(j.Dir, d.Name())
		b, err := os.ReadFile(filepath.Join(dir, "entry.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		var e *Entry
		if err == nil {
			e, err = ParseEntry(b, d.Name())
		}
		if err != nil {
			e = &Entry{ID: d.Name(), Corrupt: err.Error()}
			if n, perr := strconv.ParseInt(d.Name(), 10, 64); perr == nil && idRE.MatchString(d.Name()) {
				e.Seq = n
			}
		}
		e.dir = dir
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b *Entry) int {
		if c := cmpInt(a.Seq, b.Seq); c != 0 {
			return c
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prune deletes the backups of changes undone more than BackupDays ago.
func (j *Journal) prune(now time.Time) {
	es, err := j.List()
	if err != nil {
		return
	}
	for _, e := range es {
		if e.Corrupt != "" || e.State != Undone || e.Pruned || e.UndoneAt == nil || now.Sub(*e.UndoneAt) < BackupDays*24*time.Hour {
			continue
		}
		for _, f := range e.Files {
			_ = os.Remove(filepath.Join(e.dir, f.Copy))
		}
		for _, r := range e.Rows {
			_ = os.Remove(filepath.Join(e.dir, r.File))
		}
		e.Pruned = true
		_ = e.Save(e.State)
	}
}
