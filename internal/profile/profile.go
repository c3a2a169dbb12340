// Package profile describes what a streaming service needs from the network:
// the hosts its player talks to, the sites used as controls (to tell "the
// internet is down" from "the service is down"), the captive-portal check,
// the cookie domains and the bandwidth each quality needs.
package profile

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Host is one host a service needs, and why.
type Host struct {
	Name string `json:"name"`
	Path string `json:"path"` // what the HTTPS probe requests
	Why  string `json:"why"`
}

// Profile is one service.
type Profile struct {
	Name          string   `json:"name"`
	Title         string   `json:"title"`
	Hosts         []Host   `json:"hosts"`
	CookieDomains []string `json:"cookie_domains"`
	Controls      []string `json:"controls"`   // HTTPS URLs of unrelated, highly available sites
	PortalURL     string   `json:"portal_url"` // plain-HTTP URL that answers 204 when no portal intercepts
	// Mbps needed per quality.
	SDMbps, HDMbps, UHDMbps float64
	// BlockMarkers are phrases of the service's own "proxy or unblocker" page.
	BlockMarkers []string `json:"block_markers"`
}

// Controls and the portal check are the same for every service: large sites
// on different networks (Google, Cloudflare, Wikimedia), and the plain-HTTP
// 204 endpoint Android uses for its own captive-portal detection.
var (
	defaultControls = []string{"https://www.google.com/", "https://www.cloudflare.com/", "https://www.wikipedia.org/"}
	defaultPortal   = "http://connectivitycheck.gstatic.com/generate_204"
)

// Netflix is the built-in profile. The web player needs:
//   - www.netflix.com: the web app, sign-in, the API calls that list titles
//     and the MSL licence exchange that every playback starts with; NSEZ-503
//     is shown when these calls fail.
//   - assets.nflxext.com: the player's scripts and style sheets; without them
//     the page loads but playback never starts.
//   - help.netflix.com: the help centre, where Netflix publishes whether it is
//     down; a useful second Netflix-run host for telling a site-wide outage
//     from one broken front end.
//
// Video itself comes from Open Connect appliances whose names are handed out
// per session, so they are measured by the speed test, not probed here.
// Thresholds are Netflix's own: 3 Mbps SD, 5 Mbps HD, 15 Mbps 4K.
func Netflix() Profile {
	return Profile{
		Name:  "netflix",
		Title: "Netflix",
		Hosts: []Host{
			{Name: "www.netflix.com", Path: "/", Why: "web app, sign-in, title lists and the licence exchange"},
			{Name: "assets.nflxext.com", Path: "/", Why: "the player's scripts and style sheets"},
			{Name: "help.netflix.com", Path: "/", Why: "help centre and outage notices; a second Netflix-run front end"},
		},
		CookieDomains: []string{"netflix.com"},
		Controls:      defaultControls,
		PortalURL:     defaultPortal,
		SDMbps:        3, HDMbps: 5, UHDMbps: 15,
		BlockMarkers: []string{
			"unblocker or proxy",
			"m7111-1331-5059",
			"f7111-5059",
			"m7111-5059",
		},
	}
}

var builtin = map[string]func() Profile{"netflix": Netflix}

// Names lists the built-in services.
func Names() []string {
	var out []string
	for k := range builtin {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Get returns a built-in profile by name.
func Get(name string) (Profile, error) {
	f, ok := builtin[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Profile{}, fmt.Errorf("unknown service %q (known: %s; or use --url URL for any site)", name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// FromURL builds a generic profile for any HTTPS site.
func FromURL(raw string) (Profile, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Profile{}, fmt.Errorf("invalid URL %q: give a full address such as https://www.example.com/", raw)
	}
	host := u.Hostname()
	if strings.ContainsAny(host, " _") || (net.ParseIP(host) == nil && !strings.Contains(host, ".")) {
		return Profile{}, fmt.Errorf("invalid URL %q: %q is not a public host name", raw, host)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	dom := host
	if net.ParseIP(host) == nil {
		if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
			dom = d
		}
	}
	return Profile{
		Name:          host,
		Title:         host,
		Hosts:         []Host{{Name: host, Path: path, Why: "the address given with --url"}},
		CookieDomains: []string{dom},
		Controls:      defaultControls,
		PortalURL:     defaultPortal,
		SDMbps:        3, HDMbps: 5, UHDMbps: 15,
	}, nil
}

// HostOf returns the host name of a URL ("https://www.google.com/" ->
// "www.google.com"), or "" when it has none.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
