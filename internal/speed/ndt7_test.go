package speed

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// ndt7World replays a locate answer and serves ndt7 from our own handler,
// on one TLS test server that every host name resolves to.
func ndt7World(t *testing.T, locate []byte) *http.Client {
	t.Helper()
	ndt := NDT7Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "locate.measurementlab.net" && r.URL.Path == "/v2/nearest/ndt/ndt7":
			w.Header().Set("Content-Type", "application/json")
			w.Write(locate)
		case strings.HasPrefix(r.Host, "ndt-mlab1-lis01") && r.URL.Query().Get("access_token") == "tok1":
			ndt.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return everyHostTo(srv)
}

func TestNDT7RecordedLocateAndServer(t *testing.T) {
	body, _ := os.ReadFile("testdata/locate-v2.json")
	ts, err := ParseLocate(body)
	if err != nil || len(ts) != 2 || !strings.HasSuffix(ts[0].Upload, "/ndt/v7/upload?access_token=tok1") {
		t.Fatalf("%+v %v", ts, err)
	}
	c := ndt7World(t, body)
	res, notes, err := Run(context.Background(), []Backend{NDT7{Client: c}}, Options{Max: 5 * time.Second, Upload: true})
	if err != nil {
		t.Fatalf("%v %q", err, notes)
	}
	if res.Backend != "ndt7" || res.DownMbps <= 0 || res.UpMbps <= 0 || res.IdleRTTms <= 0 || res.Server != "mlab1-lis01.mlab-oti.measurement-lab.org" {
		t.Errorf("%+v", res)
	}
	if res.Seconds > 5.5 {
		t.Errorf("took %.1f s with a 5 s cap", res.Seconds)
	}
}

func TestNDT7OutOfCapacityAndOffline(t *testing.T) {
	c := ndt7World(t, []byte(`{}`))
	_, notes, err := Run(context.Background(), []Backend{NDT7{Client: c}}, Options{Max: 3 * time.Second})
	if err == nil || len(notes) != 1 || notes[0] != "ndt7 could not be used: "+ErrNoTargets.Error() {
		t.Errorf("out of capacity: %v %q", err, notes)
	}
	offline := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}
	}}}
	_, notes, _ = Run(context.Background(), []Backend{NDT7{Client: offline}}, Options{Max: 3 * time.Second})
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "ndt7 could not be used: locate.measurementlab.net did not answer") {
		t.Errorf("offline: %q", notes)
	}
}

func TestNDT7ServerNeedsSubprotocol(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ndt/v7/download")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("got %d", resp.StatusCode)
	}
}
