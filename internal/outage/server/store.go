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
	"io/fs"
	"net/netip"
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
// reporting network and the bucket) are kept 14 days; the five-minute and
// hourly counts the baseline is built from, eight weeks; the hashing key,
// one day.
const (
	RawDays       = 14
	CountDays     = 56
	DedupBuckets  = 6 // one report per network and service per 30 minutes
	bucketsPerDay = 86400 / BucketSeconds
)

// allRegions names the series that sums every report of a service,
// whatever its region ("*" is no country code, so it meets no real one).
// The status page draws it; no status is tested on it.
const allRegions = "*"

// Entry is one accepted report as stored: nothing that names a person or a
// machine, only a hash of the network it came from under the day's key.
type Entry struct {
	Service, Region, Code string
	// Network is HashNetwork of the network (/24, /48) the report came
	// from: a report counts once per service and network per 30 minutes.
	Network string
	// ClientHash stands in for Network in entries added without one (the
	// lab's seeded histories): each such client counts as its own
	// network. The server itself no longer stores client ids in any form.
	ClientHash string
	Bucket     int64
}

// reporter is what a report is counted once by: its network's hash, or
// (entries added without one) its client's.
func (e Entry) reporter() string {
	if e.Network != "" {
		return e.Network
	}
	return "c:" + e.ClientHash
}

// Store keeps reports. Every instance of the server that shares a store
// gives the same answers, because all state lives in it.
type Store struct {
	db       *sql.DB
	postgres bool
	what     string // "sqlite:PATH" or "postgres" (no credentials)

	// firsts: first buckets known to be stored (a stored first only ever
	// moves earlier, or to the cut when pruning), so that a batch need not
	// touch series_first's rows again; forgotten when pruning.
	firstMu sync.Mutex
	firsts  map[seriesKey]int64

	keyMu  sync.Mutex
	keyDay int64
	key    []byte // the day's key, once read (it never changes for its day)
	wipe   bool   // a key was deleted and may still sit in the WAL file
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
		if err := privateFiles(path); err != nil {
			return nil, err
		}
		// secure_delete: deleted rows (an old day's key above all) are
		// overwritten, not left in free pages.
		dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(ON)"
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

// privateFiles makes the database file 0600 before SQLite opens it, and
// its -wal and -shm files 0600 if they are left from an earlier run.
// SQLite creates the -wal and -shm files with the database file's mode,
// so from then on all three are the owner's alone: they hold the day's
// key and the network hashes.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create %s: %v", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot make %s private: %v", p, err)
		}
	}
	return nil
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
		client_hash TEXT NOT NULL, bucket BIGINT NOT NULL, net_hash TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS report_bucket ON report (bucket)`,
	// Counts per series (service and region; region "" = none said, "*" =
	// all) and five minutes, and the same per hour, kept up to date with
	// every report: the status reads a few hundred rows of them, never a
	// scan.
	`CREATE TABLE IF NOT EXISTS bucket_count (service TEXT NOT NULL, region TEXT NOT NULL, bucket BIGINT NOT NULL,
		n INTEGER NOT NULL, PRIMARY KEY (service, region, bucket))`,
	// Every series' recent buckets in one range scan: index-only on SQLite;
	// on PostgreSQL without n, so that counting a report updates its row in
	// place (a HOT update) rather than adding index entries each time.
	`CREATE INDEX IF NOT EXISTS bucket_count_time ON bucket_count (service, bucket, region /*, n*/)`,
	`CREATE TABLE IF NOT EXISTS hour_count (service TEXT NOT NULL, region TEXT NOT NULL, hour BIGINT NOT NULL,
		n INTEGER NOT NULL, PRIMARY KEY (service, region, hour)) /*clustered*/`,
	`CREATE TABLE IF NOT EXISTS series_first (service TEXT NOT NULL, region TEXT NOT NULL, first BIGINT NOT NULL,
		PRIMARY KEY (service, region)) /*clustered*/`,
	`CREATE TABLE IF NOT EXISTS hash_key (day BIGINT PRIMARY KEY, k TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`,
}

// schemaVersion 2: reports counted per network (net_hash), the hourly
// and all-regions aggregates, the first bucket of each series.
const schemaVersion = 2

func (s *Store) setup(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if s.postgres {
		// Instances starting together must not race on CREATE TABLE.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7135503)`); err != nil {
			return unavailable(err)
		}
	}
	for _, q := range schema {
		if !s.postgres {
			// SQLite: the table is its primary key's b-tree; the index
			// covers the count.
			q = strings.Replace(q, "/*clustered*/", "WITHOUT ROWID", 1)
			q = strings.Replace(q, "/*, n*/", ", n", 1)
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return unavailable(err)
		}
	}
	if err := s.migrate(ctx, tx); err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// migrate brings a database of an earlier version up to this one: the
