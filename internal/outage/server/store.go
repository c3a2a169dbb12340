package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for instances sharing a database
	_ "modernc.org/sqlite"             // SQLite (pure Go), the default
)

// Retention: raw reports (service, region, code, a keyed hash of the
// client and the bucket) are kept 14 days; the five-minute counts the
// baseline is built from, eight weeks; the hashing key, one day.
const (
	RawDays       = 14
	CountDays     = 56
	DedupBuckets  = 6 // one report per client and service per 30 minutes
	bucketsPerDay = 86400 / BucketSeconds
)

// Entry is one accepted report as stored: nothing that names a person or a
// machine, only a hash of the client id under the day's key.
type Entry struct {
	Service, Region, Code string
	ClientHash            string
	Bucket                int64
}

// Store keeps reports. Every instance of the server that shares a store
// gives the same answers, because all state lives in it.
type Store struct {
	db       *sql.DB
	postgres bool
	what     string // "sqlite:PATH" or "postgres" (no credentials)

	keyMu  sync.Mutex
	keyDay int64
	key    []byte // the day's key, once read (it never changes for its day)
}

// ErrUnavailable wraps every database failure the server reports as 503.
var ErrUnavailable = errors.New("the report database is unavailable")

// Open opens (and sets up) the store named by spec: "sqlite:PATH" or a
// postgres:// URL.
func Open(ctx context.Context, spec string) (*Store, error) {
	switch {
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("--db sqlite: needs a file path (e.g. sqlite:/var/lib/streamdoctor/outage.db)")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("cannot create the folder for %s: %v", path, err)
		}
		dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		// One writer at a time is SQLite's way; readers share WAL snapshots.
		db.SetMaxOpenConns(4)
		s := &Store{db: db, what: "sqlite:" + path}
		if err := s.setup(ctx); err != nil {
			db.Close()
			return nil, err
		}
		_ = os.Chmod(path, 0o600)
		return s, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		db, err := sql.Open("pgx", spec)
		if err != nil {
			return nil, fmt.Errorf("--db: %v", err)
		}
		db.SetMaxOpenConns(16)
		s := &Store{db: db, postgres: true, what: "postgres"}
		if err := s.setup(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("--db %q: give sqlite:PATH or a postgres:// URL", spec)
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// What names the store without credentials.
func (s *Store) What() string { return s.what }

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS report (service TEXT NOT NULL, region TEXT NOT NULL, code TEXT NOT NULL,
		client_hash TEXT NOT NULL, bucket BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS report_client ON report (service, client_hash, bucket)`,
	`CREATE INDEX IF NOT EXISTS report_bucket ON report (bucket)`,
	`CREATE TABLE IF NOT EXISTS bucket_count (service TEXT NOT NULL, region TEXT NOT NULL, bucket BIGINT NOT NULL,
		n INTEGER NOT NULL, PRIMARY KEY (service, region, bucket))`,
	`CREATE TABLE IF NOT EXISTS hash_key (day BIGINT PRIMARY KEY, k TEXT NOT NULL)`,
}

func (s *Store) setup(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer tx.Rollback()
	if s.postgres {
		// Instances starting together must not race on CREATE TABLE.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7135503)`); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// DayKey returns the key client ids are hashed with on day (days since the
// epoch), creating it on first use. It lives in the store so that every
// instance hashes alike, and is deleted when the day is over, after which
// no hash can be tied to an id again.
func (s *Store) DayKey(ctx context.Context, day int64) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil && s.keyDay == day {
		return s.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO hash_key (day, k) VALUES (?, ?) ON CONFLICT (day) DO NOTHING`), day, hex.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var k string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT k FROM hash_key WHERE day = ?`), day).Scan(&k); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	key, err := hex.DecodeString(k)
	if err != nil {
		return nil, fmt.Errorf("%w: a stored key is not hex", ErrUnavailable)
	}
	s.keyDay, s.key = day, key
	return key, nil
}

// HashClient is the stored form of a client id: HMAC-SHA256 under the
// day's key, of the service and the id, cut to 128 bits.
func HashClient(key []byte, service, client string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(service))
	m.Write([]byte{0})
	m.Write([]byte(client))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Add stores entries in one transaction and says which were accepted: an
