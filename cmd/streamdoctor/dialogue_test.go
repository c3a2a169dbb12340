package main

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
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/session"
)

// labSession runs a session against a lab scenario; the world's fault is
// "repaired" when repair (a fix id) has been tried.
func labSession(t *testing.T, scenario, input string) (*labDialogue, *session.State, *bytes.Buffer) {
	t.Helper()
	k := kb.MustDefault()
	broken := labtest.Scenario(t, scenario)
	out := &bytes.Buffer{}
	dir := t.TempDir()
	ld := &labDialogue{statePath: filepath.Join(dir, "session.json")}
	cfg := session.Config{KB: k, OS: "linux", FixEnv: &fix.Env{OS: "linux", Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")}},
		StatePath: ld.statePath, Service: "netflix", Code: "NSEZ-503", Diagnoser: freshWorld{k, broken},
		NetworkBack: func(ctx context.Context) bool { return ld.networkBack != nil && ld.networkBack(ctx) }}
	ld.cfg = cfg
	ld.dialogue = &dialogue{Guide: session.New(cfg), In: bufio.NewReader(strings.NewReader(input)), Out: out,
		WaitFor: 2 * time.Second, Tick: 50 * time.Millisecond}
	return ld, ld.Guide.Start(), out
}

// labDialogue is a terminal dialogue over a lab world, whose "is the
// network back?" a test sets.
type labDialogue struct {
	*dialogue
	cfg         session.Config
	statePath   string
	networkBack func(context.Context) bool
}

// dryRun makes the dialogue's guide save nothing, as fix --dry-run does.
func (ld *labDialogue) dryRun() {
	cfg := ld.cfg
	cfg.StatePath = ""
	ld.DryRun, ld.Guide = true, session.New(cfg)
}

// freshWorld checks a new world of the scenario each time: the fault
// stays whatever was tried, so every step "does not help".
type freshWorld struct {
	k  *kb.KB
	sc *lab.Scenario
}

func (f freshWorld) Diagnose(ctx context.Context, tried, skipped []string) (session.Outlook, error) {
	w, err := lab.Start(f.sc)
	if err != nil {
		return session.Outlook{}, err
	}
	defer w.Close()
	return check.Diagnoser(f.k, func() *probe.Env { return w.Env() }, check.Request{Profile: w.Profile, Code: "NSEZ-503", Timeout: 5 * time.Second}).Diagnose(ctx, tried, skipped)
}

func TestManualStepThenFixed(t *testing.T) {
	s, st, out := labSession(t, "vpn-blocked.yaml", "\ny\n") // done; it plays
	if err := s.Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Step 1: Turn off the VPN") || !strings.Contains(out.String(), "Enjoy the show") || !st.Finished {
		t.Errorf("%s", out)
	}
	saved, err := session.Load(s.statePath)
	if err != nil || saved == nil || !saved.Finished {
		t.Errorf("saved state %+v %v", saved, err)
	}
}

func TestRouterRestartWaitsThenReplans(t *testing.T) {
	// Step 1 is restarting the router; the network stays down past the wait,
	// so the session stops with its state saved.
	s, st, out := labSession(t, "gateway-unreachable.yaml", "\n")
	s.networkBack = func(context.Context) bool { return false }
	err := s.Run(context.Background(), st)
	if err != session.ErrStopped || !strings.Contains(out.String(), "Step 1: Restart your router") || !strings.Contains(out.String(), "Waiting for the network to come back… 0:0") || strings.Count(out.String(), "Waiting for") != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	saved, _ := session.Load(s.statePath)
	if saved == nil || saved.Waiting != "restart_router" {
		t.Fatalf("state %+v", saved)
	}
	// Resumed with the network back: it still does not play, so the router
	// restart counts as tried and the next step is planned without it.
	out.Reset()
	s.In = bufio.NewReader(strings.NewReader("n\nq\n"))
	s.networkBack = func(context.Context) bool { return true }
	if err := s.Run(context.Background(), saved); err != nil && err != session.ErrStopped {
		t.Fatal(err)
	}
	o := out.String()
	if !strings.Contains(o, "The network is back.") || strings.Contains(o, "Restart your router") || !strings.Contains(o, "Step 1: ") {
		t.Errorf("resume:\n%s", o)
	}
	if saved2, _ := session.Load(s.statePath); saved2 == nil || saved2.Tried[0] != "restart_router" {
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
	saved, _ := session.Load(s.statePath)
	out.Reset()
	s.In = bufio.NewReader(strings.NewReader("y\n"))
	if err := s.Run(context.Background(), saved); err != nil || !strings.Contains(out.String(), "Welcome back") || !saved.Finished {
		t.Errorf("%v %+v\n%s", err, saved, out)
	}
}

func TestDryRunAndBadState(t *testing.T) {
	s, st, out := labSession(t, "vpn-blocked.yaml", "")
	s.dryRun()
	if err := s.Run(context.Background(), st); err != nil || !strings.Contains(out.String(), "dry run: nothing was changed") {
		t.Errorf("%v\n%s", err, out)
	}
	if _, err := os.Stat(s.statePath); err == nil {
		t.Error("a dry run saved state")
	}
	os.WriteFile(s.statePath, []byte(`{"schema": "streamdoctor.sess`), 0o600)
	if _, err := session.Load(s.statePath); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("half-written state: %v", err)
	}
}

// Input that ends before a step is answered (a pipe, /dev/null) stops the
// session on a line of its own, marked so that fix exits 1 and says why.
func TestInputEndedStops(t *testing.T) {
	s, st, out := labSession(t, "vpn-blocked.yaml", "")
	err := s.Run(context.Background(), st)
	if !errors.Is(err, session.ErrStopped) || !s.inputEnded || !strings.HasSuffix(out.String(), "q = stop] \n") {
		t.Errorf("err %v, input ended %v, output ends %q", err, s.inputEnded, out.String()[max(0, out.Len()-40):])
	}
}
