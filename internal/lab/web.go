package lab

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/miekg/dns"
)

func (w *World) isServiceName(name string) bool {
	for _, h := range w.Profile.Hosts {
		if h.Name == name {
			return true
		}
	}
	return false
}

// webHandler serves every HTTPS name of the world.
func (w *World) webHandler(viaProxy bool) http.Handler {
	sc := w.Scenario
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		switch {
		case host == addrPublicDNS && r.URL.Path == "/dns-query":
			w.serveDoH(rw, r)
			return
		case host == "fast.com" && r.URL.Path == "/":
			io.WriteString(rw, `<html><body><script src="/app-lab01.js"></script></body></html>`)
			return
		case host == "fast.com":
			io.WriteString(rw, `var c={apiEndpoint:"api.fast.com/netflix/speedtest/v2",token:"labtoken",urlCount:1};`)
			return
		case host == "api.fast.com":
			fmt.Fprintf(rw, `{"client":{"location":{"city":"Lab","country":"XX"}},"targets":[{"name":"lab","url":"https://%s/speedtest?c=xx","location":{"city":"Lab","country":"XX"}}]}`, ocaHost)
			return
		case host == ocaHost || host == ndtHost:
			w.speed.ServeHTTP(rw, r)
			return
		case host == "locate.measurementlab.net":
			fmt.Fprintf(rw, `{"results":[{"machine":"mlab1-lab01","location":{"city":"Lab","country":"XX"},"urls":{"wss:///ndt/v7/download":"wss://%s/ndt/v7/download?access_token=lab","wss:///ndt/v7/upload":"wss://%s/ndt/v7/upload?access_token=lab"}}]}`, ndtHost, ndtHost)
			return
		}
		if !w.isServiceName(host) {
			io.WriteString(rw, "<html><body>control site "+host+"</body></html>")
			return
		}
		switch sc.Network.Service {
		case "http_503":
			rw.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(rw, "Service Unavailable")
			return
		case "slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		case "proxy_detected":
			// The service blocks the addresses it sees: the proxy's when a
			// proxy carries the request, the VPN's or Smart DNS's otherwise.
			if viaProxy || sc.System.Proxy == "none" {
				w.refuse(rw, host)
				return
			}
		}
		if viaProxy && w.smartDNS() {
			// The service knows the Smart DNS relays' addresses.
			w.refuse(rw, host)
			return
		}
		io.WriteString(rw, "<html><body>"+w.Profile.Title+"</body></html>")
	})
}

func (w *World) serveDoH(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 65536))
	q := new(dns.Msg)
	if err != nil || q.Unpack(body) != nil {
		http.Error(rw, "bad query", http.StatusBadRequest)
		return
	}
	m := new(dns.Msg)
	m.SetReply(q)
	w.answer(m, q, nil)
	out, _ := m.Pack()
	rw.Header().Set("Content-Type", "application/dns-message")
	rw.Write(out)
}

func (w *World) plainHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/proxy.pac"):
			rw.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
			fmt.Fprintf(rw, "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host)) return \"DIRECT\";\n  return \"PROXY %s:%s; DIRECT\";\n}\n", addrProxy, proxyPort)
		case w.Scenario.Network.HTTP == "blockpage":
			// A filter injects its page into every plain-HTTP answer.
			rw.WriteHeader(http.StatusForbidden)
			io.WriteString(rw, "<html><body>Access denied: this site has been blocked by your network's web filter.</body></html>")
		case r.URL.Path == "/generate_204":
			rw.WriteHeader(http.StatusNoContent)
		default:
			io.WriteString(rw, "ok")
		}
	})
}
