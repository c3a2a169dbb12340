package probe

import (
	"context"
	"fmt"

	"github.com/miekg/dns"
	"github.com/streamdoctor/streamdoctor/internal/catalog"
)

func probeDNS(name, via string) probeFunc {
	return func(ctx context.Context, s *state) []Observation {
		return parallel(ctx, s.serviceHosts(), func(h string) Observation {
			a, err := s.lookup(ctx, via, h, dns.TypeA)
			o := Observation{Probe: name, Target: h, Value: ms(a.RTT), Retries: a.Resent}
			if err != nil {
				o.Status, o.Failure = Problem, Classify(err)
				o.Detail = fmt.Sprintf("no address for %s: %s", h, o.Failure)
				return o
			}
			o.Status = OK
			o.Detail = fmt.Sprintf("%s in %.0f ms", joinAddrs(a.IPs), ms(a.RTT))
			for _, ip := range a.IPs {
				o.Addrs = append(o.Addrs, ip.String())
			}
			if c := ClassifyAnswer(a.IPs); c != "" {
				o.Status, o.Failure = Problem, c
				o.Detail = fmt.Sprintf("answered with addresses no public site uses (%s)", joinAddrs(a.IPs))
			}
			return o
		})
	}
}

func probeHijack(ctx context.Context, s *state) []Observation {
	name := s.env.randomLabel() + ".com"
	a, err := s.lookup(ctx, "system", name, dns.TypeA)
	o := Observation{Target: name, Value: ms(a.RTT)}
	switch {
	case err == nil && len(a.IPs) > 0:
		o.Status, o.Failure = Problem, catalog.FNXHijack
		o.Detail = "a name that does not exist resolved to " + joinAddrs(a.IPs)
	case Classify(err) == catalog.FNXDomain || Classify(err) == catalog.FNoAnswer:
		o.Status, o.Detail = OK, "a name that does not exist is reported as missing"
	default:
		o.Status, o.Detail = NotRun, "resolver did not answer: "+Classify(err)
	}
	return []Observation{o}
}
