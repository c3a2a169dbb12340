package session_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/session"
)

// The machine driven directly, as a web page does: every transition is
// saved; an automated step's exact plan is what runs; a wrong answer is
// refused without changing the state.
func TestMachineDrivenWithoutATerminal(t *testing.T) {
	k := kb.MustDefault()
	w := labtest.World(t, "stale-browser-data.yaml")
	dir := t.TempDir()
	path := filepath.Join(dir, "session.json")
	saves := 0
	m := &session.Machine{KB: k, OS: "linux",
		FixEnv:    &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: []string{"netflix.com"}},
		Diagnoser: check.Diagnoser(k, func() *probe.Env { return w.Env() }, check.Request{Profile: w.Profile, Code: "NSEZ-503", Timeout: 5 * time.Second}),
		Save:      func(st *session.State) error { saves++; return st.Save(path) },
	}
	st := &session.State{Schema: session.Schema, Service: "netflix", Code: "NSEZ-503", StartedAt: time.Now()}
	ctx := context.Background()
	for i := 0; i < 6 && st.Await != session.AwaitConsent; i++ {
		if err := m.Next(ctx, st, i+1); err != nil {
			t.Fatal(err)
		}
		if st.Await == session.AwaitConsent {
			break
		}
		// Steps by hand that do not help, until the automated one.
		for _, a := range []string{session.Done, session.No} {
			if st.Await == session.AwaitPlugged || st.Await == session.AwaitRestart {
				t.Fatalf("unexpected step %s", st.Step.Fix)
			}
			if _, err := m.Answer(ctx, st, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st.Await != session.AwaitConsent || st.Step.Fix != "clear_site_data" || st.Step.Plan == nil || len(st.Step.Plan.Stores) == 0 {
		t.Fatalf("never offered clearing site data: %+v", st.Step)
	}
	if _, err := m.Answer(ctx, st, session.Plugged); !errors.Is(err, session.ErrNotAwaited) || st.Await != session.AwaitConsent {
		t.Errorf("a wrong answer: %v, await %s", err, st.Await)
	}
	saved, _ := session.Load(path)
	if saved.Await != session.AwaitConsent || saved.Step.Plan == nil {
		t.Errorf("the offer was not saved: %+v", saved)
	}
	// An answer names the turn it was given at: a second "yes" for the
	// consent's turn (a double click) does not answer the next question.
	consentTurn := st.Turn
	out, err := m.AnswerTurn(ctx, st, consentTurn, session.Yes)
	if err != nil || out.Entry == "" || st.Await != session.AwaitVerdict || st.Turn == consentTurn {
		t.Fatalf("consent: %+v %v await %s turn %d", out, err, st.Await, st.Turn)
	}
	if _, err := m.AnswerTurn(ctx, st, consentTurn, session.Yes); !errors.Is(err, session.ErrStale) || st.Finished || st.Await != session.AwaitVerdict {
		t.Fatalf("a stale yes: %v, finished %v, await %s", err, st.Finished, st.Await)
	}
	if _, err := m.AnswerTurn(ctx, st, st.Turn, session.Yes); err != nil || !st.Finished {
		t.Fatalf("verdict: %v %+v", err, st)
	}
	if saved, _ := session.Load(path); !saved.Finished || saved.Await != session.AwaitFinished || len(saved.Entries) != 1 {
		t.Errorf("final state %+v", saved)
	}
	if saves < 4 {
		t.Errorf("%d saves: every transition must be saved", saves)
	}
}

// A state saved before the machine existed resumes where it was.
func TestOldStateMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json")
	for waiting, want := range map[string]string{"restart_router": session.AwaitNetwork, "restart_device": session.AwaitRestart} {
		os.WriteFile(path, []byte(`{"schema":"streamdoctor.session/v1","service":"netflix","started_at":"2026-11-30T10:00:00Z","tried":["disable_vpn"],"waiting":"`+waiting+`","finished":false}`), 0o600)
		st, err := session.Load(path)
		if err != nil || st.Await != want || st.Step == nil || st.Step.Fix != waiting || st.Tried[0] != "disable_vpn" {
			t.Errorf("%s: %+v %v", waiting, st, err)
		}
	}
}

// A step put off ("I can't do this now") is planned around, not counted
// as tried: the next step is another one, the plan's chances are not
// conditioned on it having failed, and it comes back once nothing else is
// left.
func TestSkippedStepComesBackLast(t *testing.T) {
	k := kb.MustDefault()
	w := labtest.World(t, "stale-browser-data.yaml")
	dir := t.TempDir()
	m := &session.Machine{KB: k, OS: "linux",
		FixEnv:    &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: []string{"netflix.com"}},
		Diagnoser: check.Diagnoser(k, func() *probe.Env { return w.Env() }, check.Request{Profile: w.Profile, Code: "NSEZ-503", Timeout: 5 * time.Second}),
		Save:      func(st *session.State) error { return st.Save(filepath.Join(dir, "session.json")) },
	}
	st := &session.State{Schema: session.Schema, Service: "netflix", Code: "NSEZ-503", StartedAt: time.Now()}
	ctx := context.Background()
	if err := m.Next(ctx, st, 1); err != nil {
		t.Fatal(err)
	}
	first := st.Step.Fix
	if _, err := m.Answer(ctx, st, session.Skip); err != nil {
		t.Fatal(err)
	}
	if len(st.Tried) != 0 || len(st.Skipped) != 1 || st.Await != session.AwaitPlan {
		t.Fatalf("after skipping: tried %v skipped %v await %q", st.Tried, st.Skipped, st.Await)
	}
	if err := m.Next(ctx, st, 1); err != nil {
		t.Fatal(err)
	}
	if st.Step == nil || st.Step.Fix == first {
		t.Fatalf("after putting off %s the next step is %+v", first, st.Step)
	}
	// Every other step skipped too: the first comes back.
	seen := map[string]bool{first: true}
	for range 20 {
		if st.Step == nil || (seen[st.Step.Fix] && len(st.Skipped) == 0) {
			break
		}
		seen[st.Step.Fix] = true
		if _, err := m.Answer(ctx, st, session.Skip); err != nil {
			t.Fatal(err)
		}
		if err := m.Next(ctx, st, 1); err != nil {
			t.Fatal(err)
		}
	}
	if st.Step == nil || !seen[st.Step.Fix] || len(st.Tried) != 0 {
		t.Errorf("once everything was put off: step %+v, tried %v", st.Step, st.Tried)
	}
	// A verdict cannot be skipped: the step was done.
	st.Await = session.AwaitVerdict
	if _, err := m.Answer(ctx, st, session.Skip); !errors.Is(err, session.ErrNotAwaited) {
		t.Errorf("skip at the verdict: %v", err)
	}
}
