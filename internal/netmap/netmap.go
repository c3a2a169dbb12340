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
	HostUnreachable = "host_unreachable" // EHOSTUNREACH after DelayMS (no ARP answer)
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
}

// Dialer dials in a World.
type Dialer struct {
	W        World
	mu       sync.Mutex
	rnd      *rand.Rand
	local    map[string]bool
	once     sync.Once
	down, up *pacer
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
	if !d.local[ip.String()] {
		d.mu.Lock()
		var wait time.Duration
		lost := d.rnd.Float64() < d.W.LossRate
		for try := 0; lost && try < 2; try++ {
			wait += time.Second << try
			lost = d.rnd.Float64() < d.W.LossRate
		}
		delay := d.W.RTTMS + (d.rnd.Float64()*2-1)*d.W.JitterMS
		d.mu.Unlock()
		if lost {
			return nil, blackhole(ctx, network, addr)
		}
		wait += time.Duration(max(delay, 0) * float64(time.Millisecond))
		if err := sleep(ctx, wait); err != nil {
			return nil, opErr(network, addr, err)
		}
	}
	if d.local[ip.String()] && d.W.LocalRTTMS > 0 {
		if err := sleep(ctx, time.Duration(d.W.LocalRTTMS*float64(time.Millisecond))); err != nil {
			return nil, opErr(network, addr, err)
		}
	}
	switch r.Action {
	case Route:
		var nd net.Dialer
		c, err := nd.DialContext(ctx, base, r.To)
		if err != nil || base != "tcp" || (d.local[ip.String()] && d.W.LocalRTTMS == 0) {
			return c, err
		}
		if d.local[ip.String()] {
			return playedConn{c}, nil
		}
		if d.down != nil {
			return &pacedConn{Conn: c, down: d.down, up: d.up}, nil
		}
		// The played round trip was a sleep, not something the kernel saw:
		// hide the socket so that nothing reads a loopback RTT from it.
		return playedConn{c}, nil
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
	return nil
}

// playedConn is a connection whose path conditions the dialer played.
type playedConn struct{ net.Conn }

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

// pacedConn moves its data at the line's shared rate. It stays a TCP-style
// stream; UDP is never paced (a wrapped datagram socket would hide
// net.PacketConn from DNS clients).
type pacedConn struct {
	net.Conn
	down, up *pacer
}

func (c *pacedConn) Read(b []byte) (int, error) {
	if len(b) > 16384 {
		b = b[:16384]
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.down.wait(n)
	}
	return n, err
}

func (c *pacedConn) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		k := min(len(b), 16384)
		c.up.wait(k)
		n, err := c.Conn.Write(b[:k])
		total += n
		if err != nil {
			return total, err
		}
		b = b[k:]
	}
	return total, nil
}
