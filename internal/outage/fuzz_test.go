package outage

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
)

// FuzzReport: any body either fails to decode, fails validation with a
// one-line reason, or is a report whose fields keep their promises.
func FuzzReport(f *testing.F) {
	for _, s := range []string{
		`{"service":"netflix","code":"NSEZ-503","region":"DE","client":"install-0001"}`,
		`{"service":"netflix","client":"x"}`, `{"region":"UK"}`, `{}`, `[]`, `{"code":"a-b-c-d-e-f"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rp Report
		if json.Unmarshal(b, &rp) != nil {
			return
		}
		rp.Code = strings.ToUpper(strings.TrimSpace(rp.Code))
		if err := rp.Validate([]string{"netflix"}); err != nil {
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r == '\n' }) {
				t.Fatalf("reason spans lines: %q", err)
			}
			return
		}
		if rp.Service != "netflix" || !ValidRegion(rp.Region) || len(rp.Client) < 8 || len(rp.Client) > 64 || len(rp.Code) > 64 {
			t.Fatalf("accepted %+v", rp)
		}
	})
}

// FuzzParseStatus: a server's answer is either refused or a status with a
// known level, non-negative counts, and no control characters in errors.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"schema":"streamdoctor.outage/v1","service":"netflix","region":"","status":"outage","reports_15m":40,"baseline_15m":0.6,"since":"2026-12-01T07:25:00Z","updated_at":"2026-12-01T07:26:51Z"}`))
	f.Add([]byte(`{"schema":"streamdoctor.outage/v1","status":"down\u001b[32m"}`))
	f.Add([]byte(`{"schema":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatus(b)
		if err != nil {
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Fatalf("error carries control characters: %q", err)
			}
			return
		}
		if Level(st.Status) == 0 && st.Status != Normal || st.Reports15m < 0 || st.Baseline15 < 0 {
			t.Fatalf("accepted %+v", st)
		}
	})
}
