// Package netmap is a Dialer for a described world: rules map the world's
// addresses to local ones, or fail the way the kernel does where the world
// has no route (network unreachable, host unreachable, refused, silence),
// and a connect can be delayed or lose its SYNs. The world is plain data, so
// it can be written to a file and loaded by another process: that is how the
// fault lab points the real streamdoctor binary at its servers
// (`streamdoctor check --env-file`). Nothing here knows about scenarios.
package netmap

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Actions a rule can take.
const (
	Route           = "route"            // connect to To instead
	Refuse          = "refuse"           // ECONNREFUSED
	NetUnreachable  = "net_unreachable"  // ENETUNREACH at once
	HostUnreachable = "host_unreachable" // EHOSTUNREACH after DelayMS (no ARP answer); on Route, DelayMS is a server slow to accept
	Blackhole       = "blackhole"        // no answer until the caller gives up
)

// Rule maps matching destinations to an action. Match is one of
// "ip:port/net", "ip/net", "ip", "*:port/net", "*/4", "*/6" or "*"; net is
// tcp or udp.
type Rule struct {
	Match   string `json:"match"`
	Action  string `json:"action"`
	To      string `json:"to,omitempty"`
	DelayMS int    `json:"delay_ms,omitempty"`
	// RateMbps caps what all connections through this rule carry together
	// (a provider throttling one destination).
	RateMbps float64 `json:"rate_mbps,omitempty"`
}

// World is the whole description.
type World struct {
	Rules []Rule `json:"rules"`
	// Local addresses (the router, its resolver) are one hop away: no loss,
	// and LocalRTTMS instead of the path's round trip.
	Local      []string `json:"local,omitempty"`
	LocalRTTMS float64  `json:"local_rtt_ms,omitempty"`
	// RTTMS and JitterMS delay each connect by a round trip ± jitter.
	RTTMS    float64 `json:"rtt_ms,omitempty"`
	JitterMS float64 `json:"jitter_ms,omitempty"`
	// LossRate is the chance a SYN is lost; the kernel retransmits after 1 s
	// and 2 s, then the connect waits for the caller's deadline.
	LossRate float64 `json:"loss_rate,omitempty"`
	Seed     uint64  `json:"seed,omitempty"`
	// BandwidthMbps caps the line: all TCP connections to non-local
	// addresses share it, in each direction, as they share an access link.
	BandwidthMbps float64 `json:"bandwidth_mbps,omitempty"`
	// PacketLoss is the chance that any one packet to or from a non-local
	// address is lost: a connect loses its SYN or SYN-ACK (and waits for
	// the kernel's retransmission), a datagram vanishes, a stream stalls
	// for a round trip now and then (fast retransmit), and a TCP flow's
	// rate is held to what loss allows (Mathis et al.: MSS/RTT · 1.22/√p).
	PacketLoss float64 `json:"packet_loss,omitempty"`
}

// Dialer dials in a World.
type Dialer struct {
	W        World
	mu       sync.Mutex
	rnd      *rand.Rand
	local    map[string]bool
	once     sync.Once
	down, up *pacer
	rules    map[*Rule][2]*pacer
	conns    map[string]uint64 // connects made so far, per destination
}

// draws returns a source of uniform numbers for the n-th connect to key,
// fixed by the world's seed.
func (d *Dialer) draws(key string, n uint64) func() float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", d.W.Seed, key, n)
	r := rand.New(rand.NewPCG(h.Sum64(), d.W.Seed))
	return r.Float64
}

// New returns a Dialer for w.
func New(w World) *Dialer { return &Dialer{W: w} }

func (d *Dialer) init() {
	d.once.Do(func() {
		d.rnd = rand.New(rand.NewPCG(d.W.Seed, 7))
		d.local = map[string]bool{}
		for _, l := range d.W.Local {
			d.local[l] = true
		}
		if d.W.BandwidthMbps > 0 {
			d.down = &pacer{bytesPerSec: d.W.BandwidthMbps * 125000}
			d.up = &pacer{bytesPerSec: d.W.BandwidthMbps * 125000}
		}
	})
}

