package probe

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func probeBrowserVersion(_ context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactBrowsers); ok {
		return notRun(catalog.PBrowserVer, why)
	}
	if len(s.facts.Browsers) == 0 {
		return notRun(catalog.PBrowserVer, "no browser found")
	}
	var out []Observation
	for _, b := range s.facts.Browsers {
		o := Observation{Target: b.Name}
		major, err := strconv.Atoi(strings.SplitN(b.Version, ".", 2)[0])
		cur, known := browsers.CurrentMajor[b.Name]
		switch {
		case err != nil:
			o.Status, o.Detail = NotRun, "version unknown"
		case !known:
			o.Status, o.Value, o.Detail = NotRun, float64(major), "no reference version for "+b.Name
		default:
			o.Value = float64(major)
			o.Status, o.Detail = OK, fmt.Sprintf("version %s (current %d as of %s)", b.Version, cur, browsers.CurrentAsOf)
			if major < cur-browsers.OutdatedAfter(b.Name) {
				o.Status, o.Failure = Problem, catalog.FOutdated
			}
		}
		out = append(out, o)
	}
	return out
}

func probeBrowserData(ctx context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactBrowsers); ok {
		return notRun(catalog.PBrowserData, why)
	}
	if s.facts.Home == "" {
		return notRun(catalog.PBrowserData, "home directory unknown")
	}
	profiles := browsers.FindProfiles(s.facts.Home, s.facts.OS)
	if len(profiles) == 0 {
		return notRun(catalog.PBrowserData, "no browser profile found")
	}
	type agg struct {
		total, expired int
		cache          int64
		broken         []string
	}
	per := map[string]*agg{}
	var order []string
	now := s.env.now()
	for _, p := range profiles {
		if ctx.Err() != nil {
			break
		}
		a := per[p.Browser]
		if a == nil {
			a = &agg{}
			per[p.Browser] = a
			order = append(order, p.Browser)
		}
		if p.Cookies != "" {
			c, err := browsers.CountSiteCookies(p.Cookies, p.Engine, s.prof.CookieDomains, now)
			if err != nil {
				a.broken = append(a.broken, p.Cookies+": "+err.Error())
			}
			a.total += c.Total
			a.expired += c.Expired
		}
		if p.Cache != "" {
			a.cache += browsers.DirSize(p.Cache)
		}
	}
	var out []Observation
	dom := strings.Join(s.prof.CookieDomains, ", ")
	for _, name := range order {
		a := per[name]
		mb := float64(a.cache >> 20)
		co := Observation{Probe: catalog.PBrowserCache, Target: name, Status: OK, Value: mb, Detail: fmt.Sprintf("cache %.0f MB", mb)}
		if mb > catalog.LargeCacheMB {
			co.Status, co.Failure = Problem, catalog.FLargeCache
		}
		o := Observation{Probe: catalog.PBrowserData, Target: name, Status: OK, Value: float64(a.expired),
			Detail: fmt.Sprintf("%d %s cookies (%d expired)", a.total, dom, a.expired)}
		if a.expired > 0 {
			o.Status, o.Failure = Problem, catalog.FStaleData
		}
		if len(a.broken) > 0 {
			o.Status, o.Failure = Problem, catalog.FStaleData
			o.Detail += "; unreadable cookie store: " + strings.Join(a.broken, "; ")
		}
		out = append(out, o, co)
	}
	return out
}
