package lab

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/browsers"
)

// Perturbable are the keys a variant may move, each within a range where it
// is harmless to streaming: a scenario's verdict must not change when they
// move, unless the key is part of its fault.
var Perturbable = []string{
	"network.rtt_ms",         // 0–60 ms: any home line
	"network.jitter_ms",      // 0–6 ms: a steady line (round trips under 10 ms apart)
	"network.bandwidth_mbps", // 25–500 Mbps: above what 4K needs, with room
	"system.wifi_signal_dbm", // -40 to -70 dBm: above the weak band
	"system.uptime_hours",    // 1–300 hours: under two weeks
	"system.clock_offset_s",  // ±30 s: a clock off by seconds
	"system.os",              // linux, windows, macos
	"system.link",            // wifi (with a good signal) or ethernet, where the fault does not depend on it
	"system.browsers",        // current versions, a few current cookies, a modest cache
	"system.router_rtt_ms",   // 0–5 ms: a router one hop away
}

// Variant is one perturbed copy of a scenario.
type Variant struct {
	Index int
	// Changes are the keys moved, with their new values (as YAML would
	// write them).
	Changes  map[string]string
	Scenario *Scenario
}

// Describe is the variant's changes, sorted, in one line.
func (v Variant) Describe() string {
	keys := make([]string, 0, len(v.Changes))
	for k := range v.Changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + v.Changes[k]
	}
	return strings.Join(parts, ", ")
}

// FaultKeys are the keys that make up a scenario's fault: those its file
// names in `fault`, else every perturbable key whose value differs from the
// healthy default (and, for a fault that is about the link or the Wi-Fi,
// the link itself).
func (s *Scenario) FaultKeys() []string {
	if len(s.Fault) > 0 {
		return s.Fault
	}
	var out []string
	add := func(k string, differs bool) {
		if differs {
			out = append(out, k)
		}
	}
	n, sys := s.Network, s.System
	add("network.rtt_ms", n.RTTms != 0)
	add("network.jitter_ms", n.JitterMs != 0)
	add("network.bandwidth_mbps", n.BandwidthMbps != nil)
	add("system.wifi_signal_dbm", *sys.WiFiSignalDBM != -55 || sys.WiFiDegrades)
	add("system.uptime_hours", *sys.UptimeHours != 30)
	add("system.clock_offset_s", sys.ClockOffsetS != 0)
	add("system.os", sys.OS != "linux")
	add("system.browsers", len(sys.Browsers) > 0 || sys.BrowserRequests != "none")
	add("system.router_rtt_ms", sys.RouterRTTms != 0)
	// The link matters to a fault of the link, the radio or the router's
	// hop, and to one whose signal was set.
	add("system.link", sys.Link != "wifi" && sys.Link != "ethernet" || sys.WiFiDegrades || *sys.WiFiSignalDBM != -55 ||
		sys.RouterRTTms != 0 || sys.DHCP != "ok" || sys.Route != "ok" || slices.Contains([]string{"weak_wifi", "no_link"}, s.Expect.TopCause))
	return out
}

// VariantSeed is the random source of one variant: fixed by the run's
// seed, the scenario's file and the variant's index, so any one can be
// replayed alone.
func VariantSeed(seed uint64, file string, index int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", seed, file, index)
	return rand.New(rand.NewPCG(h.Sum64(), seed))
}

// Perturb makes variant index of s: every perturbable key that is not part
// of its fault is moved, with even odds, within its harmless range. The
// variant's world plays its random parts (lost connects, jitter) anew, as a
// different scenario name seeds them.
func Perturb(s *Scenario, seed uint64, index int) Variant {
	r := VariantSeed(seed, s.File, index)
	fault := s.FaultKeys()
	c := *s
	c.Network, c.System = s.Network, s.System
	c.System.Browsers = slices.Clone(s.System.Browsers)
	c.Name = fmt.Sprintf("%s#%d", s.Name, index)
	v := Variant{Index: index, Changes: map[string]string{}, Scenario: &c}
	move := func(key string) bool { return !slices.Contains(fault, key) && r.IntN(2) == 0 }
	uniform := func(lo, hi float64) float64 { return math.Round((lo+r.Float64()*(hi-lo))*10) / 10 }
	if move("network.rtt_ms") {
		c.Network.RTTms = uniform(0, 60)
		v.Changes["network.rtt_ms"] = fmt.Sprint(c.Network.RTTms)
	}
	if move("network.jitter_ms") {
		c.Network.JitterMs = uniform(0, 6)
		v.Changes["network.jitter_ms"] = fmt.Sprint(c.Network.JitterMs)
	}
	if move("network.bandwidth_mbps") {
		bw := math.Round(25 * math.Pow(20, r.Float64())) // 25 to 500, log-uniform
		c.Network.BandwidthMbps = &bw
		v.Changes["network.bandwidth_mbps"] = fmt.Sprint(bw)
	}
	if move("system.router_rtt_ms") {
		c.System.RouterRTTms = uniform(0, 5)
		v.Changes["system.router_rtt_ms"] = fmt.Sprint(c.System.RouterRTTms)
	}
	if move("system.uptime_hours") {
		u := uniform(1, 300)
		c.System.UptimeHours = &u
		v.Changes["system.uptime_hours"] = fmt.Sprint(u)
	}
	if move("system.clock_offset_s") {
		c.System.ClockOffsetS = uniform(-30, 30)
		v.Changes["system.clock_offset_s"] = fmt.Sprint(c.System.ClockOffsetS)
	}
	safari := slices.ContainsFunc(c.System.Browsers, func(b Browser) bool { return b.Name == "safari" })
	if move("system.os") && !safari {
		c.System.OS = []string{"linux", "windows", "macos"}[r.IntN(3)]
		v.Changes["system.os"] = c.System.OS
	}
	if move("system.link") {
		c.System.Link = []string{"wifi", "ethernet"}[r.IntN(2)]
		v.Changes["system.link"] = c.System.Link
	}
	if c.System.Link == "wifi" && move("system.wifi_signal_dbm") {
		dbm := uniform(-70, -40)
		c.System.WiFiSignalDBM = &dbm
		v.Changes["system.wifi_signal_dbm"] = fmt.Sprint(dbm)
	}
	if move("system.browsers") {
		b := currentBrowser(r, c.System.OS)
		c.System.Browsers = []Browser{b}
		v.Changes["system.browsers"] = fmt.Sprintf("[{name: %s, version: %q, site_cookies: %d, cache_mb: %d}]", b.Name, b.Version, b.SiteCookies, b.CacheMB)
	}
	return v
}

// currentBrowser is a browser at its current major version (or one
// behind), with a few current cookies for the service and a modest cache.
func currentBrowser(r *rand.Rand, os string) Browser {
	names := []string{"chrome", "firefox", "edge"}
	if os == "macos" {
		names = append(names, "safari")
	}
	name := names[r.IntN(len(names))]
	cur := browsers.CurrentMajor[name]
	return Browser{Name: name, Version: fmt.Sprint(cur - r.IntN(2)), SiteCookies: r.IntN(30), CacheMB: int64(r.IntN(800))}
}
