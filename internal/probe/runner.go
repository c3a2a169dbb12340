package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/speed"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// Options tune one run.
type Options struct {
	// Timeout bounds the whole run (default 5 s).
	Timeout  time.Duration
	Timeouts Timeouts
	// Progress, if set, is called as each probe finishes (from any goroutine).
	Progress func(done, total int, name string)
	// OnResult, if set, receives each probe's observations as it finishes
	// (from any goroutine), for faces that show the layers turning live.
	OnResult func([]Observation)
	// Speed configures the throughput probe.
	Speed SpeedOptions
}

// SpeedOptions configure the throughput probe.
type SpeedOptions struct {
	// Deep runs the full test (download and upload, up to 10 s) instead of
	// the quick sample (download, about 1.5 s).
	Deep bool
	// Server is a self-hosted speed server's URL; empty uses the service's
	// own servers where the profile names them (Netflix: fast.com).
	Server string
	// OnResult receives the measurement and the notes about backends that
	// could not be used.
	OnResult func(speed.Result, []string)
}

// state is what the probes of one run share.
type state struct {
	ctx      context.Context
	env      *Env
	prof     profile.Profile
	facts    *sysinfo.Facts
	timeouts Timeouts

	mu      sync.Mutex
	lookups map[lookupKey]*lookupResult
	speed   SpeedOptions

	// sampled is closed when the latency probe has taken its samples: the
	// throughput sample waits for it (up to QuietWait), so that the loss it
	// measures is the line's, not the check's own download overflowing a
	// slow line's queue.
	sampled     chan struct{}
	sampledOnce sync.Once

	// path is the round trip beyond the router, as learnt (budget.go).
	path *pathRTT
}

// QuietWait bounds how long the throughput sample waits for the latency
// samples to be taken on a quiet line.
const QuietWait = time.Second

func (s *state) latencySampled() { s.sampledOnce.Do(func() { close(s.sampled) }) }

type probeFunc func(ctx context.Context, s *state) []Observation

type probeDef struct {
	name    string
	timeout func(Timeouts) time.Duration
	run     probeFunc
}

func probes() []probeDef {
	dnsT := func(t Timeouts) time.Duration { return t.DNS + 200*time.Millisecond }
	conn := func(t Timeouts) time.Duration { return t.Connect + 200*time.Millisecond }
	tlsT := func(t Timeouts) time.Duration { return t.TLS + 200*time.Millisecond }
	httpT := func(t Timeouts) time.Duration { return t.HTTP + 200*time.Millisecond }
	quick := func(Timeouts) time.Duration { return 500 * time.Millisecond }
	return []probeDef{
		{catalog.PLink, quick, probeLink},
		{catalog.PWiFi, quick, probeWiFi},
		{catalog.PConnectivity, quick, probeConnectivity},
		{catalog.PProxy, quick, probeProxy},
		{catalog.PVPN, quick, probeVPN},
		{catalog.PUptime, quick, probeUptime},
		{catalog.PBrowserVer, quick, probeBrowserVersion},
		{catalog.PBrowserData, func(Timeouts) time.Duration { return 3 * time.Second }, probeBrowserData},
		{catalog.PGateway, func(t Timeouts) time.Duration { return 1500 * time.Millisecond }, probeGateway},
		{catalog.PDNSSystem, dnsT, probeDNS(catalog.PDNSSystem, "system")},
		{catalog.PDNSDoH, dnsT, probeDNS(catalog.PDNSDoH, "doh")},
		{catalog.PDNSPublic, dnsT, probeDNS(catalog.PDNSPublic, "public")},
		{catalog.PDNSHijack, dnsT, probeHijack},
		{catalog.PTrusted, httpT, probeTrusted},
		{catalog.PTCPService, conn, probeTCP(catalog.PTCPService, "tcp4")},
		{catalog.PTCP6Service, conn, probeTCP(catalog.PTCP6Service, "tcp6")},
		{catalog.PTLSService, tlsT, probeTLS},
		{catalog.PHTTPSService, httpT, probeHTTPSService},
		{catalog.PHTTPSProxy, httpT, probeHTTPSProxy},
		{catalog.PHTTPSControl, httpT, probeControls},
		{catalog.PHTTPSPeers, httpT, probePeers},
		{catalog.PPortal, httpT, probePortal},
		{catalog.PClock, httpT, probeClock},
		{catalog.PLatency, func(t Timeouts) time.Duration { return t.Latency }, probeLatency},
		{catalog.PThroughput, throughputTimeout, probeThroughput},
		{catalog.PCrowd, func(Timeouts) time.Duration { return CrowdTimeout }, probeCrowd},
	}
}

