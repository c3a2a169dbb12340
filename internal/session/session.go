// Package session walks a person through the plan: it shows each step,
// asks before changing anything, applies it, checks again, re-plans when a
// step did not help, and stops when the service works. Its state is saved
// after every step (atomically), so it resumes after the router or the
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

// Run walks the plan from st (new or resumed). A step is judged by the
// person ("does it play now?"), since only they can see the player; the
// check is re-run before each step so the plan follows what is measured
// now and skips what was already tried.
func (s *Session) Run(ctx context.Context, st *State) error {
	switch st.Waiting {
	case "restart_device":
		fmt.Fprintln(s.Out, "Welcome back.")
	case "restart_router":
		if err := s.waitForNetwork(ctx); err != nil {
			return err
		}
	}
	if st.Waiting != "" {
		done, err := s.judge(st, st.Waiting)
		if done || err != nil {
			return err
		}
	}
	for step := 1; ; step++ {
		res, err := s.Check(ctx, st.Tried)
		if err != nil {
			return err
		}
		d := res.Diagnosis
		if len(d.Plan) == 0 {
			fmt.Fprintln(s.Out, "\nNothing more can be tried from here. Contact the service's support or your internet provider, and share a report ('streamdoctor check --report report.html').")
			return s.stop(st)
		}
		next := d.Plan[0]
		f := s.KB.Fix(next.Fix)
		fmt.Fprintf(s.Out, "\n%s\nStep %d: %s (%s, about %.0f min, %.0f %% likely to fix it)\n",
			res.Report.Verdict.Summary, step, f.Title, f.Difficulty, f.Minutes, next.PSuccess*100)
		applied, err := s.tryAutomated(ctx, st, next.Fix)
		if err != nil || s.DryRun && applied {
			return err
		}
		if !applied {
			for _, line := range f.StepsFor(s.OS) {
				fmt.Fprintf(s.Out, "  - %s\n", line)
			}
			if s.DryRun {
				fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
				return nil
			}
			switch next.Fix {
			case "restart_device":
				st.Waiting = "restart_device"
				if err := s.save(st); err != nil {
					return err
				}
				fmt.Fprintln(s.Out, "\nAfter the restart, open a terminal and run:\n\n  streamdoctor fix --resume\n\nYour progress is saved.")
				return nil
			case "restart_router":
				if a := s.ask("Press Enter once the router is plugged back in (q to stop) "); a == "q" {
					return s.stop(st)
				}
				st.Waiting = "restart_router"
				if err := s.save(st); err != nil {
					return err
				}
				if err := s.waitForNetwork(ctx); err != nil {
					return err
				}
			default:
				if a := s.ask("Done? [Enter = done, q = stop] "); a == "q" {
					return s.stop(st)
				}
			}
		}
		done, err := s.judge(st, next.Fix)
		if done || err != nil {
			return err
		}
	}
}

// tryAutomated offers to apply an automated fix; it reports whether the fix
// was handled here (applied, or shown in a dry run).
func (s *Session) tryAutomated(ctx context.Context, st *State, id string) (bool, error) {
	if !fix.Automatable(id, s.FixEnv.OS) {
		return false, nil
	}
	plan, err := fix.PlanFix(ctx, s.FixEnv, id)
	if err != nil || !plan.Automated {
		if err != nil {
			fmt.Fprintf(s.Out, "(StreamDoctor cannot do this one for you here: %v)\n", err)
		}
		return false, nil
	}
	fmt.Fprintln(s.Out, "StreamDoctor can do this for you. It will:")
	plan.Write(s.Out)
	if s.DryRun {
		fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
		return true, nil
	}
	if !s.Yes {
		a := s.ask("Do it? [y/N/q] ")
		if a == "q" {
			return false, s.stop(st)
		}
		if a != "y" && a != "yes" {
			return false, nil
		}
	}
	st.Consent = &plan
	if err := s.save(st); err != nil {
		return false, err
	}
	en, err := fix.Apply(ctx, s.FixEnv, plan)
	st.Consent = nil
	var changed *fix.ChangedError
	switch {
	case errors.As(err, &changed):
		fmt.Fprintf(s.Out, "Nothing was changed: things changed since you said yes. It would now:\n")
		changed.Now.Write(s.Out)
		return false, s.save(st)
	case err != nil:
		fmt.Fprintf(s.Out, "Could not apply it: %v\n", err)
		return false, s.save(st)
	case en != nil:
		st.Entries = append(st.Entries, en.ID)
		fmt.Fprintf(s.Out, "Done (undo with 'streamdoctor undo %s').\n", en.ID)
	}
	return true, s.save(st)
}

// judge asks whether the service works now; a "no" marks the fix as tried.
func (s *Session) judge(st *State, id string) (bool, error) {
	st.Waiting = ""
	a := s.ask("Does it play now? [y/N/q] ")
	switch a {
	case "y", "yes":
		fmt.Fprintln(s.Out, "Good. Enjoy the show.")
		st.Finished = true
		return true, s.save(st)
	case "q":
		st.Tried = appendOnce(st.Tried, id)
		return true, s.stop(st)
	}
	st.Tried = appendOnce(st.Tried, id)
	return false, s.save(st)
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
