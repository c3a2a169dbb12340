package probe

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// probeClock compares the local clock with the Date headers of the control
// sites and the service. Certificates are not checked here: a wrong clock is
// exactly what makes them fail.
func probeClock(ctx context.Context, s *state) []Observation {
	cl := s.probeClient(false, true)
	defer cl.CloseIdleConnections()
	urls := append(append([]string{}, s.prof.Controls...), s.prof.Hosts[0].Origin()+"/")
	ch := make(chan *float64, len(urls))
	for _, u := range urls {
		goSafe(ctx, func() {
			resp, _, ttfb, err := fetch(ctx, cl, u)
			if err != nil {
				ch <- nil
				return
			}
			d, err := http.ParseTime(resp.Header.Get("Date"))
			if err != nil {
				ch <- nil
				return
			}
			// The server stamped its Date about half the round trip ago.
			off := s.env.now().Add(-ttfb / 2).Sub(d).Seconds()
			ch <- &off
		})
	}
	var offs []float64
	for range urls {
		if r := <-ch; r != nil {
			offs = append(offs, *r)
		}
	}
	if len(offs) == 0 {
		return notRun(catalog.PClock, "no server answered with a date")
	}
	off := speed.Median(offs)
	o := Observation{Target: "local clock", Value: math.Round(off*10) / 10, Status: OK,
		Detail: fmt.Sprintf("%+.0f s from %d server clocks", off, len(offs))}
	if math.Abs(off) > catalog.ClockSkewLimit {
		o.Status, o.Failure = Problem, catalog.FClockSkew
		o.Detail = fmt.Sprintf("local clock is %s %s the servers'", humanSeconds(math.Abs(off)), map[bool]string{true: "ahead of", false: "behind"}[off > 0])
	}
	return []Observation{o}
}

func humanSeconds(s float64) string {
	switch {
	case s >= 86400:
		return fmt.Sprintf("%.1f days", s/86400)
	case s >= 3600:
		return fmt.Sprintf("%.1f hours", s/3600)
	case s >= 60:
		return fmt.Sprintf("%.0f minutes", s/60)
	}
	return fmt.Sprintf("%.0f seconds", s)
}
