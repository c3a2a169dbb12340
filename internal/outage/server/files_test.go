//go:build unix

package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The database, its -wal and its -shm hold the day's key and the network
// hashes: all three are the owner's alone (0600) from the moment SQLite
// creates them, whatever the umask.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "outage.db")
	// An earlier run's -wal left world-readable is made private too.
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	key, err := st.DayKey(ctx, time.Now().Unix()/86400)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add(ctx, []Entry{{Service: "netflix", Network: hex.EncodeToString(key[:4]), Bucket: time.Now().Unix() / BucketSeconds}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v (want it there, with the database open)", filepath.Base(f), err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// A day's key, once deleted, is in none of the database's files: not in a
// free page (secure_delete) nor in the WAL (truncated by a checkpoint).
func TestDeletedDayKeyIsWiped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "outage.db")
	st, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	yesterday := now.Add(-24*time.Hour).Unix() / 86400
	k1, err := st.DayKey(ctx, yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DayKey(ctx, now.Unix()/86400); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add(ctx, []Entry{{Service: "netflix", Network: HashNetwork(k1, "netflix", NetworkOf(mustAddr("198.51.100.1"))), Bucket: now.Unix() / BucketSeconds}}); err != nil {
		t.Fatal(err)
	}
	// Checkpointed into the database file, as it would be by now.
	if _, err := st.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	if err := st.Prune(ctx, now); err != nil {
		t.Fatal(err)
	}
	needle := []byte(hex.EncodeToString(k1))
	look := func(when string) {
		files, _ := filepath.Glob(path + "*")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, needle) {
				t.Errorf("%s: %s still holds yesterday's deleted key", when, filepath.Base(f))
			}
		}
	}
	look("after pruning, open")
	st.Close()
	look("after pruning, closed")
}
