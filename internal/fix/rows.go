package fix

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// cell is one stored value with its SQLite type.
type cell struct {
	I *int64   `json:"i,omitempty"`
	F *float64 `json:"f,omitempty"`
	S *string  `json:"s,omitempty"`
	B *string  `json:"b,omitempty"` // base64
}

type rowSet struct {
	Columns []string `json:"columns"`
	Rows    [][]cell `json:"rows"`
}

func toCell(v any) cell {
	switch x := v.(type) {
	case int64:
		return cell{I: &x}
	case float64:
		return cell{F: &x}
	case string:
		return cell{S: &x}
	case []byte:
		s := base64.StdEncoding.EncodeToString(x)
		return cell{B: &s}
	}
	return cell{} // NULL
}

func (c cell) value() (any, error) {
	switch {
	case c.I != nil:
		return *c.I, nil
	case c.F != nil:
		return *c.F, nil
	case c.S != nil:
		return *c.S, nil
	case c.B != nil:
		return base64.StdEncoding.DecodeString(*c.B)
	}
	return nil, nil
}

// inTx runs fn in one transaction on the store at path: committed if fn
// returns nil, rolled back otherwise.
func inTx(ctx context.Context, path string, fn func(*sql.Tx) error) error {
	db, err := openStore(path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func openStore(path string) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "_pragma=busy_timeout(2000)"}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// siteMatch is the WHERE clause for the service's cookies: the exact
// domain, its dot form and every subdomain — never a look-alike such as
// notnetflix.com.
func siteMatch(col string, domains []string) (string, []any) {
	var parts []string
	var args []any
	for _, d := range domains {
		d = strings.ToLower(d)
		parts = append(parts, fmt.Sprintf(`lower(%s) IN (?, ?) OR lower(%s) LIKE ? ESCAPE '\'`, col, col))
		args = append(args, d, "."+d, "%."+strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(d))
	}
	return "(" + strings.Join(parts, ") OR (") + ")", args
}

// deleteRows deletes the service's rows from a store in one transaction,
// after writing them to rowsPath (0600): what undo needs to put them back.
func deleteRows(ctx context.Context, store, table, col string, domains []string, rowsPath string) error {
	return inTx(ctx, store, func(tx *sql.Tx) error {
		where, args := siteMatch(col, domains)
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %s WHERE %s`, table, where), args...)
		if err != nil {
			return err
		}
		var rs rowSet
		if rs.Columns, err = rows.Columns(); err != nil {
			rows.Close()
			return err
		}
		for rows.Next() {
			vals := make([]any, len(rs.Columns))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			r := make([]cell, len(vals))
			for i, v := range vals {
				r[i] = toCell(v)
			}
			rs.Rows = append(rs.Rows, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b, err := json.Marshal(rs)
		if err != nil {
			return err
		}
		if err := WriteFileAtomic(rowsPath, b, 0o600); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s`, table, where), args...)
		return err
	})
}

// reinsert puts deleted rows back into a store that changed since, in one
// transaction. A row the browser has since written again (same cookie) is
// kept as the browser wrote it; Firefox's row ids are left to SQLite, so a
// reused id cannot keep a cookie out. It returns the new rows' rowids, for
// taking them out again if another store of the same undo fails.
func reinsert(ctx context.Context, store, table, rowsPath string) ([]int64, error) {
	b, err := os.ReadFile(rowsPath)
	if err != nil {
		return nil, fmt.Errorf("the saved rows are missing: %w", err)
	}
	var rs rowSet
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("the saved rows are damaged: %w", err)
	}
	keep := []int{}
	for i, c := range rs.Columns {
		if strings.ContainsFunc(c, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return nil, fmt.Errorf("the saved rows name a strange column %q", c)
		}
		if table == "moz_cookies" && c == "id" {
			continue
		}
		keep = append(keep, i)
	}
	var cols, marks []string
	for _, i := range keep {
		cols, marks = append(cols, rs.Columns[i]), append(marks, "?")
	}
	q := fmt.Sprintf(`INSERT OR IGNORE INTO %s (%s) VALUES (%s)`, table, strings.Join(cols, ", "), strings.Join(marks, ", "))
	var ids []int64
	err = inTx(ctx, store, func(tx *sql.Tx) error {
		for _, r := range rs.Rows {
			if len(r) != len(rs.Columns) {
				return fmt.Errorf("the saved rows are damaged")
			}
			args := make([]any, 0, len(keep))
			for _, i := range keep {
				v, err := r[i].value()
				if err != nil {
					return err
				}
				args = append(args, v)
			}
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				id, _ := res.LastInsertId()
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// unInsert takes rows reinsert added back out (an undo that failed later).
func unInsert(ctx context.Context, store, table string, ids []int64) error {
	return inTx(ctx, store, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE rowid = ?`, table), id); err != nil {
				return err
			}
		}
		return nil
	})
}
