package lab

import (
	"context"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// Without a crowd server, a service that is silent while other sites load
// is "down for everyone" or "blocked on my side", and the engine asks the
// one question that tells them apart from outside.
func TestOutageOrBlockAsksAboutMobileData(t *testing.T) {
	sc, err := LoadFile("../../scenarios/outage-blackhole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), kb.MustDefault(), sc, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q := r.Check.Diagnosis.Question
	if q == nil || (q.Evidence != "mobile_data_works" && q.Evidence != "other_devices_work") {
		t.Fatalf("question %+v, want one that tells an outage from a block (mobile data or other devices)", q)
	}
	t.Logf("asked: %s", q.Evidence)
}

// The crowd probe reaches the world's real outage server, and its answer
// is what the world's history says.
func TestCrowdProbeAsksTheWorldsServer(t *testing.T) {
	for mode, want := range map[string]string{"normal": "", "outage": catalog.FCrowdOutage} {
		sc, err := Parse("x.yaml", []byte("version: 1\nname: crowd-"+mode+"\nnetwork: {crowd: "+mode+"}\nexpect: {top_cause: none}\n"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := Start(sc)
		if err != nil {
			t.Fatal(err)
		}
		obs, _ := probe.Run(context.Background(), w.Env(), w.Profile, probe.Options{})
		w.Close()
		found := false
		for _, o := range obs {
			if o.Probe != catalog.PCrowd {
				continue
			}
			found = true
			if o.Status == probe.NotRun || o.Failure != want {
				t.Errorf("crowd %s: %s %q (%s), want failure %q", mode, o.Status, o.Failure, o.Detail, want)
			}
		}
		if !found {
			t.Errorf("crowd %s: no crowd observation", mode)
		}
	}
}