// Planned lists the probes Run starts, by name: what a checklist waits for.
func Planned() []string {
	var out []string
	for _, d := range probes() {
		out = append(out, d.name)
	}
	return out
}

// Run reads the machine's facts, then runs every probe concurrently. It
// returns when all probes are done or the deadline has passed, whichever is
// first; a probe still running then is reported as not run.
func Run(ctx context.Context, env *Env, prof profile.Profile, opt Options) ([]Observation, *sysinfo.Facts) {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.Timeouts == (Timeouts{}) {
		opt.Timeouts = DefaultTimeouts
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	if _, ok := env.Dialer.(guardedDialer); !ok && env.Dialer != nil {
		guarded := *env
		guarded.Dialer = guardedDialer{env.Dialer}
		env = &guarded
	}

	facts, err := readFacts(ctx, env.Facts)
	if facts == nil {
		facts = &sysinfo.Facts{Proxy: sysinfo.Proxy{Mode: "none"}}
	}
	if err != nil && facts.NotRun == nil {
		why := "could not read OS facts: " + err.Error()
		facts.NotRun = map[string]string{}
		for _, k := range []string{sysinfo.FactInterfaces, sysinfo.FactRoute, sysinfo.FactDNS, sysinfo.FactProxy, sysinfo.FactWiFi, sysinfo.FactUptime, sysinfo.FactBrowsers} {
			facts.NotRun[k] = why
		}
	}
	s := &state{ctx: ctx, env: env, prof: prof, facts: facts, timeouts: opt.Timeouts, lookups: map[lookupKey]*lookupResult{}, speed: opt.Speed, sampled: make(chan struct{}), path: newPathRTT()}

	defs := probes()
	if opt.Speed.Deep {
		for i := range defs {
			if defs[i].name == catalog.PThroughput {
				defs[i].timeout = func(Timeouts) time.Duration { return DeepTimeout }
			}
		}
	}
	results := make([][]Observation, len(defs))
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	done := 0
	for i, d := range defs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, s, d)
			if opt.OnResult != nil {
				opt.OnResult(results[i])
			}
			if opt.Progress != nil {
				doneMu.Lock()
				done++
				n := done
				doneMu.Unlock()
				opt.Progress(n, len(defs), d.name)
			}
		}()
	}
	wg.Wait()
	var out []Observation
	for _, r := range results {
		out = append(out, r...)
	}
	return append(out, s.resolverSummary()), facts
}

// resolverSummary sums up every query the system resolver was asked during
// the run (the service's names, the control sites', the portal check's, the
// made-up name): how many answered, how many needed a resend, the slowest.
// One struggling resolver shows across all of them, not in three names.
func (s *state) resolverSummary() Observation {
	o := Observation{Probe: catalog.PDNSResolver, Target: "system resolver"}
	s.mu.Lock()
	defer s.mu.Unlock()
	answered, resent, slowest := 0, 0, time.Duration(0)
	for k, r := range s.lookups {
		if k.via != "system" {
			continue
		}
		select {
		case <-r.done:
		default:
			continue // still waiting: counted by the probe that asked
		}
		if r.err != nil {
			var de *DNSError
			if !errors.As(r.err, &de) {
				continue // no answer at all: the DNS probes report it
			}
		}
		answered++
		resent += r.ans.Resent
		slowest = max(slowest, r.ans.RTT)
	}
	if answered == 0 {
		o.Status, o.Detail = NotRun, "no query was answered"
		return o
	}
	o.Status, o.Value, o.Retries = OK, ms(slowest), resent
	o.Detail = fmt.Sprintf("%d queries answered, %d resent, slowest %.0f ms", answered, resent, ms(slowest))
	return o
}