// Rule finds the rule this world applies to ip:port over base ("tcp" or
// "udp"), if any.
func (w World) Rule(ip netip.Addr, port, base string) (Rule, bool) {
	r := (&Dialer{W: w}).match(ip, port, base)
	if r == nil {
		return Rule{}, false
	}
	return *r, true
}

// match finds the first rule for ip:port over base ("tcp" or "udp").
func (d *Dialer) match(ip netip.Addr, port, base string) *Rule {
	fam := "/4"
	if ip.Is6() {
		fam = "/6"
	}
	keys := []string{
		net.JoinHostPort(ip.String(), port) + "/" + base,
		ip.String() + "/" + base,
		ip.String(),
		"*:" + port + "/" + base,
		"*" + fam,
		"*",
	}
	for i := range d.W.Rules {
		r := &d.W.Rules[i]
		for _, k := range keys {
			if r.Match == k {
				return r
			}
		}
	}
	return nil
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func opErr(network, addr string, err error) error {
	return &net.OpError{Op: "dial", Net: network, Addr: fakeAddr(addr), Err: err}
}

func errno(network, addr string, e syscall.Errno) error {
	return opErr(network, addr, os.NewSyscallError("connect", e))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// blackhole waits for the caller to give up, as a connect to a silent
// address does; it never waits more than 10 s.
func blackhole(ctx context.Context, network, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	<-ctx.Done()
	return opErr(network, addr, ctx.Err())
}

// DialContext implements probe.Dialer.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.init()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("netmap: %q is not an address (names are resolved before dialing)", host)
	}
	ip = ip.Unmap()
	base := strings.TrimRight(network, "46")
	r := d.match(ip, port, base)
	if r == nil {
		return nil, blackhole(ctx, network, addr)
	}
	switch r.Action {
	case NetUnreachable:
		return nil, errno(network, addr, syscall.ENETUNREACH)
	case HostUnreachable:
		if err := sleep(ctx, time.Duration(r.DelayMS)*time.Millisecond); err != nil {
			return nil, opErr(network, addr, err)
		}
		return nil, errno(network, addr, syscall.EHOSTUNREACH)
	}
	// wait is the handshake the world plays: the round trip, plus a second
	// (then two) for each SYN it lost.
	var wait time.Duration
	if !d.local[ip.String()] {
		// The fate of the n-th connect to a destination is drawn from
		// (seed, destination, n), not from a shared stream: which goroutine
		// dials first, on a busy machine or an idle one, does not change
		// what the world does.
		d.mu.Lock()
		if d.conns == nil {
			d.conns = map[string]uint64{}
		}
		key := addr + "/" + base
		n := d.conns[key]
		d.conns[key] = n + 1
		d.mu.Unlock()
		draw := d.draws(key, n)
		synLoss := d.synLoss()
		lost := draw() < synLoss
		for try := 0; lost && try < 2; try++ {
			wait += time.Second << try
			lost = draw() < synLoss
		}
		delay := d.W.RTTMS + (draw()*2-1)*d.W.JitterMS
		if lost {
			return nil, blackhole(ctx, network, addr)
		}
		wait += time.Duration(max(delay, 0) * float64(time.Millisecond))
		if r.Action == Route {
			// A server slow to accept (a full accept queue) answers the SYN late.
			wait += time.Duration(r.DelayMS) * time.Millisecond
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, opErr(network, addr, err)
		}
	}
	if d.local[ip.String()] && d.W.LocalRTTMS > 0 {
		wait = time.Duration(d.W.LocalRTTMS * float64(time.Millisecond))
		if err := sleep(ctx, wait); err != nil {
			return nil, opErr(network, addr, err)
		}
	}
	switch r.Action {
	case Route:
		var nd net.Dialer
		c, err := nd.DialContext(ctx, base, r.To)
		if err != nil {
			return c, err
		}
		if base != "tcp" {
			if uc, ok := c.(*net.UDPConn); ok && d.W.PacketLoss > 0 && !d.local[ip.String()] {
				return &lossyDatagrams{UDPConn: uc, d: d}, nil
			}
			return c, nil
		}
		if d.local[ip.String()] {
			if d.W.LocalRTTMS == 0 {
				return c, nil
			}
			return handshake{playedConn{c}, wait}, nil
		}
		return handshake{d.wrap(c, r), wait}, nil
	case Refuse:
		return nil, errno(network, addr, syscall.ECONNREFUSED)
	case Blackhole:
		return nil, blackhole(ctx, network, addr)
	}
	return nil, fmt.Errorf("netmap: unknown action %q", r.Action)
}