// net_hash column and its index, and the aggregates built once from the
// five-minute counts already there.
func (s *Store) migrate(ctx context.Context, tx *sql.Tx) error {
	var v string
	switch err := tx.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'schema'`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		v = "1"
	case err != nil:
		return err
	}
	if n, _ := strconv.Atoi(v); n >= schemaVersion {
		return nil
	}
	if s.postgres {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE report ADD COLUMN IF NOT EXISTS net_hash TEXT NOT NULL DEFAULT ''`); err != nil {
			return err
		}
	} else {
		var has int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('report') WHERE name = 'net_hash'`).Scan(&has); err != nil {
			return err
		}
		if has == 0 {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE report ADD COLUMN net_hash TEXT NOT NULL DEFAULT ''`); err != nil {
				return err
			}
		}
	}
	for _, q := range []string{
		`CREATE INDEX IF NOT EXISTS report_net ON report (service, net_hash, bucket)`,
		`DROP INDEX IF EXISTS report_client`,
		`DELETE FROM bucket_count WHERE region = '*'`,
		`DELETE FROM hour_count`,
		`DELETE FROM series_first`,
		`INSERT INTO bucket_count (service, region, bucket, n) SELECT service, '*', bucket, SUM(n) FROM bucket_count GROUP BY service, bucket`,
		`INSERT INTO hour_count (service, region, hour, n) SELECT service, region, bucket / 12, SUM(n) FROM bucket_count GROUP BY service, region, bucket / 12`,
		`INSERT INTO series_first (service, region, first) SELECT service, region, MIN(bucket) FROM bucket_count GROUP BY service, region`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO meta (k, v) VALUES ('schema', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`), strconv.Itoa(schemaVersion))
	return err
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return unavailable(err)
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
		return nil, unavailable(err)
	}
	var k string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT k FROM hash_key WHERE day = ?`), day).Scan(&k); err != nil {
		return nil, unavailable(err)
	}
	key, err := hex.DecodeString(k)
	if err != nil {
		return nil, fmt.Errorf("%w: a stored key is not hex", ErrUnavailable)
	}
	s.keyDay, s.key = day, key
	return key, nil
}

// HashClient is the hashed form of a client id: HMAC-SHA256 under the
// day's key, of the service and the id, cut to 128 bits. The server no
// longer stores it; entries added without a network (seeded histories)
// are counted by it.
func HashClient(key []byte, service, client string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(service))
	m.Write([]byte{0})
	m.Write([]byte(client))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// HashNetwork is the stored form of a network: HMAC-SHA256 under the
// day's key, of the service and the network (a /24 or /48 prefix), cut to
// 128 bits. Without the key, which is deleted when its day is over, it
// cannot be tied to a network, nor one service's hash to another's.
func HashNetwork(key []byte, service string, network netip.Prefix) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("network\x00"))
	m.Write([]byte(service))
	m.Write([]byte{0})
	m.Write([]byte(network.Masked().String()))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Add stores entries in one transaction and says which were counted: an
