// Package fix applies the plan's fixes: only with consent, after showing the
// exact change (Plan), with a backup and a journal entry written first, and
// with an Undo that restores what was there. Files are restored byte for
// byte; settings are restored by the commands recorded with their previous
// values. Every write of state is atomic (temporary file, fsync, rename,
// fsync of the directory), so a crash at any moment leaves either the old
// or the new state, never a half-written one.
package fix

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Entry states.
const (
	Prepared = "prepared" // backups taken; the change may have started
	Applied  = "applied"
	Undone   = "undone"
)

// Backup is one file saved before a change.
type Backup struct {
	Original string `json:"original"`
	Copy     string `json:"copy"` // inside the entry's directory
	SHA256   string `json:"sha256"`
}

// Entry is one applied change and how to take it back.
type Entry struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Fix     string    `json:"fix"`
	State   string    `json:"state"`
	Changes []string  `json:"changes"`
	Backups []Backup  `json:"backups,omitempty"`
	// Absent lists files that did not exist before the change (a database's
	// -journal or -wal); undo removes them.
	Absent []string `json:"absent,omitempty"`
	// UndoCommands restore settings to their recorded previous values.
	UndoCommands [][]string `json:"undo_commands,omitempty"`
	dir          string
}

// Journal is the directory of entries.
type Journal struct{ Dir string }

// WriteFileAtomic writes data so that path holds either its old content or
// all of data, whatever happens.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
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

// copyAtomic copies src to dst atomically and returns the SHA-256 of the bytes.
func copyAtomic(src, dst string, perm os.FileMode) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), syncDir(filepath.Dir(dst))
}

// New starts an entry: its directory exists, nothing is recorded yet.
func (j *Journal) New(fix string, now time.Time) (*Entry, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
	dir := filepath.Join(j.Dir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the journal: %w", err)
	}
	return &Entry{ID: id, Time: now.UTC(), Fix: fix, dir: dir}, nil
}

// Backup saves a file into the entry before it is changed.
func (e *Entry) Backup(original string) error {
	st, err := os.Stat(original)
	if err != nil {
		return err
	}
	cp := filepath.Join(e.dir, fmt.Sprintf("backup-%d-%s", len(e.Backups), filepath.Base(original)))
	sum, err := copyAtomic(original, cp, st.Mode().Perm())
	if err != nil {
		return fmt.Errorf("cannot back up %s: %w", original, err)
	}
	e.Backups = append(e.Backups, Backup{Original: original, Copy: cp, SHA256: sum})
	return nil
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

// List returns the recorded entries, oldest first. Directories without a
// readable entry (a run stopped before its first save) hold no change.
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
		b, err := os.ReadFile(filepath.Join(j.Dir, d.Name(), "entry.json"))
		if err != nil {
			continue
		}
		var e Entry
		if json.Unmarshal(b, &e) != nil {
			continue
		}
		e.dir = filepath.Join(j.Dir, d.Name())
		out = append(out, &e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// Runner runs OS commands.
type Runner interface {
	Run(name string, args ...string) (string, error)
}

// Undo takes an entry back: files restored byte for byte (and checked),
// files that appeared removed, settings restored by their commands.
func (e *Entry) Undo(r Runner) error {
	if e.State == Undone {
		return nil
	}
	var errs []error
	for _, b := range e.Backups {
		st, err := os.Stat(b.Copy)
		if err != nil {
			errs = append(errs, fmt.Errorf("backup of %s is missing: %w", b.Original, err))
			continue
		}
		sum, err := copyAtomic(b.Copy, b.Original, st.Mode().Perm())
		if err == nil && sum != b.SHA256 {
			err = fmt.Errorf("backup of %s does not match its checksum", b.Original)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range e.Absent {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for i := len(e.UndoCommands) - 1; i >= 0; i-- {
		c := e.UndoCommands[i]
		if r == nil {
			errs = append(errs, fmt.Errorf("cannot run %s here", strings.Join(c, " ")))
			continue
		}
		if _, err := r.Run(c[0], c[1:]...); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", strings.Join(c, " "), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return e.Save(Undone)
}