// Validate checks a World's rules.
func (w World) Validate() error {
	for i, r := range w.Rules {
		switch r.Action {
		case Route:
			if _, _, err := net.SplitHostPort(r.To); err != nil {
				return fmt.Errorf("rule %d (%s): bad target %q", i, r.Match, r.To)
			}
		case Refuse, NetUnreachable, HostUnreachable, Blackhole:
		default:
			return fmt.Errorf("rule %d (%s): unknown action %q", i, r.Match, r.Action)
		}
	}
	if w.LossRate < 0 || w.LossRate > 1 {
		return fmt.Errorf("loss_rate %v outside 0..1", w.LossRate)
	}
	if w.PacketLoss < 0 || w.PacketLoss > 1 {
		return fmt.Errorf("packet_loss %v outside 0..1", w.PacketLoss)
	}
	return nil
}

// playedConn is a connection whose path conditions the dialer played.
type playedConn struct{ net.Conn }

func (c playedConn) Close() error { return lingerClose(c.Conn) }

// lingerClose closes a connection as a host does on a network: it sends
// its FIN and reads what is still on the way until the other side closes
// too (at most lingerFor), instead of dropping it with a reset. The lab's
// latency relay (toxiproxy) stops forwarding a stream for good when a
// write to a closed socket fails, and keeps the chunks queued behind it
// forever: a speed test's abandoned 25 MB range left some 25 MB per
// world. Nothing reads from the connection after Close, so what a probe
// sees is unchanged.
func lingerClose(c net.Conn) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c.Close()
	}
	if err := tc.CloseWrite(); err != nil {
		return tc.Close()
	}
	go func() {
		_ = tc.SetReadDeadline(time.Now().Add(lingerFor))
		_, _ = io.Copy(io.Discard, tc)
		_ = tc.Close()
	}()
	return nil
}

// lingerFor bounds how long a closed connection still reads.
const lingerFor = 20 * time.Second

// handshake is a connection whose handshake the dialer played. It reports
// the round trip the world played, as the kernel reports (TCP_INFO) the one
// it saw: neither includes the time this process waited to be scheduled, so
// a busy machine does not change what the lab's world measures.
type handshake struct {
	net.Conn
	rtt time.Duration
}

// HandshakeRTT is the played round trip of the connection's handshake (see
// probe.Dialer).
func (h handshake) HandshakeRTT() (time.Duration, bool) { return h.rtt, true }

// synLoss is the chance a connect's handshake loses a packet: the line's
// connect loss, or the SYN or the SYN-ACK lost to packet loss.
func (d *Dialer) synLoss() float64 {
	p := d.W.PacketLoss
	return max(d.W.LossRate, 1-(1-p)*(1-p))
}

