package speed

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// fastWorld replays a recorded fast.com exchange: the page, its script, the
// API answer and two Open Connect appliances, all on one TLS test server that
// every host name resolves to.
func fastWorld(t *testing.T) *http.Client {
	t.Helper()
	home, _ := os.ReadFile("testdata/fast-home.html")
	js, _ := os.ReadFile("testdata/fast-app.js")
	api, _ := os.ReadFile("testdata/fast-api.json")
	speed := Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "fast.com" && r.URL.Path == "/":
			w.Write(home)
		case r.Host == "fast.com" && r.URL.Path == "/app-7a1f4b.js":
			w.Write(js)
		case r.Host == "api.fast.com" && r.URL.Path == "/netflix/speedtest/v2":
			if r.URL.Query().Get("token") != "YXNkZmFzZGxmbnNkYWZoYXNkZmhrYWxm" || r.URL.Query().Get("https") != "true" {
				http.Error(w, "bad token", http.StatusForbidden)
				return
			}
			w.Write(api)
		case strings.HasSuffix(r.Host, ".oca.nflxvideo.net"):
			if r.URL.Query().Get("c") != "pt" {
				http.Error(w, "query lost", http.StatusForbidden)
				return
			}
			speed.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return everyHostTo(srv)
}

// everyHostTo returns a client for which every host name is the test server.
func everyHostTo(srv *httptest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's certificate names no real host
	return &http.Client{Transport: tr}
}

func TestFastRecordedExchange(t *testing.T) {
	c := fastWorld(t)
	targets, err := Fast{Client: c}.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || !strings.Contains(targets[0].Name, "Lisbon") {
		t.Fatalf("%+v", targets)
	}
	u, _ := RangeURL(targets[0].URL, 100)
	if !strings.HasPrefix(u, "https://ipv4-c001-lis001-ix.1.oca.nflxvideo.net/speedtest/range/0-99?c=pt") {
		t.Errorf("range URL %s", u)
	}
	res, notes, err := Run(context.Background(), []Backend{Fast{Client: c}}, Options{Client: c, Max: 3 * time.Second})
	if err != nil || res.Backend != "fast.com" || res.DownMbps <= 0 || len(notes) != 0 {
		t.Fatalf("%+v %v %v", res, notes, err)
	}
}

func TestBackendsFallBackWithOneLine(t *testing.T) {
	offline := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}}
	}}}
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, notes, err := Run(context.Background(), []Backend{Fast{Client: offline}, Server{URL: srv.URL}}, Options{Max: 3 * time.Second})
	if err != nil || res.Backend != "server" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "fast.com could not be used: ") || strings.Contains(notes[0], "\n") {
		t.Errorf("notes %q", notes)
	}
	_, notes, err = Run(context.Background(), []Backend{Fast{Client: offline}}, Options{})
	if err == nil || len(notes) != 1 {
		t.Errorf("all offline: %v %q", err, notes)
	}
}

func TestParseFastTargetsBad(t *testing.T) {
	for _, in := range []string{"", "<html>", `{"targets":[]}`, `{"targets":[{"url":"::"}]}`} {
		if _, err := ParseFastTargets([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestServerBackendValidates(t *testing.T) {
	if _, err := (Server{URL: "ftp://x"}).Targets(context.Background()); err == nil {
		t.Error("ftp accepted")
	}
	ts, err := Server{URL: "http://127.0.0.1:8080"}.Targets(context.Background())
	if err != nil || ts[0].URL != "http://127.0.0.1:8080/speedtest" {
		t.Errorf("%v %v", ts, err)
	}
}
