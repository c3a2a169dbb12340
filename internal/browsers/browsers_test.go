package browsers_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/browsers/fixture"
)

func TestCountSiteCookiesChromeAndFirefox(t *testing.T) {
	now := time.Now()
	for _, b := range []string{"chrome", "chromium", "edge", "brave", "firefox"} {
		for _, goos := range []string{"linux", "windows", "darwin"} {
			home := t.TempDir()
			_, err := fixture.Write(home, goos, fixture.Profile{Browser: b, Version: "150.0", Domain: "netflix.com",
				SiteCookies: 7, Expired: 3, OtherCookies: 4, CacheMB: 3}, now)
			if err != nil {
				t.Fatal(err)
			}
			ps := browsers.FindProfiles(home, goos)
			if len(ps) != 1 || ps[0].Browser != b || ps[0].Cookies == "" || ps[0].Cache == "" {
				t.Fatalf("%s/%s: profiles %+v", b, goos, ps)
			}
			c, err := browsers.CountSiteCookies(ps[0].Cookies, ps[0].Engine, []string{"netflix.com"}, now)
			if err != nil || c.Total != 7 || c.Expired != 3 {
				t.Errorf("%s/%s: %+v %v", b, goos, c, err)
			}
			if sz := browsers.DirSize(ps[0].Cache); sz != 3<<20 {
				t.Errorf("%s/%s: cache %d", b, goos, sz)
			}
			var spec browsers.Spec
			for _, s := range browsers.Specs(goos) {
				if s.Name == b {
					spec = s
				}
			}
			if v := browsers.Version(spec, home, ps); v != "150.0" {
				t.Errorf("%s/%s: version %q", b, goos, v)
			}
		}
	}
}

// Before schema 16 (Firefox 141 and older), expiry counts seconds.
func TestFirefoxOldSchemaSeconds(t *testing.T) {
	home := t.TempDir()
	now := time.Now()
	_, err := fixture.Write(home, "linux", fixture.Profile{Browser: "firefox", Domain: "netflix.com", SiteCookies: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	p := browsers.FindProfiles(home, "linux")[0]
	db, err := sql.Open("sqlite", p.Cookies)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite as an old profile: seconds, one expired yesterday.
	for _, q := range []string{"PRAGMA user_version = 15", "UPDATE moz_cookies SET expiry = expiry / 1000"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("UPDATE moz_cookies SET expiry = ? WHERE name = 'site0'", now.Add(-24*time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, err := browsers.CountSiteCookies(p.Cookies, p.Engine, []string{"netflix.com"}, now)
	if err != nil || c.Total != 2 || c.Expired != 1 {
		t.Errorf("%+v %v", c, err)
	}
}

func TestCountSiteCookiesBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "Cookies")
	os.WriteFile(junk, []byte("this is not a database, just text that is long enough to look like one"), 0o644)
	if _, err := browsers.CountSiteCookies(junk, browsers.Chromium, []string{"netflix.com"}, time.Now()); err == nil {
		t.Error("junk file accepted")
	}
	empty := filepath.Join(dir, "empty.sqlite")
	db, _ := sql.Open("sqlite", empty)
	db.Exec("CREATE TABLE t(x)")
	db.Close()
	if _, err := browsers.CountSiteCookies(empty, browsers.Chromium, []string{"netflix.com"}, time.Now()); err != browsers.ErrNoCookieTable {
		t.Errorf("got %v", err)
	}
}

func TestMatchesDomain(t *testing.T) {
	for host, want := range map[string]bool{
		".netflix.com": true, "www.netflix.com": true, "netflix.com": true,
		"notnetflix.com": false, "netflix.com.evil.org": false, "": false,
	} {
		if browsers.MatchesDomain(host, []string{"netflix.com"}) != want {
			t.Errorf("%q", host)
		}
	}
}

func TestParseProfilesINI(t *testing.T) {
	ini := "[Install4F96D1932A9F858E]\nDefault=abc.default-release\n\n[Profile1]\nName=default\nIsRelative=1\nPath=xyz.default\n\n[Profile0]\nName=work\nIsRelative=0\nPath=/data/ff/work\n"
	ps := browsers.ParseProfilesINI([]byte(ini))
	if len(ps) != 2 || ps[0].Path != "xyz.default" || !ps[0].Relative || ps[1].Relative || ps[1].Path != "/data/ff/work" {
		t.Errorf("%+v", ps)
	}
}
