// Package session walks a person through the plan: it shows each step,
// asks before changing anything, applies it, checks again, re-plans when a
// step did not help, and stops when the service works. The steps and their
// transitions are a state machine (Machine: Next plans, Answer applies what
// the person said or what a face observed), and State says what it awaits;
// the terminal dialogue (Session.Run) is one face of it and a web page can
// be another, with no step logic of their own. The state is saved after
// every transition (atomically), so it resumes after the router or the
// computer restart it asked for; after a router restart it waits for the
// network to come back by itself, with a visible countdown.
package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// Schema of the state file.
const Schema = "streamdoctor.session/v1"

// State is what survives a restart.
type State struct {
	Schema    string    `json:"schema"`
	Service   string    `json:"service"`
	Code      string    `json:"code,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// Tried are fixes done without the service working yet.
	Tried []string `json:"tried"`
	// Waiting is the restart the session asked for (restart_router,
	// restart_device), if any.
	Waiting  string   `json:"waiting,omitempty"`
	Entries  []string `json:"journal_entries,omitempty"`
	Finished bool     `json:"finished"`
	// Consent is the exact plan the person approved, saved before it is
	// applied: it is what runs, verbatim, or nothing does.
	Consent *fix.Plan `json:"consent,omitempty"`
	// Await is what the session waits for (see Machine); Step is the step
	// shown. A state saved before these existed is migrated by Load.
	Await string `json:"await,omitempty"`
	Step  *Step  `json:"step,omitempty"`
}

// Load reads the state; a missing file is (nil, nil); an unreadable one is
// an error that says so (the caller starts fresh).
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil || s.Schema != Schema {
		return nil, fmt.Errorf("the saved session %s is unreadable; starting a new one", path)
	}
	// A state from before the machine: only a restart could be pending.
	if s.Await == AwaitPlan && s.Step == nil {
		switch s.Waiting {
		case "restart_router":
			s.Await, s.Step = AwaitNetwork, &Step{Fix: "restart_router"}
		case "restart_device":
			s.Await, s.Step = AwaitRestart, &Step{Fix: "restart_device"}
		}
	}
	if s.Finished {
		s.Await = AwaitFinished
	}
	return &s, nil
}

// Save writes the state atomically.
func (s *State) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return fix.WriteFileAtomic(path, b, 0o600)
}

// Session runs the guided fix.
type Session struct {
	KB        *kb.KB
	In        *bufio.Reader
	Out       io.Writer
	StatePath string
	Yes       bool // approve automated steps without asking
	DryRun    bool
	OS        string // windows | macos | linux (KB names)
	FixEnv    *fix.Env
	// Check runs a diagnosis given the fixes already tried.
	Check func(ctx context.Context, tried []string) (*check.Result, error)
	// NetworkBack reports whether the network answers again (router, a control site).
	NetworkBack func(ctx context.Context) bool
	// WaitFor bounds the wait after a router restart (default 5 min); Tick is the poll interval.
	WaitFor, Tick time.Duration
	// TTY rewrites the countdown in place; otherwise it prints a line every 30 s.
	TTY bool
}

func (s *Session) ask(q string) string {
	fmt.Fprint(s.Out, q)
	line, err := s.In.ReadString('\n')
	if err != nil && line == "" {
		return "q"
	}
	return strings.ToLower(strings.TrimSpace(line))
}

// ErrStopped means the person stopped the session (it can be resumed).
var ErrStopped = errors.New("stopped; run 'streamdoctor fix --resume' to continue")

// Run is the terminal face of the guided session: it walks the machine
// from st (new or resumed), showing each step and asking what the state
// awaits. A step is judged by the person ("does it play now?"), since only
// they can see the player; the check is re-run before each step so the
// plan follows what is measured now and skips what was already tried.
func (s *Session) Run(ctx context.Context, st *State) error {
	m := &Machine{KB: s.KB, OS: s.OS, FixEnv: s.FixEnv, Check: s.Check, Save: s.save}
	number := 0
	shown := false   // the current step's text was printed in this run
	planned := false // the current step was planned in this run (not resumed)
	answer := func(a string) error {
		out, err := m.Answer(ctx, st, a)
		switch {
		case out.Entry != "":
			fmt.Fprintf(s.Out, "Done (undo with 'streamdoctor undo %s').\n", out.Entry)
		case out.Changed != nil:
			fmt.Fprintf(s.Out, "Nothing was changed: things changed since you said yes. It would now:\n")
			out.Changed.Write(s.Out)
		case out.Err != nil:
			fmt.Fprintf(s.Out, "Could not apply it: %v\n", out.Err)
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch st.Await {
		case AwaitPlan:
			number++
			if err := m.Next(ctx, st, number); err != nil {
				return err
			}
			shown, planned = false, true
			if st.Step != nil {
				fmt.Fprintf(s.Out, "\n%s\nStep %d: %s (%s, about %.0f min, %.0f %% likely to fix it)\n",
					st.Step.Summary, st.Step.Number, st.Step.Title, st.Step.Difficulty, st.Step.Minutes, st.Step.PSuccess*100)
			}
		case AwaitStuck:
			fmt.Fprintln(s.Out, "\nNothing more can be tried from here. Contact the service's support or your internet provider, and share a report ('streamdoctor check --report report.html').")
			st.Await = AwaitPlan // a later resume checks again
			return s.stop(st)
		case AwaitFinished:
			return nil
		case AwaitConsent:
			fmt.Fprintln(s.Out, "StreamDoctor can do this for you. It will:")
			st.Step.Plan.Write(s.Out)
			if s.DryRun {
				fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
				return nil
			}
			a := Yes
			if !s.Yes {
				switch s.ask("Do it? [y/N/q] ") {
				case "q":
					a = Stop
				case "y", "yes":
				default:
					a = No
				}
			}
			if err := answer(a); err != nil {
				return err
			}
		case AwaitDone, AwaitPlugged, AwaitRestart:
			if st.Await == AwaitRestart && !planned {
				// Resumed after the restart.
				fmt.Fprintln(s.Out, "Welcome back.")
				if err := answer(Back); err != nil {
					return err
				}
				continue
			}
			if !shown {
				for _, line := range st.Step.Lines {
					fmt.Fprintf(s.Out, "  - %s\n", line)
				}
				shown = true
				if s.DryRun {
					fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
					return nil
				}
				if st.Await == AwaitRestart {
					fmt.Fprintln(s.Out, "\nAfter the restart, open a terminal and run:\n\n  streamdoctor fix --resume\n\nYour progress is saved.")
					return nil
				}
			}
			q, a := "Done? [Enter = done, q = stop] ", Done
			if st.Await == AwaitPlugged {
				q, a = "Press Enter once the router is plugged back in (q to stop) ", Plugged
			}
			if s.ask(q) == "q" {
				a = Stop
			}
			if err := answer(a); err != nil {
				return err
			}
		case AwaitNetwork:
			a := Back
			if err := s.waitForNetwork(ctx); err != nil {
				if !errors.Is(err, ErrStopped) {
					return err
				}
				a = GaveUp
			}
			if err := answer(a); err != nil {
				return err
			}
		case AwaitVerdict:
			a := No
			switch s.ask("Does it play now? [y/N/q] ") {
			case "y", "yes":
				a = Yes
			case "q":
				a = Stop
			}
			if err := answer(a); err != nil {
				return err
			}
			if a == Yes {
				fmt.Fprintln(s.Out, "Good. Enjoy the show.")
				return nil
			}
		default:
			return fmt.Errorf("the saved session waits for %q, which this version does not know; start a new one", st.Await)
		}
	}
}

func (s *Session) save(st *State) error {
	if s.DryRun {
		return nil
	}
	return st.Save(s.StatePath)
}

func (s *Session) stop(st *State) error {
	if err := s.save(st); err != nil {
		return err
	}
	return ErrStopped
}

// waitForNetwork polls until the network answers, showing the time left.
func (s *Session) waitForNetwork(ctx context.Context) error {
	limit, tick := s.WaitFor, s.Tick
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	if tick <= 0 {
		tick = 2 * time.Second
	}
	deadline := time.Now().Add(limit)
	var lastLine time.Time
	for {
		left := time.Until(deadline)
		if left <= 0 {
			fmt.Fprintln(s.Out, "\nThe network has not come back. Check the router's lights and cables; run 'streamdoctor fix --resume' when it is up.")
			return ErrStopped
		}
		switch {
		case s.TTY:
			fmt.Fprintf(s.Out, "\rWaiting for the network to come back… %d:%02d left (Ctrl-C to stop) ", int(left.Minutes()), int(left.Seconds())%60)
		case time.Since(lastLine) >= 30*time.Second:
			fmt.Fprintf(s.Out, "Waiting for the network to come back… %d:%02d left\n", int(left.Minutes()), int(left.Seconds())%60)
			lastLine = time.Now()
		}
		if s.NetworkBack(ctx) {
			fmt.Fprintln(s.Out, "\nThe network is back.")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(tick):
		}
	}
}

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
