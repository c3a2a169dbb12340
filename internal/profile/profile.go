// Package profile describes what a streaming service needs from the network:
// the hosts its player talks to, the sites used as controls (to tell "the
// internet is down" from "the service is down"), the captive-portal check,
// the cookie domains and the bandwidth each quality needs.
package profile

import (
	_ "embed"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/streamdoctor/streamdoctor/internal/yamlx"

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
	// BlockAnswers are statuses that are the service's refusal.
	BlockAnswers []BlockAnswer `json:"block_answers,omitempty"`
	// VideoDomains are the content networks the video comes from.
	VideoDomains []string `json:"video_domains,omitempty"`
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

// BlockAnswer is an answer that is itself the service's refusal: this
// status from this host (Max's API answers 403 to addresses it bans).
type BlockAnswer struct {
	Host   string `json:"host"`
	Status int    `json:"status"`
}

// Netflix is the built-in profile of Netflix (services.yaml).
func Netflix() Profile {
	p, err := Get("netflix")
	if err != nil {
		panic(err) // services.yaml is embedded and checked by the tests
	}
	return p
}

//go:embed services.yaml
var servicesSrc []byte

type serviceFile struct {
	Version  int `yaml:"version"`
	Services []struct {
		ID    string `yaml:"id"`
		Title string `yaml:"title"`
		Hosts []struct {
			Name   string `yaml:"name"`
			Path   string `yaml:"path"`
			Why    string `yaml:"why"`
			Source string `yaml:"source"`
		} `yaml:"hosts"`
		VideoDomains []struct {
			Domain string `yaml:"domain"`
			Why    string `yaml:"why"`
			Source string `yaml:"source"`
		} `yaml:"video_domains"`
		CookieDomains []struct {
			Domain string `yaml:"domain"`
			Source string `yaml:"source"`
		} `yaml:"cookie_domains"`
		BlockMarkers []struct {
			Marker string `yaml:"marker"`
			Source string `yaml:"source"`
		} `yaml:"block_markers"`
		BlockAnswers []struct {
			Host   string `yaml:"host"`
			Status int    `yaml:"status"`
			Source string `yaml:"source"`
		} `yaml:"block_answers"`
		Mbps struct {
			SD, HD, UHD float64
			Source      string `yaml:"source"`
		} `yaml:"mbps"`
	} `yaml:"services"`
}

var (
	loadOnce sync.Once
	builtin  map[string]Profile
	order    []string
	loadErr  error
)

// parseServices reads services.yaml: every fact with its source, every
// host a valid name.
func parseServices(src []byte) (map[string]Profile, []string, error) {
	var f serviceFile
	d, err := yamlx.Decode("services.yaml", src, &f)
	if err != nil {
		return nil, nil, err
	}
	if f.Version != 1 {
		return nil, nil, d.ErrAt(fmt.Sprintf("version must be 1, got %d", f.Version), "version")
	}
	out := map[string]Profile{}
	var ids []string
	for i, sv := range f.Services {
		switch {
		case sv.ID == "" || sv.ID != strings.ToLower(sv.ID):
			return nil, nil, d.ErrAt("a service needs a lower-case id", "services", i, "id")
		case out[sv.ID].Name != "":
			return nil, nil, d.ErrAt(fmt.Sprintf("service %q defined twice", sv.ID), "services", i, "id")
		case sv.Title == "" || len(sv.Hosts) == 0 || len(sv.CookieDomains) == 0:
			return nil, nil, d.ErrAt("a service needs a title, hosts and cookie domains", "services", i)
		case sv.Mbps.SD <= 0 || sv.Mbps.HD < sv.Mbps.SD || sv.Mbps.UHD < sv.Mbps.HD || sv.Mbps.Source == "":
			return nil, nil, d.ErrAt("mbps needs sd <= hd <= uhd, above 0, and a source", "services", i, "mbps")
		}
		p := Profile{Name: sv.ID, Title: sv.Title, Controls: defaultControls, PortalURL: defaultPortal,
			SDMbps: sv.Mbps.SD, HDMbps: sv.Mbps.HD, UHDMbps: sv.Mbps.UHD}
		for j, h := range sv.Hosts {
			if err := ValidHost(h.Name); err != nil || h.Source == "" || h.Why == "" || !strings.HasPrefix(h.Path, "/") {
				return nil, nil, d.ErrAt("a host needs a valid name, a path from /, why and a source", "services", i, "hosts", j)
			}
			p.Hosts = append(p.Hosts, Host{Name: h.Name, Path: h.Path, Why: h.Why})
		}
		for j, v := range sv.VideoDomains {
			if ValidHost(v.Domain) != nil || v.Source == "" {
				return nil, nil, d.ErrAt("a video domain needs a valid name and a source", "services", i, "video_domains", j)
			}
			p.VideoDomains = append(p.VideoDomains, v.Domain)
		}
		if len(p.VideoDomains) > 0 {
			p.VideoDomain = p.VideoDomains[0]
		}
		for j, c := range sv.CookieDomains {
			if ValidHost(c.Domain) != nil || c.Source == "" {
				return nil, nil, d.ErrAt("a cookie domain needs a valid name and a source", "services", i, "cookie_domains", j)
			}
			p.CookieDomains = append(p.CookieDomains, c.Domain)
		}
		for j, m := range sv.BlockMarkers {
			if len(strings.TrimSpace(m.Marker)) < 6 || m.Source == "" {
				return nil, nil, d.ErrAt("a block marker needs a phrase of 6 characters or more (shorter ones match ordinary pages) and a source", "services", i, "block_markers", j)
			}
			p.BlockMarkers = append(p.BlockMarkers, strings.ToLower(m.Marker))
		}
		for j, b := range sv.BlockAnswers {
			if ValidHost(b.Host) != nil || b.Status < 400 || b.Status > 599 || b.Source == "" {
				return nil, nil, d.ErrAt("a block answer needs a host, a 4xx or 5xx status and a source", "services", i, "block_answers", j)
			}
			p.BlockAnswers = append(p.BlockAnswers, BlockAnswer{Host: b.Host, Status: b.Status})
		}
		out[sv.ID] = p
		ids = append(ids, sv.ID)
	}
	return out, ids, nil
}

func load() {
	builtin, order, loadErr = parseServices(servicesSrc)
}

// Peers lists the built-in services other than name, in the file's order.
func Peers(name string) []Profile {
	loadOnce.Do(load)
	var out []Profile
	for _, id := range order {
		if id != name {
			out = append(out, clone(builtin[id]))
		}
	}
	return out
}

// clone copies a profile's slices, so no caller changes the built-in one.
func clone(p Profile) Profile {
	p.Hosts = slices.Clone(p.Hosts)
	p.CookieDomains = slices.Clone(p.CookieDomains)
	p.Controls = slices.Clone(p.Controls)
	p.BlockMarkers = slices.Clone(p.BlockMarkers)
	p.BlockAnswers = slices.Clone(p.BlockAnswers)
	p.VideoDomains = slices.Clone(p.VideoDomains)
	return p
}

// Names lists the built-in services.
func Names() []string {
	loadOnce.Do(load)
	return slices.Sorted(maps.Keys(builtin))
}

// Get returns a built-in profile by name.
func Get(name string) (Profile, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return Profile{}, loadErr
	}
	p, ok := builtin[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Profile{}, fmt.Errorf("unknown service %q (known: %s; or use --url URL for any site)", name, strings.Join(Names(), ", "))
	}
	return clone(p), nil
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
