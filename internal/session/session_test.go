package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/lab/labtest"
)

// labSession runs a session against a lab scenario; the world's fault is
// "repaired" when repair (a fix id) has been tried.
func labSession(t *testing.T, scenario, input string) (*Session, *State, *bytes.Buffer) {
	t.Helper()
	k := kb.MustDefault()
	broken := labtest.Scenario(t, scenario)
	out := &bytes.Buffer{}
	dir := t.TempDir()
	s := &Session{KB: k, In: bufio.NewReader(strings.NewReader(input)), Out: out, StatePath: filepath.Join(dir, "session.json"),
		OS: "linux", FixEnv: &fix.Env{OS: "linux", Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}},
		WaitFor: 2 * time.Second, Tick: 50 * time.Millisecond}
	s.Check = func(ctx context.Context, tried []string) (*check.Result, error) {
		w, err := lab.Start(broken)
		if err != nil {
			return nil, err
		}
		defer w.Close()
		return check.Run(ctx, k, w.Env(), check.Request{Profile: w.Profile, Code: "NSEZ-503", Timeout: 5 * time.Second, Failed: tried, Persisting: true})
	}
	st := &State{Schema: Schema, Service: "netflix", Code: "NSEZ-503", StartedAt: time.Now()}
	return s, st, out
}

func TestManualStepThenFixed(t *testing.T) {
	s, st, out := labSession(t, "vpn-blocked.yaml", "\ny\n") // done; it plays
	if err := s.Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Step 1: Turn off the VPN") || !strings.Contains(out.String(), "Enjoy the show") || !st.Finished {
		t.Errorf("%s", out)
	}
	saved, err := Load(s.StatePath)
	if err != nil || saved == nil || !saved.Finished {
		t.Errorf("saved state %+v %v", saved, err)
	}
}

func TestRouterRestartWaitsThenReplans(t *testing.T) {
	// Step 1 is restarting the router; the network stays down past the wait,
	// so the session stops with its state saved.
	s, st, out := labSession(t, "gateway-unreachable.yaml", "\n")
	s.NetworkBack = func(context.Context) bool { return false }
	err := s.Run(context.Background(), st)
	if err != ErrStopped || !strings.Contains(out.String(), "Step 1: Restart your router") || !strings.Contains(out.String(), "Waiting for the network to come back… 0:0") || strings.Count(out.String(), "Waiting for") != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	saved, _ := Load(s.StatePath)
	if saved == nil || saved.Waiting != "restart_router" {
		t.Fatalf("state %+v", saved)
	}
	// Resumed with the network back: it still does not play, so the router
	// restart counts as tried and the next step is planned without it.
	out.Reset()
	s.In = bufio.NewReader(strings.NewReader("n\nq\n"))
	s.NetworkBack = func(context.Context) bool { return true }
	if err := s.Run(context.Background(), saved); err != nil && err != ErrStopped {
		t.Fatal(err)
	}
	o := out.String()
	if !strings.Contains(o, "The network is back.") || strings.Contains(o, "Restart your router") || !strings.Contains(o, "Step 1: ") {
		t.Errorf("resume:\n%s", o)
	}
	if saved2, _ := Load(s.StatePath); saved2 == nil || saved2.Tried[0] != "restart_router" {
		t.Errorf("state after resume %+v", saved2)
	}
}

func TestDeviceRestartResume(t *testing.T) {
	// Every step is done and does not help, until the plan asks for a restart.
	s, st, out := labSession(t, "device-glitch.yaml", strings.Repeat("\nn\n", 6))
	if err := s.Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if st.Waiting != "restart_device" || !strings.Contains(out.String(), "streamdoctor fix --resume") {
		t.Fatalf("%+v\n%s", st, out)
	}
	saved, _ := Load(s.StatePath)
	out.Reset()
	s.In = bufio.NewReader(strings.NewReader("y\n"))
	if err := s.Run(context.Background(), saved); err != nil || !strings.Contains(out.String(), "Welcome back") || !saved.Finished {
		t.Errorf("%v %+v\n%s", err, saved, out)
	}
}

