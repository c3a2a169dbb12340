// Package browsers knows where browsers keep their profiles, cookies and
// caches, relative to the user's home directory, and reads their cookie
// databases (Chromium's `Cookies` and Firefox's `cookies.sqlite`) to count a
// site's cookies. It never writes: clearing site data is the fix package's job.
package browsers

import (
	"bufio"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver
)

// Engine is the cookie-store family of a browser.
type Engine string

// Engines.
const (
	Chromium Engine = "chromium"
	Gecko    Engine = "gecko"
)

// Spec says where one browser keeps its data on one OS.
type Spec struct {
	Name      string
	Engine    Engine
	ConfigDir string   // profile root, relative to home
	CacheDir  string   // cache root, relative to home ("" = inside the profile)
	Process   []string // process names that mean "running"
}

// Specs returns the browsers known on goos, with paths relative to home.
func Specs(goos string) []Spec {
	switch goos {
	case "windows":
		return []Spec{
			{"chrome", Chromium, `AppData\Local\Google\Chrome\User Data`, "", []string{"chrome.exe"}},
			{"edge", Chromium, `AppData\Local\Microsoft\Edge\User Data`, "", []string{"msedge.exe"}},
			{"brave", Chromium, `AppData\Local\BraveSoftware\Brave-Browser\User Data`, "", []string{"brave.exe"}},
			{"chromium", Chromium, `AppData\Local\Chromium\User Data`, "", []string{"chromium.exe"}},
			{"firefox", Gecko, `AppData\Roaming\Mozilla\Firefox`, `AppData\Local\Mozilla\Firefox`, []string{"firefox.exe"}},
		}
	case "darwin":
		return []Spec{
			{"chrome", Chromium, "Library/Application Support/Google/Chrome", "Library/Caches/Google/Chrome", []string{"Google Chrome"}},
			{"edge", Chromium, "Library/Application Support/Microsoft Edge", "Library/Caches/Microsoft Edge", []string{"Microsoft Edge"}},
			{"brave", Chromium, "Library/Application Support/BraveSoftware/Brave-Browser", "Library/Caches/BraveSoftware/Brave-Browser", []string{"Brave Browser"}},
			{"chromium", Chromium, "Library/Application Support/Chromium", "Library/Caches/Chromium", []string{"Chromium"}},
			{"firefox", Gecko, "Library/Application Support/Firefox", "Library/Caches/Firefox", []string{"firefox"}},
		}
	default:
		return []Spec{
			{"chrome", Chromium, ".config/google-chrome", ".cache/google-chrome", []string{"chrome"}},
			{"chromium", Chromium, ".config/chromium", ".cache/chromium", []string{"chromium", "chromium-browse"}},
			{"edge", Chromium, ".config/microsoft-edge", ".cache/microsoft-edge", []string{"msedge"}},
			{"brave", Chromium, ".config/BraveSoftware/Brave-Browser", ".cache/BraveSoftware/Brave-Browser", []string{"brave"}},
			{"firefox", Gecko, ".mozilla/firefox", ".cache/mozilla/firefox", []string{"firefox", "firefox-bin", "firefox-esr"}},
		}
	}
}

// Profile is one browser profile found on disk.
type Profile struct {
	Browser string
	Engine  Engine
	Dir     string // absolute profile directory
	Cookies string // absolute path of the cookie database ("" if absent)
	Cache   string // absolute cache directory ("" if absent)
}

// FindProfiles lists the profiles of every known browser under home.
func FindProfiles(home, goos string) []Profile {
	var out []Profile
	for _, s := range Specs(goos) {
		root := filepath.Join(home, filepath.FromSlash(s.ConfigDir))
		switch s.Engine {
		case Chromium:
			out = append(out, chromiumProfiles(s, root, home)...)
		case Gecko:
			out = append(out, geckoProfiles(s, root, home)...)
		}
	}
	return out
}

func chromiumProfiles(s Spec, root, home string) []Profile {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []Profile
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || (n != "Default" && !strings.HasPrefix(n, "Profile ")) {
			continue
		}
		dir := filepath.Join(root, n)
		p := Profile{Browser: s.Name, Engine: s.Engine, Dir: dir}
		// Chrome 96 moved the database into Network/.
		for _, c := range []string{filepath.Join(dir, "Network", "Cookies"), filepath.Join(dir, "Cookies")} {
			if fileExists(c) {
				p.Cookies = c
				break
			}
		}
		cache := filepath.Join(dir, "Cache")
		if s.CacheDir != "" {
			cache = filepath.Join(home, filepath.FromSlash(s.CacheDir), n, "Cache")
		}
		if dirExists(cache) {
			p.Cache = cache
		}
		out = append(out, p)
	}
	return out
}

func geckoProfiles(s Spec, root, home string) []Profile {
	ini, err := os.ReadFile(filepath.Join(root, "profiles.ini"))
	if err != nil {
		return nil
	}
	var out []Profile
	for _, pr := range ParseProfilesINI(ini) {
		dir := pr.Path
		if pr.Relative {
			dir = filepath.Join(root, filepath.FromSlash(pr.Path))
		}
		p := Profile{Browser: s.Name, Engine: s.Engine, Dir: dir}
		if c := filepath.Join(dir, "cookies.sqlite"); fileExists(c) {
			p.Cookies = c
		}
		if s.CacheDir != "" {
			rel := filepath.Base(dir)
			if pr.Relative {
				rel = filepath.FromSlash(pr.Path)
			}
			if c := filepath.Join(home, filepath.FromSlash(s.CacheDir), rel, "cache2"); dirExists(c) {
				p.Cache = c
			}
		}
		out = append(out, p)
	}
	return out
}

