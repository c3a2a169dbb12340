package session

import (
	"context"
	"errors"

	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// What a session waits for. A face (the terminal dialogue, a web page)
// shows the step and the question for the state's Await, collects the
// answer and hands it to Machine.Answer; it holds no step logic itself.
const (
	AwaitPlan     = ""         // the next step is to be planned (Machine.Next runs a check)
	AwaitConsent  = "consent"  // an automated step's exact plan is shown: yes | no | stop
	AwaitDone     = "done"     // a step for the person is shown: done | stop
	AwaitPlugged  = "plugged"  // the router is unplugged: plugged (back in) | stop
	AwaitNetwork  = "network"  // the network is coming back: back | gave_up
	AwaitRestart  = "restart"  // the computer restarts; on resume: back
	AwaitVerdict  = "verdict"  // does it play now?: yes | no | stop
	AwaitFinished = "finished" // it plays
	AwaitStuck    = "stuck"    // nothing more can be tried from here
)

// Answers a face hands to Machine.Answer.
const (
	Yes     = "yes"
	No      = "no"
	Stop    = "stop"
	Done    = "done"
	Plugged = "plugged"
	Back    = "back"
	GaveUp  = "gave_up"
	// Skip: the person cannot do the step now; the next one is planned
	// without it (and without counting it as tried), and it comes back
	// once nothing else is left.
	Skip = "skip"
)

// Step is the step shown, as saved: everything a face needs to show it.
type Step struct {
	Number     int      `json:"number"`
	Fix        string   `json:"fix"`
	Title      string   `json:"title"`
	Summary    string   `json:"summary"` // the verdict it follows from
	Difficulty string   `json:"difficulty"`
	Minutes    float64  `json:"minutes"`
	PSuccess   float64  `json:"p_success"`
	Lines      []string `json:"lines"` // what the person does, for a step done by hand
	// Plan is what an automated step would change, exactly as shown.
	Plan *fix.Plan `json:"plan,omitempty"`
}

// Outcome says what an answer did, for the face to tell.
type Outcome struct {
	Entry   string    // a change was applied: its journal entry
	Changed *fix.Plan // the machine changed since consent: nothing was changed; this is the plan now
	Err     error     // the change could not be applied (the step is offered by hand)
}

// Machine holds the transitions of a guided session.
type Machine struct {
	KB     *kb.KB
	OS     string
	FixEnv *fix.Env
	// Diagnoser checks again before each step.
	Diagnoser Diagnoser
	// Save persists the state (after every transition).
	Save func(*State) error
}

// Diagnoser checks again, given the fixes already tried, with the person
// saying the problem is still there; skipped fixes are left out of the
// plan, not counted as failed.
type Diagnoser interface {
	Diagnose(ctx context.Context, tried, skipped []string) (Outlook, error)
}

// Outlook is what the next step is planned from: the verdict in a sentence
// and the plan.
type Outlook struct {
	Summary string
	Plan    []engine.Step
}

// ErrNotAwaited: the answer does not fit what the session waits for.
var ErrNotAwaited = errors.New("that answer is not what the session waits for")

// ErrStale: the answer names a turn that has passed (it was given for a
// question no longer asked).
var ErrStale = errors.New("that answer was for an earlier question")

// ErrStopped means the person stopped the session (it can be resumed).
var ErrStopped = errors.New("stopped; run 'streamdoctor fix --resume' to continue")

// Next plans the next step (when the state awaits one): it runs the check
// with the fixes already tried and offers the plan's first step, automated
// where it can be, else as steps for the person.
func (m *Machine) Next(ctx context.Context, st *State, number int) error {
	if st.Await != AwaitPlan {
		return nil
	}
	d, err := m.Diagnoser.Diagnose(ctx, st.Tried, st.Skipped)
	if err != nil {
		return err
	}
	if len(d.Plan) == 0 && len(st.Skipped) > 0 {
		// Nothing left but the steps put off: they come back.
		st.Skipped = nil
		if d, err = m.Diagnoser.Diagnose(ctx, st.Tried, nil); err != nil {
			return err
		}
	}
	if len(d.Plan) == 0 {
		st.Await, st.Step = AwaitStuck, nil
		st.Turn++
		return m.Save(st)
	}
	next := d.Plan[0]
	f := m.KB.Fix(next.Fix)
	step := &Step{Number: number, Fix: next.Fix, Title: f.Title, Summary: d.Summary,
		Difficulty: f.Difficulty, Minutes: f.Minutes, PSuccess: next.PSuccess, Lines: f.StepsFor(m.OS)}
	st.Step = step
	st.Turn++
	st.Await = m.byHand(st)
	if fix.Automatable(next.Fix, m.FixEnv.OS) {
		if plan, err := fix.PlanFix(ctx, m.FixEnv, next.Fix); err == nil && plan.Automated {
			step.Plan = &plan
			st.Await = AwaitConsent
		}
	}
	return m.Save(st)
}

// byHand is what a step done by the person waits for.
func (m *Machine) byHand(st *State) string {
	switch st.Step.Fix {
	case "restart_router":
		return AwaitPlugged
	case "restart_device":
		st.Waiting = "restart_device"
		return AwaitRestart
	}
	return AwaitDone
}

// AnswerTurn is Answer for a face that may send two answers at once (a
// page): the answer names the turn it was given at, and one for a turn
// that has passed is refused with ErrStale, changing nothing.
func (m *Machine) AnswerTurn(ctx context.Context, st *State, turn int, a string) (Outcome, error) {
	if turn != st.Turn {
		return Outcome{}, ErrStale
	}
	return m.Answer(ctx, st, a)
}

// Answer applies the person's answer (or the face's observation: the
// network is back, the computer restarted) to what the state awaits, and
// saves the state.
func (m *Machine) Answer(ctx context.Context, st *State, a string) (Outcome, error) {
	out, err := m.answer(ctx, st, a)
	if err != nil && !errors.Is(err, ErrStopped) {
		return out, err // ErrNotAwaited changed nothing; a failed save is told
	}
	st.Turn++
	if serr := m.Save(st); serr != nil {
		return out, serr
	}
	return out, err
}

// answer is Answer's transitions; it saves only the consent it applies.
func (m *Machine) answer(ctx context.Context, st *State, a string) (Outcome, error) {
	var out Outcome
	if a == Stop && st.Await != AwaitFinished && st.Await != AwaitStuck {
		if st.Await == AwaitVerdict && st.Step != nil {
			st.Tried = appendOnce(st.Tried, st.Step.Fix)
			st.Await, st.Waiting = AwaitPlan, ""
		}
		return out, ErrStopped
	}
	if a == Skip {
		switch st.Await {
		case AwaitConsent, AwaitDone, AwaitPlugged, AwaitRestart:
			st.Skipped = appendOnce(st.Skipped, st.Step.Fix)
			st.Await, st.Step, st.Waiting = AwaitPlan, nil, ""
			return out, nil
		}
		return out, ErrNotAwaited
	}
	switch st.Await {
	case AwaitConsent:
		switch a {
		case Yes:
			// The approved plan is saved first, then applied verbatim.
			st.Consent = st.Step.Plan
			if err := m.Save(st); err != nil {
				return out, err
			}
			en, err := fix.Apply(ctx, m.FixEnv, *st.Step.Plan)
			st.Consent = nil
			var changed *fix.ChangedError
			switch {
			case errors.As(err, &changed):
				out.Changed = &changed.Now
				st.Await = m.byHand(st)
			case err != nil:
				out.Err = err
				st.Await = m.byHand(st)
			default:
				if en != nil {
					out.Entry = en.ID
					st.Entries = append(st.Entries, en.ID)
				}
				st.Await = AwaitVerdict
			}
		case No:
			st.Await = m.byHand(st)
		default:
			return out, ErrNotAwaited
		}
	case AwaitDone:
		if a != Done {
			return out, ErrNotAwaited
		}
		st.Await = AwaitVerdict
	case AwaitPlugged:
		if a != Plugged {
			return out, ErrNotAwaited
		}
		st.Await, st.Waiting = AwaitNetwork, "restart_router"
	case AwaitNetwork:
		switch a {
		case Back:
			st.Await = AwaitVerdict
		case GaveUp:
			return out, ErrStopped // still waiting, for the next resume
		default:
			return out, ErrNotAwaited
		}
	case AwaitRestart:
		if a != Back {
			return out, ErrNotAwaited
		}
		st.Await = AwaitVerdict
	case AwaitVerdict:
		switch a {
		case Yes:
			st.Finished, st.Await = true, AwaitFinished
		case No:
			st.Tried = appendOnce(st.Tried, st.Step.Fix)
			st.Await, st.Step = AwaitPlan, nil
		default:
			return out, ErrNotAwaited
		}
		st.Waiting = ""
	default:
		return out, ErrNotAwaited
	}
	return out, nil
}
