package probe

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// BrowserTimeout is how long the page waits for each of its requests.
const BrowserTimeout = 4 * time.Second

// BrowserResult is one request the browser made, as the page reports it.
// A no-cors request resolves for any HTTP answer (its status is opaque), so
// OK means "an answer came back", which is what reaching a host means here.
type BrowserResult struct {
	URL   string  `json:"url"`
	OK    bool    `json:"ok"`
	MS    float64 `json:"ms"`
	Error string  `json:"error,omitempty"` // "timeout" or "network"
}

// BrowserURLs are the small public resources the page requests: each of
// the service's hosts' favicon (a few hundred bytes, cached by no one since
// the page asks with cache: no-store).
func BrowserURLs(p profile.Profile) []string {
	var out []string
	for _, h := range p.Hosts {
		out = append(out, h.Origin()+"/favicon.ico")
	}
	return out
}

// VideoURL is the request the page makes to the video server the speed
// sample used (an Open Connect appliance for Netflix): its root, which any
// appliance answers. server is the throughput observation's target: the
// host, perhaps followed by its location ("host (Lisbon, PT)").
func VideoURL(server string) string {
	f := strings.Fields(server)
	if len(f) == 0 || profile.ValidHost(f[0]) != nil {
		return ""
	}
	return "https://" + f[0] + "/"
}

// CollectBrowser gathers want results from results, or what has come when
// ctx ends (requests still out then are left out), as observations.
func CollectBrowser(ctx context.Context, results <-chan BrowserResult, want int) []Observation {
	var rs []BrowserResult
	for len(rs) < want {
		select {
		case r := <-results:
			rs = append(rs, r)
		case <-ctx.Done():
			return BrowserObservations(rs)
		}
	}
	return BrowserObservations(rs)
}

// BrowserObservations turns the page's results into observations.
func BrowserObservations(rs []BrowserResult) []Observation {
	var out []Observation
	for _, r := range rs {
		o := Observation{Probe: catalog.PBrowser, Target: r.URL, Value: r.MS, Status: OK}
		host := r.URL
		if u, err := url.Parse(r.URL); err == nil {
			host = u.Host
		}
		switch {
		case r.OK:
			o.Detail = fmt.Sprintf("the browser reached %s in %.0f ms", host, r.MS)
		case r.Error == "timeout":
			o.Status, o.Failure = Problem, catalog.FBrowserTimeout
			o.Detail = fmt.Sprintf("the browser got no answer from %s in %.0f ms", host, r.MS)
		default:
			o.Status, o.Failure = Problem, catalog.FBrowserBlocked
			o.Detail = fmt.Sprintf("the browser's request to %s failed after %.0f ms without an answer", host, r.MS)
		}
		out = append(out, o)
	}
	return out
}
