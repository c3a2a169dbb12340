package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/profile"
)

func probeTCP(name, family string) probeFunc {
	return func(ctx context.Context, s *state) []Observation {
		if family == "tcp6" && s.facts.DefaultRoute6 == nil {
			return notRun(name, "no IPv6 route")
		}
		return parallel(ctx, s.prof.Hosts, func(host profile.Host) Observation {
			h, port := host.Name, host.ServicePort()
			o := Observation{Probe: name, Target: net.JoinHostPort(h, strconv.Itoa(port))}
			// The name first (shared, cached), so the time is the connect's.
			_, _, _ = s.addrsFor(ctx, h, family, true)
			start := time.Now()
			c, via, err := s.dialHost(ctx, family, h, port, true)
			o.Value = ms(time.Since(start))
			if err != nil {
				var re *ResolveError
				if errors.As(err, &re) {
					// Charged to the resolver: no connect was tried.
					o.Status, o.Failure = NotRun, Classify(err)
					o.Detail = "no address from any resolver (" + o.Failure + ")"
					return o
				}
				o.Status, o.Failure = Problem, Classify(err)
				o.Detail = err.Error()
				return o
			}
			defer c.Close()
			o.Status = OK
			o.Detail = fmt.Sprintf("connected to %s in %.0f ms (address from %s DNS)", c.RemoteAddr(), o.Value, via)
			return o
		})
	}
}