// wrap gives a routed TCP connection the line's conditions: the shared line
// rate, a rule's own rate, and packet loss (stalls and the loss-limited
// rate). The played round trip was a sleep, not something the kernel saw,
// so the socket is always hidden: nothing reads a loopback RTT from it.
func (d *Dialer) wrap(c net.Conn, r *Rule) net.Conn {
	pc := &pacedConn{Conn: c, down: d.down, up: d.up}
	if r.RateMbps > 0 {
		d.mu.Lock()
		if d.rules == nil {
			d.rules = map[*Rule][2]*pacer{}
		}
		pr, ok := d.rules[r]
		if !ok {
			pr = [2]*pacer{{bytesPerSec: r.RateMbps * 125000}, {bytesPerSec: r.RateMbps * 125000}}
			d.rules[r] = pr
		}
		d.mu.Unlock()
		pc.rdown, pc.rup = pr[0], pr[1]
	}
	if p := d.W.PacketLoss; p > 0 {
		rtt := max(d.W.RTTMS, 10) / 1000
		// Per flow, the Padhye (PFTK) steady-state rate, which adds the
		// retransmission timeouts that dominate beyond a few per cent of
		// loss (where Mathis, MSS/RTT · 1.22/√p, overstates the rate
		// several times): MSS / (RTT·√(2p/3) + RTO·min(1, 3·√(3p/8))·p·(1+32p²)),
		// with Linux's RTO floor of 200 ms.
		rto := 0.2 + rtt
		rate := 1460 / (rtt*math.Sqrt(2*p/3) + rto*math.Min(1, 3*math.Sqrt(3*p/8))*p*(1+32*p*p))
		pc.flow = &pacer{bytesPerSec: rate}
		// A lost segment costs about a round trip (fast retransmit with
		// SACK); the rate cut that loss causes is the Mathis bound above.
		pc.loss, pc.stall = p, time.Duration(max(10, d.W.RTTMS))*time.Millisecond
		pc.dial = d
	}
	if pc.down == nil && pc.rdown == nil && pc.flow == nil {
		return playedConn{c}
	}
	return pc
}

// chance draws from the dialer's seeded source.
func (d *Dialer) chance(p float64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rnd.Float64() < p
}

// lossyDatagrams drops each datagram written with the line's packet loss
// (the query is lost on the way; the resolver never sees it). It stays a
// net.PacketConn, so DNS clients keep datagram framing.
type lossyDatagrams struct {
	*net.UDPConn
	d *Dialer
}

func (c *lossyDatagrams) Write(b []byte) (int, error) {
	if c.d.chance(c.d.W.PacketLoss) {
		return len(b), nil
	}
	return c.UDPConn.Write(b)
}

// pacer is a shared token bucket: every byte through it waits its turn at
// the line rate, with a 64 KB burst.
type pacer struct {
	mu          sync.Mutex
	bytesPerSec float64
	next        time.Time
}

func (p *pacer) wait(n int) {
	p.mu.Lock()
	now := time.Now()
	burst := time.Duration(65536 / p.bytesPerSec * float64(time.Second))
	if p.next.Before(now.Add(-burst)) {
		p.next = now.Add(-burst)
	}
	p.next = p.next.Add(time.Duration(float64(n) / p.bytesPerSec * float64(time.Second)))
	wait := time.Until(p.next)
	p.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}

// pacedConn moves its data at the line's shared rate, a rule's rate and
// the loss-limited rate of its own flow, and stalls for a round trip when a
// segment of a chunk is lost. It stays a TCP-style stream;
// UDP is never paced (a wrapped datagram socket would hide net.PacketConn
// from DNS clients).
type pacedConn struct {
	net.Conn
	down, up   *pacer // the line's, shared
	rdown, rup *pacer // the rule's, shared
	flow       *pacer // this flow's loss-limited rate
	loss       float64
	stall      time.Duration // what a lost segment costs: about a round trip
	dial       *Dialer
}

func (c *pacedConn) pace(n int, line, rule *pacer) {
	for _, p := range []*pacer{line, rule, c.flow} {
		if p != nil {
			p.wait(n)
		}
	}
	if c.loss > 0 {
		segs := float64(n)/1460 + 1
		if c.dial.chance(1 - math.Pow(1-c.loss, segs)) {
			time.Sleep(c.stall)
		}
	}
}

func (c *pacedConn) Close() error { return lingerClose(c.Conn) }

func (c *pacedConn) Read(b []byte) (int, error) {
	if len(b) > 16384 {
		b = b[:16384]
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.pace(n, c.down, c.rdown)
	}
	return n, err
}

func (c *pacedConn) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		k := min(len(b), 16384)
		c.pace(k, c.up, c.rup)
		n, err := c.Conn.Write(b[:k])
		total += n
		if err != nil {
			return total, err
		}
		b = b[k:]
	}
	return total, nil
}
