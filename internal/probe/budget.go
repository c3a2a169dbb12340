package probe

import (
	"context"
	"errors"
	"net"
	"sync"
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

// pathRTT is the path's round trip as the probes learn it.
type pathRTT struct {
	mu    sync.Mutex
	rtt   time.Duration
	known chan struct{}
}

func newPathRTT() *pathRTT { return &pathRTT{known: make(chan struct{})} }

// saw records one connect's round trip.
func (p *pathRTT) saw(d time.Duration) {
	if p == nil || d < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.known:
		p.rtt = min(p.rtt, d)
	default:
		p.rtt = d
		close(p.known)
	}
}

func (p *pathRTT) get() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rtt
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
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeouts.Connect)
	defer cancel()
	if s.path == nil {
		return s.env.Dialer.DialContext(ctx, network, addr)
	}
	dctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go func() {
		select {
		case <-s.path.known:
		case <-dctx.Done():
			return
		}
		budget := SilentBudget(s.path.get())
		t := time.NewTimer(time.Until(start.Add(budget)))
		defer t.Stop()
		select {
		case <-t.C:
			stop(errSilent{budget})
		case <-dctx.Done():
		}
	}()
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