// readFacts reads the OS facts with the same guarantees as a probe: at most
// two seconds, and a panic becomes an error.
func readFacts(ctx context.Context, src sysinfo.Source) (*sysinfo.Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	type res struct {
		f   *sysinfo.Facts
		err error
	}
	ch := make(chan res, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- res{nil, fmt.Errorf("reading OS facts crashed: %v", r)}
			}
		}()
		f, err := src.Facts(ctx)
		ch <- res{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("reading OS facts took too long")
	}
}

// runOne runs a probe under its deadline. A probe that panics or overruns its
// deadline becomes a "not run" observation; the run never waits on it.
// guardedDialer turns a panic inside a Dialer (which may run on a goroutine
// of net/http's) into an error, recorded as the calling probe's crash.
type guardedDialer struct{ d Dialer }

func (g guardedDialer) DialContext(ctx context.Context, network, addr string) (c net.Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			if box, _ := ctx.Value(crashKey{}).(*crashBox); box != nil {
				box.mu.Lock()
				if box.v == nil {
					box.v = fmt.Sprintf("%v %s", r, firstLines(string(debug.Stack()), 6))
				}
				box.mu.Unlock()
			}
			c, err = nil, fmt.Errorf("the dialer crashed: %v", r)
		}
	}()
	return g.d.DialContext(ctx, network, addr)
}

// crashKey carries a probe's crash box to the goroutines it starts.
type crashKey struct{}

type crashBox struct {
	mu sync.Mutex
	v  any
}

// goSafe runs fn in a goroutine of the probe whose context is ctx: a panic
// there is recorded as that probe's crash instead of ending the process.
func goSafe(ctx context.Context, fn func()) {
	box, _ := ctx.Value(crashKey{}).(*crashBox)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				if box == nil {
					return
				}
				box.mu.Lock()
				if box.v == nil {
					box.v = fmt.Sprintf("%v %s", r, firstLines(string(debug.Stack()), 6))
				}
				box.mu.Unlock()
			}
		}()
		fn()
	}()
}

func runOne(parent context.Context, s *state, d probeDef) []Observation {
	box := &crashBox{}
	ctx, cancel := context.WithTimeout(context.WithValue(parent, crashKey{}, box), d.timeout(s.timeouts))
	defer cancel()
	start := time.Now()
	ch := make(chan []Observation, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- []Observation{{Probe: d.name, Status: NotRun, Failure: catalog.FPanic,
					Detail: fmt.Sprintf("probe crashed: %v", r) + " " + firstLines(string(debug.Stack()), 6)}}
			}
		}()
		ch <- d.run(ctx, s)
	}()
	var obs []Observation
	select {
	case obs = <-ch:
	case <-ctx.Done():
		// Give a well-behaved probe a moment to report its own timeout.
		select {
		case obs = <-ch:
		case <-time.After(150 * time.Millisecond):
			obs = []Observation{{Probe: d.name, Status: NotRun, Failure: catalog.FTimeout, Detail: "did not finish before its deadline"}}
		}
	}
	box.mu.Lock()
	crashed := box.v
	box.mu.Unlock()
	if crashed != nil {
		obs = []Observation{{Probe: d.name, Status: NotRun, Failure: catalog.FPanic, Detail: fmt.Sprintf("probe crashed: %v", crashed)}}
	}
	for i := range obs {
		if obs[i].Probe == "" {
			obs[i].Probe = d.name
		}
		if obs[i].Duration == 0 {
			obs[i].Duration = time.Since(start)
		}
	}
	return obs
}

func firstLines(s string, n int) string {
	lines := 0
	for i, c := range s {
		if c == '\n' {
			lines++
			if lines == n {
				return s[:i]
			}
		}
	}
	return s
}

// addrsFor returns the addresses of host for a family ("tcp4" or "tcp6"): the
// system resolver's if it answered, else the trusted resolvers', so that a
// broken local resolver does not hide whether the service itself is up.
func (s *state) addrsFor(ctx context.Context, host, family string, trustedFallback bool) ([]netip.Addr, string, error) {
	qt := dns.TypeA
	if family == "tcp6" {
		qt = dns.TypeAAAA
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, "literal", nil
	}
	ips, via, err := s.resolve(ctx, host, qt, trustedFallback)
	if err != nil {
		return nil, via, &ResolveError{Host: host, Err: err}
	}
	return ips, via, nil
}

