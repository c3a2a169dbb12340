package probe

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func probeGateway(ctx context.Context, s *state) []Observation {
	if why, ok := s.facts.Skipped(sysinfo.FactRoute); ok {
		return notRun(catalog.PGateway, why)
	}
	r := s.facts.DefaultRoute
	if r == nil {
		return []Observation{{Status: Problem, Failure: catalog.FNoRoute, Detail: "no default route, so no gateway to reach"}}
	}
	if r.Gateway == "" {
		return notRun(catalog.PGateway, "the default route ("+r.Interface+") has no gateway address")
	}
	// A TCP connect needs no privilege; an answer of any kind, even
	// "refused", proves the router is there.
	type res struct {
		port int
		err  error
		d    time.Duration
	}
	ports := []int{53, 80, 443}
	ch := make(chan res, len(ports))
	for _, p := range ports {
		goSafe(ctx, func() {
			start := time.Now()
			c, err := s.env.Dialer.DialContext(ctx, "tcp", net.JoinHostPort(r.Gateway, strconv.Itoa(p)))
			if c != nil {
				c.Close()
			}
			ch <- res{p, err, time.Since(start)}
		})
	}
	var last error
	for range ports {
		x := <-ch
		if x.err == nil || Classify(x.err) == catalog.FRefused {
			// Two more connects to the port that answered; the shortest is
			// the router's round trip (a pause of this process lengthens
			// single connects, not all three).
			best := x.d
			for range 2 {
				cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				d, _, err := dialRTT(cctx, s.env.Dialer.DialContext, net.JoinHostPort(r.Gateway, strconv.Itoa(x.port)))
				cancel()
				if (err == nil || Classify(err) == catalog.FRefused) && d < best {
					best = d
				}
			}
			return []Observation{{Target: r.Gateway, Status: OK, Value: ms(best),
				Detail: fmt.Sprintf("router answered on port %d in %.0f ms", x.port, ms(best))}}
		}
		last = x.err
	}
	return []Observation{{Target: r.Gateway, Status: Problem, Failure: Classify(last), Detail: "router did not answer: " + last.Error()}}
}
