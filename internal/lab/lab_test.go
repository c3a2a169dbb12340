package lab

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// TestScenarios runs every scenario file through the real check path —
// probes against the lab's loopback servers, evidence, engine — and checks
// the verdict.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("only %d scenario files", len(files))
	}
	k := kb.MustDefault()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			sc, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(context.Background(), k, sc, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-22s expected %-20s got %-20s %5.1f %%  %d ms", sc.Name, r.Expected, r.Diagnosed, r.Probability*100, r.WallMS)
			if !r.Pass {
				var top []string
				for i, c := range r.Check.Diagnosis.Causes {
					if i == 4 {
						break
					}
					top = append(top, c.Cause)
				}
				t.Errorf("%s: expected %s, diagnosed %s (%.0f %%); %s; ranking %v; evidence %v",
					sc.Name, r.Expected, r.Diagnosed, r.Probability*100, r.Why, top, r.Check.Evidence)
				for _, o := range r.Check.Report.Observations {
					if o.Status != probe.OK || o.Probe == catalog.PLatency || o.Probe == catalog.PLoss || o.Probe == catalog.PJitter {
						t.Logf("  %s %s %s %s %s", o.Probe, o.Target, o.Status, o.Failure, o.Detail)
					}
				}
			}
			if r.WallMS > 8000 {
				t.Errorf("%s took %d ms", sc.Name, r.WallMS)
			}
		})
	}
}
