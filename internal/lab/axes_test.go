package lab

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// TestFaultAxes moves each graded fault along its own axis, not only at the
// suite's numbers, with and without an error code: round trips of 600 to
// 1,500 ms with jitter 0 to 30 ms are the provider's path; a signal of -78
// to -100 dBm (read only, or degrading the line) is weak Wi-Fi; a line of
// 0.5 to 4 Mbps is too slow. A plain check must name them as surely as a
// check with NSEZ-503 does.
func TestFaultAxes(t *testing.T) {
	type axis struct {
		name, yaml, want string
	}
	var cases []axis
	for _, rtt := range []int{600, 1500} {
		for _, j := range []int{0, 30} {
			cases = append(cases, axis{fmt.Sprintf("rtt%d-jitter%d", rtt, j), fmt.Sprintf("system: {link: ethernet}\nnetwork: {rtt_ms: %d, jitter_ms: %d}\n", rtt, j), "isp_routing"})
		}
	}
	for _, dbm := range []int{-78, -100} {
		for _, degrades := range []bool{false, true} {
			cases = append(cases, axis{fmt.Sprintf("signal%d-degrades-%v", dbm, degrades), fmt.Sprintf("system: {link: wifi, wifi_signal_dbm: %d, wifi_degrades: %v}\n", dbm, degrades), "weak_wifi"})
		}
	}
	for _, mbps := range []float64{0.5, 4} {
		cases = append(cases, axis{fmt.Sprintf("bandwidth%g", mbps), fmt.Sprintf("system: {link: ethernet}\nnetwork: {bandwidth_mbps: %g}\n", mbps), "low_bandwidth"})
	}
	k := kb.MustDefault()
	for _, c := range cases {
		for _, code := range []string{"", "NSEZ-503"} {
			name := c.name + "-" + map[string]string{"": "plain", "NSEZ-503": "NSEZ-503"}[code]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				src := fmt.Sprintf("version: 1\nname: axis-%s\ncode: %q\n%sexpect: {top_cause: %s}\n", name, code, c.yaml, c.want)
				sc, err := Parse(name+".yaml", []byte(src))
				if err != nil {
					t.Fatal(err)
				}
				r, err := Run(context.Background(), k, sc, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if !r.Pass {
					t.Errorf("%s: diagnosed %s (%.0f %%), want %s; %s; evidence %v", name, r.Diagnosed, r.Probability*100, c.want, r.Why, r.Evidence)
				}
			})
		}
	}
}
