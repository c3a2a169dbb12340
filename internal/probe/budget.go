package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
)

// Adaptive connect budgets. A connect waits up to Timeouts.Connect until
// the path's round trip is known — the shortest connect any probe made to a
// host beyond the router (a control site, the service, a public resolver by
// address). From then on a connect that has not completed after
// SilentBudget(rtt) is declared silent. The budget covers one lost SYN (its
// resend after catalog.LostAfter, 1 s, then the round trip), four round trips of
// jitter and queueing, and a server slow to accept (SilentFloor), so a
// working but slow service is not called silent; two lost SYNs in a row
// (3 s) were never inside the fixed budget either.

// SilentFloor is the least a connect is given once the round trip is known.
const SilentFloor = 1300 * time.Millisecond

// SilentBudget is how long a connect may take on a path of round trip rtt
// before it counts as silent.
func SilentBudget(rtt time.Duration) time.Duration {
	return max(SilentFloor, catalog.LostAfter+4*rtt+200*time.Millisecond)
}

// pathRTT is the path's round trip as the probes learn it, and how late
// this process is: the most a connect's wall-clock time exceeded its own
// round trip (the kernel's, or the one a played network played). On an idle
// machine that is a millisecond or two; a busy one wakes the probes late,
// and a budget that ignored it would call a slow machine a silent path.
type pathRTT struct {
	mu    sync.Mutex
	rtt   time.Duration
	slack time.Duration
	known chan struct{}
}

func newPathRTT() *pathRTT { return &pathRTT{known: make(chan struct{})} }

// maxSlack bounds what lateness the budgets allow for.
const maxSlack = 500 * time.Millisecond

// saw records one connect: its round trip, and the wall-clock time it took.
func (p *pathRTT) saw(rtt, wall time.Duration) {
	if p == nil || rtt < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slack = min(maxSlack, max(p.slack, wall-rtt))
	select {
	case <-p.known:
		p.rtt = min(p.rtt, rtt)
	default:
		p.rtt = rtt
		close(p.known)
	}
}

// budget is how long a connect or a handshake may stay silent on this
// path: SilentBudget of its round trip, plus four times this process's
// lateness (an exchange wakes it up to four times).
func (p *pathRTT) budget() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return SilentBudget(p.rtt) + 4*p.slack
}

// errSilent is a connect given up on: a timeout, as the fixed budget's was.
type errSilent struct{ after time.Duration }

func (e errSilent) Error() string {
	return "no answer within " + e.after.Round(time.Millisecond).String() + " (the path's round trip allows far less)"
}
func (errSilent) Timeout() bool   { return true }
func (errSilent) Temporary() bool { return true }

// dialBudget dials addr within the connect budget: Timeouts.Connect, cut
// to SilentBudget once the path's round trip is known.
func (s *state) dialBudget(ctx context.Context, network, addr string) (net.Conn, error) {
	dctx, stop := s.silentAfter(ctx, time.Now(), s.timeouts.Connect, nil)
	defer stop()
	c, err := s.env.Dialer.DialContext(dctx, network, addr)
	if err != nil {
		var es errSilent
		if errors.As(context.Cause(dctx), &es) && ctx.Err() == nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: es}
		}
		return nil, err
	}
	return c, nil
}

// handshake runs a TLS handshake on raw within the same kind of budget as
// a connect: Timeouts.TLS, cut to SilentBudget once the path's round trip
// is known (the hello and its answer are a round trip or two; the budget
// leaves room for a resent segment and a slow server), so a middlebox that
// swallows the hello is declared silent after about as long as a silent
// connect, not after the probe's whole deadline. Silent means that nothing
// came back: the budget runs from the hello's sending, and once any byte
// of the answer has arrived the handshake has the whole Timeouts.TLS — a
// busy machine computes its part of a handshake slowly, and that is no
// sign of a silent path.
func (s *state) handshake(ctx context.Context, raw net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	hc := &heardConn{Conn: raw, sent: make(chan struct{})}
	c := tls.Client(hc, cfg)
	hctx, stop := s.silentAfter(ctx, time.Now(), s.timeouts.TLS, hc)
	defer stop()
	err := c.HandshakeContext(hctx)
	var es errSilent
	if err != nil && errors.As(context.Cause(hctx), &es) && ctx.Err() == nil {
		return c, &net.OpError{Op: "tls handshake", Net: "tcp", Err: es}
	}
	return c, err
}

// heardConn notes when the first bytes went out and whether any came back.
type heardConn struct {
	net.Conn
	sendOnce sync.Once
	sent     chan struct{} // closed once something was written
	heard    atomic.Bool   // a byte was read
}

func (c *heardConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sendOnce.Do(func() { close(c.sent) })
	return n, err
}

func (c *heardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, err
}

// silentAfter is ctx, also ended fixed after start, and — once the path's
// round trip is known — SilentBudget(rtt) after start, with errSilent as
// the cause. Given an exchange (heard), the budget runs from its first
// write instead, and ends nothing once an answer has begun to arrive.
func (s *state) silentAfter(ctx context.Context, start time.Time, fixed time.Duration, heard *heardConn) (context.Context, func()) {
	ctx, cancel := context.WithTimeout(ctx, fixed-time.Since(start))
	if s.path == nil {
		return ctx, cancel
	}
	dctx, stop := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-s.path.known:
		case <-dctx.Done():
			return
		}
		if heard != nil {
			select {
			case <-heard.sent:
				start = time.Now()
			case <-dctx.Done():
				return
			}
		}
		budget := s.path.budget()
		t := time.NewTimer(time.Until(start.Add(budget)))
		defer t.Stop()
		select {
		case <-t.C:
			if heard == nil || !heard.heard.Load() {
				stop(errSilent{budget})
			}
		case <-dctx.Done():
		}
	}()
	return dctx, func() { stop(nil); cancel() }
}
