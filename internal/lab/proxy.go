package lab

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
)

// proxyHandler is an HTTP proxy supporting CONNECT, whose upstream
// connections reach the service as "through a proxy".
func (w *World) proxyHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(rw, "only CONNECT", http.StatusMethodNotAllowed)
			return
		}
		switch w.Scenario.System.Proxy {
		case "denied":
			http.Error(rw, "Access denied by proxy policy", http.StatusForbidden)
			return
		case "auth_required":
			rw.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
			http.Error(rw, "Proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		host, port, _ := net.SplitHostPort(r.Host)
		ip, ok := w.zone4[strings.ToLower(host)]
		if !ok {
			http.Error(rw, "no such host", http.StatusBadGateway)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		up, err := netmap.New(w.buildNet(true)).DialContext(ctx, "tcp4", net.JoinHostPort(ip.String(), port))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := rw.(http.Hijacker)
		if !ok {
			up.Close()
			http.Error(rw, "no hijack", http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusOK)
		c, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		go pipe(c, buf, up)
	})
}

func pipe(c net.Conn, buf *bufio.ReadWriter, up net.Conn) {
	defer c.Close()
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, buf); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}
