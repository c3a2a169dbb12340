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

// Run walks the plan from st (new or resumed).
func (s *Session) Run(ctx context.Context, st *State) error {
	if st.Waiting == "restart_device" {
		fmt.Fprintln(s.Out, "Welcome back. Checking again after the restart…")
		st.Waiting = ""
		st.Tried = appendOnce(st.Tried, "restart_device")
	}
	if st.Waiting == "restart_router" {
		if err := s.waitForNetwork(ctx); err != nil {
			return err
		}
		st.Waiting = ""
		st.Tried = appendOnce(st.Tried, "restart_router")
	}
	if err := st.Save(s.StatePath); err != nil && !s.DryRun {
		return err
	}
	for step := 1; ; step++ {
		res, err := s.Check(ctx, st.Tried)
		if err != nil {
			return err
		}
		d := res.Diagnosis
		if d.Top == "none" || len(d.Plan) == 0 {
			if len(st.Tried) > 0 {
				fmt.Fprintln(s.Out, "\nThe check now passes: try playing again.")
			} else {
				fmt.Fprintln(s.Out, res.Report.Verdict.Summary)
			}
			st.Finished = true
			return s.save(st)
		}
		next := d.Plan[0]
		f := s.KB.Fix(next.Fix)
		fmt.Fprintf(s.Out, "\n%s\nStep %d: %s (%s, about %.0f min, %.0f %% likely to fix it)\n",
			res.Report.Verdict.Summary, step, f.Title, f.Difficulty, f.Minutes, next.PSuccess*100)
		// change_dns stays manual unless servers were chosen (its builder refuses).
		if fix.Automatable(next.Fix, s.FixEnv.OS) {
			plan, perr := fix.PlanFix(ctx, s.FixEnv, next.Fix)
			if perr == nil && plan.Automated {
				fmt.Fprintln(s.Out, "StreamDoctor can do this for you. It will:")
				for _, c := range plan.Changes {
					fmt.Fprintf(s.Out, "  - %s\n", c)
				}
				for _, c := range plan.Commands {
					fmt.Fprintf(s.Out, "    $ %s\n", strings.Join(c, " "))
				}
				if s.DryRun {
					fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
					return nil
				}
				ok := s.Yes
				if !ok {
					a := s.ask("Do it? [y/N/q] ")
					if a == "q" {
						return s.stop(st)
					}
					ok = a == "y" || a == "yes"
				}
				if ok {
					en, err := fix.Apply(ctx, s.FixEnv, next.Fix)
					if err != nil {
						fmt.Fprintf(s.Out, "Could not apply it: %v\n", err)
					} else if en != nil {
						st.Entries = append(st.Entries, en.ID)
						fmt.Fprintf(s.Out, "Done (undo with 'streamdoctor undo %s').\n", en.ID)
					}
					st.Tried = appendOnce(st.Tried, next.Fix)
					if err := s.save(st); err != nil {
						return err
					}
					continue
				}
			} else if perr != nil {
				fmt.Fprintf(s.Out, "(It cannot be done automatically here: %v)\n", perr)
			}
		}
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
			a := s.ask("Press Enter once you have plugged the router back in (q to stop) ")
			if a == "q" {
				return s.stop(st)
			}
			st.Waiting = "restart_router"
			if err := s.save(st); err != nil {
				return err
			}
			if err := s.waitForNetwork(ctx); err != nil {
				return err
			}
			st.Waiting = ""
		default:
			a := s.ask("Done? [Enter = done, s = skip, q = stop] ")
			if a == "q" {
				return s.stop(st)
			}
		}
		st.Tried = appendOnce(st.Tried, next.Fix)
		if err := s.save(st); err != nil {
			return err
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
	for {
		left := time.Until(deadline)
		if left <= 0 {
			fmt.Fprintln(s.Out, "\nThe network has not come back. Check the router's lights and cables; run 'streamdoctor fix --resume' when it is up.")
			return ErrStopped
		}
		fmt.Fprintf(s.Out, "\rWaiting for the network to come back… %d:%02d left ", int(left.Minutes()), int(left.Seconds())%60)
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
