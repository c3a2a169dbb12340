package outage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A solved stamp reaches the bits asked for, and only for its own report
// and challenge.
func TestSolvePoW(t *testing.T) {
	rp := Report{Service: "netflix", Code: "NSEZ-503", Region: "DE", Client: "install-0001"}
	for bits := 0; bits <= 14; bits += 2 {
		nonce, err := SolvePoW(context.Background(), rp, "123.abc", bits)
		if err != nil {
			t.Fatal(err)
		}
		st := rp
		st.Challenge, st.Nonce = "123.abc", nonce
		if !PoWValid(st, bits) || st.Validate([]string{"netflix"}) != nil {
			t.Fatalf("%d bits: nonce %q does not make a valid stamp", bits, nonce)
		}
		if bits >= 8 {
			other := st
			other.Region = "FR"
			again := st
			again.Challenge = "124.abc"
			if PoWValid(other, bits) && PoWValid(again, bits) {
				t.Errorf("%d bits: the stamp also holds for another region and another challenge", bits)
			}
		}
	}
	if _, err := SolvePoW(context.Background(), rp, "c", MaxPoWBits+1); err == nil {
		t.Error("agreed to more work than MaxPoWBits")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SolvePoW(ctx, rp, "c", MaxPoWBits); err == nil {
		t.Error("kept working after the context ended")
	}
}

// Asked for a stamp (HTTP 428 with a challenge), Send computes it and sends
// the report again; a server asking for too much work is refused.
func TestSendAnswersAProofOfWorkChallenge(t *testing.T) {
	for _, c := range []struct {
		bits    int
		wantErr string
	}{{10, ""}, {MaxPoWBits + 4, "at most"}} {
		var seen []Report
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rp Report
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rp); err != nil {
				w.WriteHeader(400)
				return
			}
			seen = append(seen, rp)
			if rp.Challenge == "" || !PoWValid(rp, c.bits) || rp.Challenge != "42.feed" {
				w.WriteHeader(http.StatusPreconditionRequired)
				fmt.Fprintf(w, `{"error":"stamp, please","pow":{"challenge":"42.feed","bits":%d}}`, c.bits)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		}))
		u, _ := url.Parse(hs.URL)
		err := (&Client{Base: u, HTTP: hs.Client()}).Send(context.Background(), Report{Service: "netflix", Code: "NSEZ-503", Client: "install-0001"})
		hs.Close()
		switch {
		case c.wantErr == "" && (err != nil || len(seen) != 2 || seen[0].Challenge != "" || seen[1].Nonce == ""):
			t.Errorf("%d bits: %v after %+v; want a bare report, then a stamped one, accepted", c.bits, err, seen)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || len(seen) != 1):
			t.Errorf("%d bits: %v after %d reports, want a refusal mentioning %q", c.bits, err, len(seen), c.wantErr)
		}
	}
}

func TestStatusCarriesNetworks(t *testing.T) {
	st, err := ParseStatus([]byte(`{"schema":"streamdoctor.outage/v1","service":"netflix","status":"outage","reports_15m":40,"networks_15m":40,"worst_region":"FR","baseline_15m":0.6}`))
	if err != nil || st.Networks15m != 40 || st.WorstRegion != "FR" {
		t.Errorf("%+v %v", st, err)
	}
	for _, bad := range []string{
		`{"schema":"streamdoctor.outage/v1","status":"normal","networks_15m":-1}`,
		`{"schema":"streamdoctor.outage/v1","status":"normal","worst_region":"\u001b[31m"}`,
	} {
		if _, err := ParseStatus([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// BenchmarkSolvePoW18: the server's default difficulty, about 50 ms on a
// laptop (2^18 hashes on average).
func BenchmarkSolvePoW18(b *testing.B) {
	rp := Report{Service: "netflix", Code: "NSEZ-503", Region: "DE", Client: "0123456789abcdef0123456789abcdef"}
	for i := range b.N {
		if _, err := SolvePoW(context.Background(), rp, fmt.Sprintf("%d.challenge", i), 18); err != nil {
			b.Fatal(err)
		}
	}
}