// entry is a duplicate when the same client reported the same service in
// the last 30 minutes (in the store or earlier in entries).
func (s *Store) Add(ctx context.Context, entries []Entry) ([]bool, error) {
	ok := make([]bool, len(entries))
	if len(entries) == 0 {
		return ok, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer tx.Rollback()
	key := func(e Entry) string { return e.Service + "\x00" + e.ClientHash }
	minBucket := entries[0].Bucket
	for _, e := range entries {
		minBucket = min(minBucket, e.Bucket)
	}
	// last[key]: the newest stored report of that client and service that
	// could make an entry of this batch a repeat.
	last := map[string]int64{}
	if s.postgres {
		if last, err = s.recentPG(ctx, tx, entries, minBucket-DedupBuckets); err != nil {
			return nil, err
		}
	} else {
		for _, e := range entries {
			var b sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(bucket) FROM report WHERE service = ? AND client_hash = ? AND bucket > ?`,
				e.Service, e.ClientHash, minBucket-DedupBuckets).Scan(&b); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if b.Valid {
				last[key(e)] = b.Int64
			}
		}
	}
	type countKey struct {
		service, region string
		bucket          int64
	}
	counts := map[countKey]int{}
	var kept []Entry
	for i, e := range entries {
		if b, seen := last[key(e)]; seen && e.Bucket-b < DedupBuckets {
			continue
		}
		last[key(e)] = e.Bucket
		ok[i] = true
		kept = append(kept, e)
		counts[countKey{e.Service, e.Region, e.Bucket}]++
	}
	if len(kept) == 0 {
		return ok, tx.Commit()
	}
	if s.postgres {
		err = insertPG(ctx, tx, kept)
	} else {
		for _, e := range kept {
			if _, err = tx.ExecContext(ctx, `INSERT INTO report (service, region, code, client_hash, bucket) VALUES (?, ?, ?, ?, ?)`,
				e.Service, e.Region, e.Code, e.ClientHash, e.Bucket); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO bucket_count (service, region, bucket, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (service, region, bucket) DO UPDATE SET n = bucket_count.n + excluded.n`), k.service, k.region, k.bucket, n); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return ok, nil
}

// recentPG locks each client and service of the batch (so instances
// sharing the database cannot both take a repeat), in one order so that two
// batches cannot deadlock, and reads their newest reports since bucket
// since: two round trips for the whole batch.
func (s *Store) recentPG(ctx context.Context, tx *sql.Tx, entries []Entry, since int64) (map[string]int64, error) {
	var locks []int64
	var services, hashes []string
	for _, e := range entries {
		h := fnv.New64a()
		h.Write([]byte(e.Service + "\x00" + e.ClientHash))
		locks = append(locks, int64(binary.BigEndian.Uint64(h.Sum(nil))))
		services, hashes = append(services, e.Service), append(hashes, e.ClientHash)
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t(k) ORDER BY k`, locks); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.service, r.client_hash, MAX(r.bucket) FROM report r
		JOIN unnest($1::text[], $2::text[]) AS b(service, client_hash) ON r.service = b.service AND r.client_hash = b.client_hash
		WHERE r.bucket > $3 GROUP BY r.service, r.client_hash`, services, hashes, since)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var svc, h string
		var b int64
		if err := rows.Scan(&svc, &h, &b); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		out[svc+"\x00"+h] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return out, nil
}

// insertPG stores the batch's reports in one statement.
func insertPG(ctx context.Context, tx *sql.Tx, kept []Entry) error {
	cols := make([][]string, 4)
	var buckets []int64
	for _, e := range kept {
		cols[0], cols[1], cols[2], cols[3] = append(cols[0], e.Service), append(cols[1], e.Region), append(cols[2], e.Code), append(cols[3], e.ClientHash)
		buckets = append(buckets, e.Bucket)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO report (service, region, code, client_hash, bucket)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])`, cols[0], cols[1], cols[2], cols[3], buckets)
	return err
}

// Series reads the counts of service (region "" = every region) from
// bucket from to bucket to, and the first bucket of its history.
func (s *Store) Series(ctx context.Context, service, region string, from, to int64) (Series, error) {
	where, args := "service = ?", []any{service}
	if region != "" {
		where, args = where+" AND region = ?", append(args, region)
	}
	out := Series{Counts: map[int64]int{}}
	var first sql.NullInt64
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT MIN(bucket) FROM bucket_count WHERE `+where), args...).Scan(&first); err != nil {
		return out, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out.First = first.Int64
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT bucket, SUM(n) FROM bucket_count WHERE `+where+` AND bucket >= ? AND bucket <= ? GROUP BY bucket`),
		append(args, from, to)...)
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			return out, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		out.Counts[b] = n
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return out, nil
}

// Prune deletes what has outlived its retention at now.
func (s *Store) Prune(ctx context.Context, now time.Time) error {
	b := now.Unix() / BucketSeconds
	for _, st := range []struct {
		q string
		v int64
	}{
		{`DELETE FROM report WHERE bucket < ?`, b - RawDays*bucketsPerDay},
		{`DELETE FROM bucket_count WHERE bucket < ?`, b - CountDays*bucketsPerDay},
		{`DELETE FROM hash_key WHERE day < ?`, now.Unix() / 86400},
	} {
		if strings.Contains(st.q, "hash_key") {
			s.keyMu.Lock()
			if s.keyDay < st.v {
				s.key = nil
			}
			s.keyMu.Unlock()
		}
		if _, err := s.db.ExecContext(ctx, s.q(st.q), st.v); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return nil
}