// entry is a repeat when the same network (or, without one, client)
// reported the same service in the last 30 minutes, in any region (in the
// store or earlier in entries). The aggregates are updated in the same
// transaction.
func (s *Store) Add(ctx context.Context, entries []Entry) ([]bool, error) {
	ok := make([]bool, len(entries))
	if len(entries) == 0 {
		return ok, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(err)
	}
	defer tx.Rollback()
	key := func(e Entry) string { return e.Service + "\x00" + e.reporter() }
	minBucket := entries[0].Bucket
	for _, e := range entries {
		minBucket = min(minBucket, e.Bucket)
	}
	// last[key]: the newest stored report of that network and service that
	// could make an entry of this batch a repeat.
	last := map[string]int64{}
	if s.postgres {
		if last, err = s.recentPG(ctx, tx, entries, minBucket-DedupBuckets); err != nil {
			return nil, err
		}
	} else {
		stmt, err := tx.PrepareContext(ctx, `SELECT MAX(bucket) FROM report WHERE service = ? AND net_hash = ? AND bucket > ?`)
		if err != nil {
			return nil, unavailable(err)
		}
		defer stmt.Close()
		for _, e := range entries {
			var b sql.NullInt64
			if err := stmt.QueryRowContext(ctx, e.Service, e.reporter(), minBucket-DedupBuckets).Scan(&b); err != nil {
				return nil, unavailable(err)
			}
			if b.Valid {
				last[key(e)] = b.Int64
			}
		}
	}
	agg := newAggregate()
	var kept []Entry
	for i, e := range entries {
		if b, seen := last[key(e)]; seen && e.Bucket-b < DedupBuckets {
			continue
		}
		last[key(e)] = e.Bucket
		ok[i] = true
		kept = append(kept, e)
		agg.add(e.Service, e.Region, e.Bucket, 1)
	}
	if len(kept) == 0 {
		return ok, tx.Commit()
	}
	if s.postgres {
		err = insertPG(ctx, tx, kept)
	} else {
		var stmt *sql.Stmt
		if stmt, err = tx.PrepareContext(ctx, `INSERT INTO report (service, region, code, client_hash, bucket, net_hash) VALUES (?, ?, ?, ?, ?, ?)`); err == nil {
			for _, e := range kept {
				if _, err = stmt.ExecContext(ctx, e.Service, e.Region, e.Code, e.ClientHash, e.Bucket, e.reporter()); err != nil {
					break
				}
			}
			stmt.Close()
		}
	}
	if err == nil {
		err = s.apply(ctx, tx, agg)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return nil, unavailable(err)
	}
	s.knowFirsts(agg)
	return ok, nil
}

