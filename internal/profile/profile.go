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
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Host is one host a service needs, and why.
type Host struct {
	Name string `json:"name"`
	Path string `json:"path"` // what the HTTPS probe requests
	Why  string `json:"why"`
	// Scheme is "https" (the default when empty) or "http"; Port is 0 for
	// the scheme's own port.
	Scheme string `json:"scheme,omitempty"`
	Port   int    `json:"port,omitempty"`
}

// ServicePort is the port the host is reached on.
func (h Host) ServicePort() int {
	switch {
	case h.Port != 0:
		return h.Port
	case h.Scheme == "http":
		return 80
	}
	return 443
}

// Secure reports whether the host is reached over TLS.
func (h Host) Secure() bool { return h.Scheme != "http" }

// Origin is scheme://host[:port], the port shown only when it is not the
// scheme's own.
func (h Host) Origin() string {
	scheme := "https"
	if !h.Secure() {
		scheme = "http"
	}
	hp := h.Name
	if strings.Contains(hp, ":") {
		hp = "[" + hp + "]"
	}
	if h.Port != 0 && !(h.Port == 443 && h.Secure()) && !(h.Port == 80 && !h.Secure()) {
		hp = net.JoinHostPort(h.Name, strconv.Itoa(h.Port))
	}
	return scheme + "://" + hp
}

// URL is what the service probe requests.
func (h Host) URL() string { return h.Origin() + h.Path }

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
	// VideoDomain is the domain of the service's video servers (empty: not
	// known); the web page times the one the speed sample used from inside
	// the browser.
	VideoDomain string `json:"video_domain,omitempty"`
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
		VideoDomain: "nflxvideo.net", // Open Connect appliances: *.oca.nflxvideo.net
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

// FromURL builds a generic profile for any site, keeping the scheme and
// the port it names; everything wrong with the address is one line saying
// what would be right.
func FromURL(raw string) (Profile, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Profile{}, fmt.Errorf("invalid URL %q: give a full address such as https://www.example.com/", raw)
	}
	if u.User != nil {
		return Profile{}, fmt.Errorf("invalid URL %q: leave out the user name and password", StripUser(raw))
	}
	host := u.Hostname()
	if err := ValidHost(host); err != nil {
		return Profile{}, fmt.Errorf("invalid URL %q: %v", raw, err)
	}
	port := 0
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Profile{}, fmt.Errorf("invalid URL %q: port %s is not 1-65535", raw, p)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Profile{}, fmt.Errorf("invalid URL %q: the port after ':' is missing", raw)
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
		Hosts:         []Host{{Name: host, Path: path, Why: "the address given with --url", Scheme: u.Scheme, Port: port}},
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

// ValidHost checks a host name as DNS allows it (labels of 1 to 63
// letters, digits or hyphens, not starting or ending with a hyphen; at most
// 253 characters; a dot in it), or an IP address.
func ValidHost(host string) error {
	if net.ParseIP(host) != nil {
		return nil
	}
	if host == "" || len(host) > 253 {
		return fmt.Errorf("a host name has 1 to 253 characters, this one %d", len(host))
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a public host name (it has no dot)", host)
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return fmt.Errorf("%q is not a host name: each part between dots has 1 to 63 characters", host)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a host name: a part cannot start or end with '-'", host)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not a public host name: %q is not allowed in it", host, r)
			}
		}
	}
	return nil
}

// StripUser removes user:password@ from an address, for messages.
func StripUser(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return raw
}