func (s *state) resolve(ctx context.Context, host string, qt uint16, trustedFallback bool) ([]netip.Addr, string, error) {
	a, err := s.lookup(ctx, "system", host, qt)
	if err == nil && len(a.IPs) > 0 && ClassifyAnswer(a.IPs) == "" {
		return a.IPs, "system", nil
	}
	if !trustedFallback {
		// As a browser does: whatever the system resolver said, sinkholes included.
		if err == nil && len(a.IPs) == 0 {
			err = &DNSError{catalog.FNoAnswer}
		}
		if err != nil {
			return nil, "system", err
		}
		return a.IPs, "system", nil
	}
	// Ask both trusted resolvers at once; prefer DoH's answer.
	vias := []string{"doh", "public"}
	answers := make([]Answer, len(vias))
	errs := make([]error, len(vias))
	var wg sync.WaitGroup
	for i, via := range vias {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			answers[i], errs[i] = s.lookup(ctx, via, host, qt)
		})
	}
	wg.Wait()
	for i, via := range vias {
		if errs[i] == nil && len(answers[i].IPs) > 0 {
			return answers[i].IPs, via, nil
		}
	}
	if err == nil {
		err = &DNSError{catalog.FNoAnswer}
	}
	return nil, "", err
}

// dialHost connects to host:port over family, trying up to two addresses.
func (s *state) dialHost(ctx context.Context, family, host string, port int, trustedFallback bool) (net.Conn, string, error) {
	ips, via, err := s.addrsFor(ctx, host, family, trustedFallback)
	if err != nil {
		return nil, via, err
	}
	if len(ips) > 2 {
		ips = ips[:2]
	}
	// The addresses are raced (the second after a head start of a third of
	// the fixed budget, or as soon as the first fails, so one dead address
	// does not cost the whole budget);
	// each connect gets the connect budget (dialBudget), however long the
	// probe may run.
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, len(ips))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	firstFailed := make(chan struct{}) // the second need not wait out the head start
	for i, ip := range ips {
		goSafe(ctx, func() {
			if i > 0 {
				select {
				case <-time.After(s.timeouts.Connect / 3):
				case <-firstFailed:
				case <-rctx.Done():
					ch <- res{nil, rctx.Err()}
					return
				}
			}
			start := time.Now()
			c, err := s.dialBudget(rctx, family, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
			if err == nil {
				wall := time.Since(start)
				s.path.saw(handshakeRTT(c, wall), wall)
			} else if i == 0 {
				close(firstFailed)
			}
			ch <- res{c, err}
		})
	}
	var lastErr error
	for got := 1; got <= len(ips); got++ {
		r := <-ch
		if r.err == nil {
			cancel() // the other attempt is not needed; it is closed if it connects anyway
			go func(n int) {
				for range n {
					if r := <-ch; r.err == nil {
						r.c.Close()
					}
				}
			}(len(ips) - got)
			return r.c, via, nil
		}
		if lastErr == nil || !errors.Is(r.err, context.Canceled) {
			lastErr = r.err
		}
	}
	return nil, via, lastErr
}

// handshakeRTT is a connection's own round trip where it knows it (see
// Dialer), else the time the connect took.
func handshakeRTT(c net.Conn, wall time.Duration) time.Duration {
	if h, ok := c.(handshakeTimer); ok {
		if d, known := h.HandshakeRTT(); known {
			return min(d, wall)
		}
	}
	return wall
}

func (s *state) serviceHosts() []string {
	var out []string
	for _, h := range s.prof.Hosts {
		out = append(out, h.Name)
	}
	return out
}

// parallel runs fn for each item and returns the observations in item order.
func parallel[T any](ctx context.Context, items []T, fn func(T) Observation) []Observation {
	out := make([]Observation, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		goSafe(ctx, func() {
			defer wg.Done()
			out[i] = fn(it)
		})
	}
	wg.Wait()
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