// INIProfile is one [ProfileN] section of Firefox's profiles.ini.
type INIProfile struct {
	Name     string
	Path     string
	Relative bool
}

// ParseProfilesINI reads Firefox's profiles.ini.
func ParseProfilesINI(b []byte) []INIProfile {
	var out []INIProfile
	var cur *INIProfile
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			if cur != nil && cur.Path != "" {
				out = append(out, *cur)
			}
			cur = nil
			if strings.HasPrefix(line, "[Profile") {
				cur = &INIProfile{Relative: true}
			}
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Name":
			cur.Name = v
		case "Path":
			cur.Path = v
		case "IsRelative":
			cur.Relative = v != "0"
		}
	}
	if cur != nil && cur.Path != "" {
		out = append(out, *cur)
	}
	return out
}

// CookieCount is the result of counting one site's cookies in one database.
type CookieCount struct {
	Total   int
	Expired int
}

// ErrNoCookieTable means the file is SQLite but not a browser cookie store.
var ErrNoCookieTable = errors.New("not a browser cookie database")

// CountSiteCookies counts the cookies of the given registrable domains (for
// example "netflix.com") in a Chromium or Firefox cookie database. The file
// is opened read-only and immutable, so a running browser's lock is no
// obstacle and nothing is written.
func CountSiteCookies(path string, eng Engine, domains []string, now time.Time) (CookieCount, error) {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "mode=ro&immutable=1"}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return CookieCount{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var q string
	var expiryToTime func(int64) time.Time
	switch eng {
	case Chromium:
		q = "SELECT host_key, expires_utc, has_expires FROM cookies"
		// expires_utc counts microseconds since 1601-01-01 UTC.
		expiryToTime = func(v int64) time.Time {
			return time.Unix(v/1e6-11644473600, (v%1e6)*1e3)
		}
	case Gecko:
		var ver int
		if err := db.QueryRow("PRAGMA user_version").Scan(&ver); err != nil {
			return CookieCount{}, err
		}
		q = "SELECT host, expiry, 1 FROM moz_cookies"
		// Schema 16 (Firefox 142) switched expiry from seconds to milliseconds.
		if ver >= 16 {
			expiryToTime = func(v int64) time.Time { return time.UnixMilli(v) }
		} else {
			expiryToTime = func(v int64) time.Time { return time.Unix(v, 0) }
		}
	default:
		return CookieCount{}, fmt.Errorf("unknown browser engine %q", eng)
	}
	rows, err := db.Query(q)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return CookieCount{}, ErrNoCookieTable
		}
		return CookieCount{}, err
	}
	defer rows.Close()
	var c CookieCount
	for rows.Next() {
		var host string
		var exp, hasExp int64
		if err := rows.Scan(&host, &exp, &hasExp); err != nil {
			return c, err
		}
		if !MatchesDomain(host, domains) {
			continue
		}
		c.Total++
		if hasExp != 0 && exp > 0 && expiryToTime(exp).Before(now) {
			c.Expired++
		}
	}
	return c, rows.Err()
}

// MatchesDomain reports whether a cookie host ("www.netflix.com",
// ".netflix.com") belongs to one of the registrable domains.
func MatchesDomain(host string, domains []string) bool {
	h := strings.ToLower(strings.TrimPrefix(host, "."))
	for _, d := range domains {
		d = strings.ToLower(d)
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// DirSize sums the sizes of the regular files under dir.
func DirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Version reads the version a browser recorded in its own profile root:
// Chromium's "Last Version" file, or Firefox's compatibility.ini.
func Version(s Spec, home string, profiles []Profile) string {
	root := filepath.Join(home, filepath.FromSlash(s.ConfigDir))
	if s.Engine == Chromium {
		if b, err := os.ReadFile(filepath.Join(root, "Last Version")); err == nil {
			return strings.TrimSpace(string(b))
		}
		return ""
	}
	for _, p := range profiles {
		if p.Browser != s.Name {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.Dir, "compatibility.ini"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "LastVersion="); ok {
				v, _, _ = strings.Cut(v, "_")
				return v
			}
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// CurrentMajor is the stable major version of each browser on CurrentAsOf.
// Chrome, Edge and Firefox ship a major release about every four weeks;
// Safari once a year (26 in September 2025, 27 in September 2026).
var CurrentMajor = map[string]int{"chrome": 156, "chromium": 156, "edge": 156, "firefox": 158, "safari": 27}

// OutdatedAfter is how many major releases behind a browser may be before it
// counts as outdated: about half a year of updates.
func OutdatedAfter(name string) int {
	if name == "safari" {
		return 1 // yearly releases: two behind is two years of fixes missed
	}
	return 6
}

// CurrentAsOf dates CurrentMajor.
const CurrentAsOf = "2026-11"
