// Package httpserve runs an http.Server until a context ends, then stops
// it within a grace period: open requests get that long to finish, and
// whatever is still open then is closed. The speed server, the crowd
// outage server and the web page all stop this way.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve answers on l until ctx ends; a clean stop returns nil.
func Serve(ctx context.Context, hs *http.Server, l net.Listener, grace time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			_ = hs.Close()
		}
	}()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}
