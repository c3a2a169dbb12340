package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/session"
)

// dialogue is the terminal face of a guided session (session.Guide): it
// shows each step and asks, on the terminal, what the machine awaits.
type dialogue struct {
	Guide  *session.Guide
	In     *bufio.Reader
	Out    io.Writer
	Yes    bool // approve automated steps without asking
	DryRun bool
	// WaitFor bounds the wait after a router restart (default 5 min); Tick is the poll interval.
	WaitFor, Tick time.Duration
	// TTY rewrites the countdown in place; otherwise it prints a line every 30 s.
	TTY bool
	// inputEnded: an answer was asked for and the input had ended.
	inputEnded bool
}

func (s *dialogue) ask(q string) string {
	fmt.Fprint(s.Out, q)
	line, err := s.In.ReadString('\n')
	if err != nil && line == "" {
		// The input ended (a pipe, /dev/null): no one can answer, so the
		// session stops, on a line of its own.
		fmt.Fprintln(s.Out)
		s.inputEnded = true
		return "q"
	}
	return strings.ToLower(strings.TrimSpace(line))
}

// Run walks the machine
// from st (new or resumed), showing each step and asking what the state
// awaits. A step is judged by the person ("does it play now?"), since only
// they can see the player; the check is re-run before each step so the
// plan follows what is measured now and skips what was already tried.
func (s *dialogue) Run(ctx context.Context, st *session.State) error {
	m := s.Guide.Machine
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
		case a == session.Skip && err == nil:
			fmt.Fprintln(s.Out, "Put off; it comes back if nothing else helps. The next step:")
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch st.Await {
		case session.AwaitPlan:
			number++
			if err := m.Next(ctx, st, number); err != nil {
				return err
			}
			shown, planned = false, true
			if st.Step != nil {
				fmt.Fprintf(s.Out, "\n%s\nStep %d: %s (%s, about %.0f min, %.0f %% likely to fix it)\n",
					st.Step.Summary, st.Step.Number, st.Step.Title, st.Step.Difficulty, st.Step.Minutes, st.Step.PSuccess*100)
			}
		case session.AwaitStuck:
			fmt.Fprintln(s.Out, "\nNothing more can be tried from here. Contact the service's support or your internet provider, and share a report ('streamdoctor check --report report.html').")
			st.Await = session.AwaitPlan // a later resume checks again
			return s.stop(st)
		case session.AwaitFinished:
			return nil
		case session.AwaitConsent:
			fmt.Fprintln(s.Out, "StreamDoctor can do this for you. It will:")
			st.Step.Plan.Write(s.Out)
			if s.DryRun {
				fmt.Fprintln(s.Out, "(dry run: nothing was changed)")
				return nil
			}
			a := session.Yes
			if !s.Yes {
				switch s.ask("Do it? [y/N, s = not now, q = stop] ") {
				case "q":
					a = session.Stop
				case "s":
					a = session.Skip
				case "y", "yes":
				default:
					a = session.No
				}
			}
			if err := answer(a); err != nil {
				return err
			}
		case session.AwaitDone, session.AwaitPlugged, session.AwaitRestart:
			if st.Await == session.AwaitRestart && !planned {
				// Resumed after the restart.
				fmt.Fprintln(s.Out, "Welcome back.")
				if err := answer(session.Back); err != nil {
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
				if st.Await == session.AwaitRestart {
					fmt.Fprintln(s.Out, "\nAfter the restart, open a terminal and run:\n\n  streamdoctor fix --resume\n\nYour progress is saved.")
					return nil
				}
			}
			q, a := "Done? [Enter = done, s = not now, q = stop] ", session.Done
			if st.Await == session.AwaitPlugged {
				q, a = "Press Enter once the router is plugged back in (q to stop) ", session.Plugged
			}
			switch s.ask(q) {
			case "q":
				a = session.Stop
			case "s":
				if st.Await == session.AwaitDone {
					a = session.Skip
				}
			}
			if err := answer(a); err != nil {
				return err
			}
		case session.AwaitNetwork:
			a := session.Back
			if err := s.waitForNetwork(ctx); err != nil {
				if !errors.Is(err, session.ErrStopped) {
					return err
				}
				a = session.GaveUp
			}
			if err := answer(a); err != nil {
				return err
			}
		case session.AwaitVerdict:
			a := session.No
			switch s.ask("Does it play now? [y/N/q] ") {
			case "y", "yes":
				a = session.Yes
			case "q":
				a = session.Stop
			}
			if err := answer(a); err != nil {
				return err
			}
			if a == session.Yes {
				fmt.Fprintln(s.Out, "Good. Enjoy the show.")
				return nil
			}
		default:
			return fmt.Errorf("the saved session waits for %q, which this version does not know; start a new one", st.Await)
		}
	}
}

func (s *dialogue) stop(st *session.State) error {
	if err := s.Guide.Machine.Save(st); err != nil {
		return err
	}
	return session.ErrStopped
}

// waitForNetwork polls until the network answers, showing the time left.
func (s *dialogue) waitForNetwork(ctx context.Context) error {
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
			return session.ErrStopped
		}
		switch {
		case s.TTY:
			fmt.Fprintf(s.Out, "\rWaiting for the network to come back… %d:%02d left (Ctrl-C to stop) ", int(left.Minutes()), int(left.Seconds())%60)
		case time.Since(lastLine) >= 30*time.Second:
			fmt.Fprintf(s.Out, "Waiting for the network to come back… %d:%02d left\n", int(left.Minutes()), int(left.Seconds())%60)
			lastLine = time.Now()
		}
		if s.Guide.NetworkBack(ctx) {
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