func TestDryRunAndBadState(t *testing.T) {
	s, st, out := labSession(t, "vpn-blocked.yaml", "")
	s.DryRun = true
	if err := s.Run(context.Background(), st); err != nil || !strings.Contains(out.String(), "dry run: nothing was changed") {
		t.Errorf("%v\n%s", err, out)
	}
	if _, err := os.Stat(s.StatePath); err == nil {
		t.Error("a dry run saved state")
	}
	os.WriteFile(s.StatePath, []byte(`{"schema": "streamdoctor.sess`), 0o600)
	if _, err := Load(s.StatePath); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("half-written state: %v", err)
	}
}

// The machine driven directly, as a web page does: every transition is
// saved; an automated step's exact plan is what runs; a wrong answer is
// refused without changing the state.
func TestMachineDrivenWithoutATerminal(t *testing.T) {
	k := kb.MustDefault()
	w := labtest.World(t, "stale-browser-data.yaml")
	dir := t.TempDir()
	path := filepath.Join(dir, "session.json")
	saves := 0
	m := &Machine{KB: k, OS: "linux",
		FixEnv: &fix.Env{OS: "linux", Home: w.Home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}, Domains: []string{"netflix.com"}},
		Check: func(ctx context.Context, tried []string) (*check.Result, error) {
			return check.Run(ctx, k, w.Env(), check.Request{Profile: w.Profile, Code: "NSEZ-503", Timeout: 5 * time.Second, Failed: tried, Persisting: true})
		},
		Save: func(st *State) error { saves++; return st.Save(path) },
	}
	st := &State{Schema: Schema, Service: "netflix", Code: "NSEZ-503", StartedAt: time.Now()}
	ctx := context.Background()
	for i := 0; i < 6 && st.Await != AwaitConsent; i++ {
		if err := m.Next(ctx, st, i+1); err != nil {
			t.Fatal(err)
		}
		if st.Await == AwaitConsent {
			break
		}
		// Steps by hand that do not help, until the automated one.
		for _, a := range []string{Done, No} {
			if st.Await == AwaitPlugged || st.Await == AwaitRestart {
				t.Fatalf("unexpected step %s", st.Step.Fix)
			}
			if _, err := m.Answer(ctx, st, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st.Await != AwaitConsent || st.Step.Fix != "clear_site_data" || st.Step.Plan == nil || len(st.Step.Plan.Stores) == 0 {
		t.Fatalf("never offered clearing site data: %+v", st.Step)
	}
	if _, err := m.Answer(ctx, st, Plugged); !errors.Is(err, ErrNotAwaited) || st.Await != AwaitConsent {
		t.Errorf("a wrong answer: %v, await %s", err, st.Await)
	}
	saved, _ := Load(path)
	if saved.Await != AwaitConsent || saved.Step.Plan == nil {
		t.Errorf("the offer was not saved: %+v", saved)
	}
	out, err := m.Answer(ctx, st, Yes)
	if err != nil || out.Entry == "" || st.Await != AwaitVerdict {
		t.Fatalf("consent: %+v %v await %s", out, err, st.Await)
	}
	if _, err := m.Answer(ctx, st, Yes); err != nil || !st.Finished {
		t.Fatalf("verdict: %v %+v", err, st)
	}
	if saved, _ := Load(path); !saved.Finished || saved.Await != AwaitFinished || len(saved.Entries) != 1 {
		t.Errorf("final state %+v", saved)
	}
	if saves < 4 {
		t.Errorf("%d saves: every transition must be saved", saves)
	}
}

// A state saved before the machine existed resumes where it was.
func TestOldStateMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json")
	for waiting, want := range map[string]string{"restart_router": AwaitNetwork, "restart_device": AwaitRestart} {
		os.WriteFile(path, []byte(`{"schema":"streamdoctor.session/v1","service":"netflix","started_at":"2026-11-30T10:00:00Z","tried":["disable_vpn"],"waiting":"`+waiting+`","finished":false}`), 0o600)
		st, err := Load(path)
		if err != nil || st.Await != want || st.Step == nil || st.Step.Fix != waiting || st.Tried[0] != "disable_vpn" {
			t.Errorf("%s: %+v %v", waiting, st, err)
		}
	}
}
