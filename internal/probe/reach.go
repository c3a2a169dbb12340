package probe

import (
	"context"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// Reachable reports whether any of the profile's control sites answers over
// HTTPS (through the system resolver, as a browser would): the cheap test
// of "is the network back?" a guided session asks every few seconds while
// the router restarts. It gives up when ctx ends, or after 3 s.
func Reachable(ctx context.Context, env *Env, p profile.Profile) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cl := HTTPClient(ctx, env)
	defer cl.CloseIdleConnections()
	answered := make(chan bool, len(p.Controls))
	for _, u := range p.Controls {
		goSafe(ctx, func() {
			resp, _, _, err := fetch(ctx, cl, u)
			answered <- err == nil && resp.StatusCode < 500
		})
	}
	for range p.Controls {
		select {
		case ok := <-answered:
			if ok {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
	return false
}
