package evidence

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// Each layer's rule sets only the symbols the catalogue lists for that
// layer, however the observations fall; and every listed symbol is set by
// its rule in some world.
func TestRulesSetOnlyTheirLayersSymbols(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 3000 {
		var obs []probe.Observation
		for _, p := range catalog.Probes {
			for _, target := range []string{"www.netflix.com", "assets.nflxext.com:443"} {
				o := probe.Observation{Probe: p.Name, Target: target, Value: r.Float64()*2000 - 100, Retries: r.IntN(2), Addrs: []string{[]string{"1.2.3.4", "5.6.7.8"}[r.IntN(2)]}}
				switch r.IntN(3) {
				case 0:
					o.Status = probe.OK
				case 1:
					o.Status = probe.NotRun
					if r.IntN(2) == 0 {
						o.Failure = catalog.FWired
					}
				default:
					o.Status = probe.Problem
					codes := append(slices.Clone(p.Failures), catalog.FTimeout, catalog.FRefused, catalog.FNXDomain, catalog.FReset)
					o.Failure = codes[r.IntN(len(codes))]
				}
				obs = append(obs, o)
			}
		}
		v := newView(obs)
		ev := symbols{}
		for _, l := range catalog.Layers {
			before := len(ev)
			own := symbols{}
			for k, val := range ev {
				own[k] = val
			}
			rules[l.ID](v, own)
			for id := range own {
				if _, had := ev[id]; had {
					continue
				}
				if !slices.Contains(catalog.Derived[l.ID], id) {
					t.Fatalf("the %s rule set %q, which the catalogue lists under another layer", l.ID, id)
				}
				seen[id] = true
			}
			ev = own
			_ = before
		}
	}
	for _, l := range catalog.Layers {
		for _, id := range catalog.Derived[l.ID] {
			if !seen[id] {
				t.Errorf("%s: %q is listed but its rule never set it", l.ID, id)
			}
		}
	}
}

// Every failure code a probe declares has words for the viewer, and every
// probe has its words.
func TestCatalogueWords(t *testing.T) {
	for _, p := range catalog.Probes {
		if p.Plain == "" {
			t.Errorf("%s has no plain words", p.Name)
		}
		if !slices.ContainsFunc(catalog.Layers, func(l catalog.Layer) bool { return l.ID == p.Layer }) {
			t.Errorf("%s: unknown layer %q", p.Name, p.Layer)
		}
		for _, f := range p.Failures {
			if f != catalog.FWired && catalog.PlainFailure[f] == "" {
				t.Errorf("%s: failure %q has no plain words", p.Name, f)
			}
		}
	}
}
