package fix

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
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
	// Domains are the service's registrable domains ("netflix.com").
	Domains []string
	// DNSServers are the servers change_dns switches to (opt-in).
	DNSServers []string
}

// ErrBrowserRunning means a browser must be closed first.
var ErrBrowserRunning = errors.New("browser is running")

func (e *Env) cookieStores() []browsers.Profile {
	var out []browsers.Profile
	for _, p := range browsers.FindProfiles(e.Home, e.OS) {
		if p.Cookies != "" {
			out = append(out, p)
		}
	}
	return out
}

var titles = map[string]string{"chrome": "Chrome", "chromium": "Chromium", "edge": "Edge", "brave": "Brave", "firefox": "Firefox"}

// planSiteData lists the exact rows that would go.
func planSiteData(e *Env) (Plan, error) {
	p := Plan{Fix: "clear_site_data", Automated: true}
	for _, pr := range e.cookieStores() {
		c, err := browsers.CountSiteCookies(pr.Cookies, pr.Engine, e.Domains, timeNow())
		if err != nil {
			return p, fmt.Errorf("%s: %w", pr.Cookies, err)
		}
		p.Changes = append(p.Changes, fmt.Sprintf("delete %d %s cookies from %s (%s); other sites' cookies stay",
			c.Total, strings.Join(e.Domains, ", "), titles[pr.Browser], pr.Cookies))
	}
	if len(p.Changes) == 0 {
		p.Automated = false
		p.Changes = []string{"no Chrome, Edge, Brave, Chromium or Firefox cookie store found; follow the steps instead (Safari: Settings > Privacy > Manage Website Data)"}
	}
	return p, nil
}

// applySiteData removes the service's cookies from every Chromium and
// Firefox cookie store, after backing each store up.
func applySiteData(ctx context.Context, e *Env) (*Entry, error) {
	stores := e.cookieStores()
	if len(stores) == 0 {
		return nil, errors.New("no browser cookie store found")
	}
	if e.Running != nil {
		run := e.Running()
		for _, p := range stores {
			if run[p.Browser] {
				return nil, fmt.Errorf("%w: close %s first (its cookies would be rewritten on exit)", ErrBrowserRunning, titles[p.Browser])
			}
		}
	}
	// Check every store before touching any: a corrupted or locked one
	// stops the fix with nothing changed.
	for _, p := range stores {
		if _, err := browsers.CountSiteCookies(p.Cookies, p.Engine, e.Domains, timeNow()); err != nil {
			return nil, fmt.Errorf("%s cannot be read (%v); nothing was changed", p.Cookies, err)
		}
	}
	en, err := e.Journal.New("clear_site_data", timeNow())
	if err != nil {
		return nil, err
	}
	for _, p := range stores {
		if err := en.Backup(p.Cookies); err != nil {
			return nil, fmt.Errorf("%w; nothing was changed", err)
		}
		for _, ext := range []string{"-journal", "-wal", "-shm"} {
			side := p.Cookies + ext
			if _, err := os.Stat(side); errors.Is(err, os.ErrNotExist) {
				en.Absent = append(en.Absent, side)
			} else if err == nil {
				if err := en.Backup(side); err != nil {
					return nil, fmt.Errorf("%w; nothing was changed", err)
				}
			}
		}
		en.Changes = append(en.Changes, fmt.Sprintf("deleted %s cookies from %s", strings.Join(e.Domains, ", "), p.Cookies))
	}
	if err := en.Save(Prepared); err != nil {
		return nil, fmt.Errorf("cannot write the journal (%w); nothing was changed", err)
	}
	for _, p := range stores {
		if err := deleteSiteCookies(ctx, p, e.Domains); err != nil {
			if uerr := en.Undo(e.Runner); uerr != nil {
				return en, fmt.Errorf("%s: %v; restoring the backup also failed: %v (run 'streamdoctor undo %s')", p.Cookies, err, uerr, en.ID)
			}
			return nil, fmt.Errorf("%s: %v; the backup was restored, nothing changed", p.Cookies, err)
		}
	}
	return en, en.Save(Applied)
}

func deleteSiteCookies(ctx context.Context, p browsers.Profile, domains []string) error {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(p.Cookies), RawQuery: "_pragma=busy_timeout(2000)"}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	table, col := "cookies", "host_key"
	if p.Engine == browsers.Gecko {
		table, col = "moz_cookies", "host"
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, d := range domains {
		d = strings.ToLower(d)
		// The exact domain, its dot form, and every subdomain — never a
		// look-alike such as notnetflix.com.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE lower(%s) IN (?, ?) OR lower(%s) LIKE ? ESCAPE '\'`, table, col, col),
			d, "."+d, "%."+strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(d)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