// recentPG locks each network and service of the batch (so instances
// sharing the database cannot both take a repeat), in one order so that two
// batches cannot deadlock, and reads their newest reports since bucket
// since: two round trips for the whole batch.
func (s *Store) recentPG(ctx context.Context, tx *sql.Tx, entries []Entry, since int64) (map[string]int64, error) {
	var locks []int64
	var services, hashes []string
	for _, e := range entries {
		h := fnv.New64a()
		h.Write([]byte(e.Service + "\x00" + e.reporter()))
		locks = append(locks, int64(binary.BigEndian.Uint64(h.Sum(nil))))
		services, hashes = append(services, e.Service), append(hashes, e.reporter())
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t(k) ORDER BY k`, locks); err != nil {
		return nil, unavailable(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.service, r.net_hash, MAX(r.bucket) FROM report r
		JOIN unnest($1::text[], $2::text[]) AS b(service, net_hash) ON r.service = b.service AND r.net_hash = b.net_hash
		WHERE r.bucket > $3 GROUP BY r.service, r.net_hash`, services, hashes, since)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var svc, h string
		var b int64
		if err := rows.Scan(&svc, &h, &b); err != nil {
			return nil, unavailable(err)
		}
		out[svc+"\x00"+h] = b
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// insertPG stores the batch's reports in one statement.
func insertPG(ctx context.Context, tx *sql.Tx, kept []Entry) error {
	cols := make([][]string, 5)
	var buckets []int64
	for _, e := range kept {
		cols[0], cols[1], cols[2], cols[3] = append(cols[0], e.Service), append(cols[1], e.Region), append(cols[2], e.Code), append(cols[3], e.ClientHash)
		cols[4] = append(cols[4], e.reporter())
		buckets = append(buckets, e.Bucket)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO report (service, region, code, client_hash, bucket, net_hash)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])`, cols[0], cols[1], cols[2], cols[3], buckets, cols[4])
	return err
}

// Prune deletes what has outlived its retention at now. A deleted day key
// is then also wiped from SQLite's WAL file (a checkpoint that truncates
// it); secure_delete has already overwritten it in the database pages.
func (s *Store) Prune(ctx context.Context, now time.Time) error {
	b := now.Unix() / BucketSeconds
	cut := b - CountDays*bucketsPerDay
	s.firstMu.Lock()
	s.firsts = nil
	s.firstMu.Unlock()
	defer func() {
		s.firstMu.Lock()
		s.firsts = nil
		s.firstMu.Unlock()
	}()
	// The counts series by series, along their indexes (a bare "bucket <
	// ?" would read every row, holding SQLite's write lock meanwhile).
	var series []seriesKey
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT service, region FROM series_first WHERE first < ?`), cut)
	if err != nil {
		return unavailable(err)
	}
	for rows.Next() {
		var k seriesKey
		if err := rows.Scan(&k.service, &k.region); err != nil {
			rows.Close()
			return unavailable(err)
		}
		series = append(series, k)
	}
	rows.Close()
	for _, k := range series {
		for _, q := range []string{
			`DELETE FROM bucket_count WHERE service = ? AND region = ? AND bucket < ?`,
			`DELETE FROM hour_count WHERE service = ? AND region = ? AND hour < ?`,
		} {
			v := cut
			if strings.Contains(q, "hour_count") {
				v = cut / perHour
			}
			if _, err := s.db.ExecContext(ctx, s.q(q), k.service, k.region, v); err != nil {
				return unavailable(err)
			}
		}
	}
	for _, st := range []struct {
		q string
		v int64
	}{
		{`DELETE FROM report WHERE bucket < ?`, b - RawDays*bucketsPerDay},
		{`UPDATE series_first SET first = ? WHERE first < ?`, cut},
		{`DELETE FROM series_first WHERE first <= ? AND NOT EXISTS (SELECT 1 FROM bucket_count c
			WHERE c.service = series_first.service AND c.region = series_first.region)`, cut},
		{`DELETE FROM hash_key WHERE day < ?`, now.Unix() / 86400},
	} {
		args := []any{st.v}
		if strings.Count(st.q, "?") == 2 {
			args = append(args, st.v)
		}
		isKey := strings.Contains(st.q, "hash_key")
		if isKey {
			s.keyMu.Lock()
			if s.keyDay < st.v {
				s.key = nil
			}
			s.keyMu.Unlock()
		}
		res, err := s.db.ExecContext(ctx, s.q(st.q), args...)
		if err != nil {
			return unavailable(err)
		}
		if n, _ := res.RowsAffected(); isKey && n > 0 && !s.postgres {
			s.keyMu.Lock()
			s.wipe = true
			s.keyMu.Unlock()
		}
	}
	s.keyMu.Lock()
	wipe := s.wipe
	s.keyMu.Unlock()
	if wipe {
		var busy, logFrames, done int
		if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return unavailable(err)
		}
		if busy == 0 {
			s.keyMu.Lock()
			s.wipe = false
			s.keyMu.Unlock()
		}
	}
	return nil
}

// unavailable wraps a database failure, said once.
func unavailable(err error) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, oncePerAttempt(err.Error()))
}

// oncePerAttempt says a connection error once: the PostgreSQL driver
// tries again without TLS and lists both attempts, word for word alike
// when the server is simply not there.
func oncePerAttempt(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ") // attempts may be on lines of their own
	head, rest := "", msg
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		head, rest = msg[:i+3], msg[i+3:]
	}
	for n := 2; n <= 4; n++ {
		if (len(rest)+1)%n != 0 {
			continue
		}
		part := rest[:(len(rest)+1)/n-1]
		if strings.TrimSuffix(strings.Repeat(part+" ", n), " ") == rest {
			return head + part
		}
	}
	return msg
}
