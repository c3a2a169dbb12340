package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// With a stamp required, a report without one is answered 428 with a
// challenge; the client in internal/outage computes the stamp and sends
// it again; a stamp is taken once, for its own challenge, at its own
// difficulty.
func TestProofOfWork(t *testing.T) {
	_, h := crowdServer(t, Config{PerAddress: 1000, PoWBits: 12})
	body := `{"service":"netflix","code":"NSEZ-503","region":"DE","client":"install-0001"}`
	rec := do(h, http.MethodPost, "/v1/reports", "198.51.100.1:1", body)
	var ans struct {
		Error string              `json:"error"`
		PoW   outage.PoWChallenge `json:"pow"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); rec.Code != http.StatusPreconditionRequired || err != nil || ans.PoW.Bits != 12 || ans.PoW.Challenge == "" || ans.Error == "" {
		t.Fatalf("no stamp: HTTP %d %s, want 428 with a challenge of 12 bits", rec.Code, rec.Body)
	}
	rp := outage.Report{Service: "netflix", Code: "NSEZ-503", Region: "DE", Client: "install-0001"}
	nonce, err := outage.SolvePoW(context.Background(), rp, ans.PoW.Challenge, 12)
	if err != nil {
		t.Fatal(err)
	}
	rp.Challenge, rp.Nonce = ans.PoW.Challenge, nonce
	stamped, _ := json.Marshal(rp)
	if rec := do(h, http.MethodPost, "/v1/reports", "198.51.100.1:1", string(stamped)); rec.Code != 202 {
		t.Fatalf("stamped: HTTP %d %s", rec.Code, rec.Body)
	}
	// The same stamp again, from another network: taken once only.
	if rec := do(h, http.MethodPost, "/v1/reports", "203.0.113.1:1", string(stamped)); rec.Code != http.StatusPreconditionRequired {
		t.Errorf("a stamp used twice: HTTP %d %s, want 428", rec.Code, rec.Body)
	}
	// A challenge the server did not give, and a stamp short of the bits.
	forged := rp
	forged.Challenge = "99." + ans.PoW.Challenge[len("99."):]
	forged.Nonce, _ = outage.SolvePoW(context.Background(), forged, forged.Challenge, 12)
	b, _ := json.Marshal(forged)
	if rec := do(h, http.MethodPost, "/v1/reports", "203.0.113.2:1", string(b)); rec.Code != http.StatusPreconditionRequired {
		t.Errorf("a forged challenge: HTTP %d, want 428", rec.Code)
	}
	weak := outage.Report{Service: "netflix", Client: "install-0002", Challenge: ans.PoW.Challenge}
	for i := 0; ; i++ {
		weak.Nonce = string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16])
		if outage.LeadingZeroBits(outage.PoWDigest(weak)) < 12 {
			break
		}
	}
	b, _ = json.Marshal(weak)
	if rec := do(h, http.MethodPost, "/v1/reports", "203.0.113.3:1", string(b)); rec.Code != http.StatusPreconditionRequired {
		t.Errorf("a stamp of too few bits: HTTP %d, want 428", rec.Code)
	}
	// The real client does all of it by itself.
	hs := httptest.NewServer(h)
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	cl := &outage.Client{Base: u, HTTP: hs.Client()}
	t0 := time.Now()
	if err := cl.Send(context.Background(), outage.Report{Service: "netflix", Region: "FR", Client: "install-0003"}); err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Logf("client stamped and sent a report in %v", time.Since(t0))
	m := do(h, http.MethodGet, "/metrics", "192.0.2.1:1", "").Body.String()
	for _, want := range []string{`reason="pow_missing"`, `reason="pow_spent"`, `reason="pow_stale"`, `reason="pow_short"`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Behind a reverse proxy (--trust-proxy), the client's address is the
// nearest untrusted one in X-Forwarded-For, read from the right; from an
// untrusted peer the header is ignored, and a malformed entry stops the
// walk at the proxy.
func TestClientAddressBehindATrustedProxy(t *testing.T) {
	s := NewServer(Config{TrustProxy: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	for _, c := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:443", "198.51.100.7", "203.0.113.5"},                    // not a proxy: the header is the client's word
		{"10.0.0.2:443", "198.51.100.7", "198.51.100.7"},                      // the proxy's word
		{"10.0.0.2:443", "1.2.3.4, 198.51.100.7", "198.51.100.7"},             // the client wrote 1.2.3.4 itself
		{"10.0.0.2:443", "1.2.3.4, 198.51.100.7, 10.9.9.9", "198.51.100.7"},   // two proxies
		{"[::1]:443", "2001:db8:1:2::3", "2001:db8:1:2::3"},                   // IPv6
		{"10.0.0.2:443", "198.51.100.7, garbage", "10.0.0.2"},                 // malformed: the proxy itself
		{"10.0.0.2:443", "[2001:db8::5]:4711, ::ffff:192.0.2.9", "192.0.2.9"}, // mapped IPv4
		{"10.0.0.2:443", "", "10.0.0.2"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/reports", nil)
		req.RemoteAddr = c.peer
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		got, ok := s.clientAddr(req)
		if !ok || got.String() != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %v, want %s", c.peer, c.xff, got, c.want)
		}
	}
	for addr, want := range map[string]string{"198.51.100.77": "198.51.100.0/24", "2001:db8:aa:bb::1": "2001:db8:aa::/48", "::ffff:198.51.100.77": "198.51.100.0/24"} {
		if got := NetworkOf(mustAddr(addr)).String(); got != want {
			t.Errorf("network of %s: %s, want %s", addr, got, want)
		}
	}
}
