package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/safe"
	"github.com/streamdoctor/streamdoctor/internal/session"
)

// The page's guided fixes drive session.Machine, the same state machine
// as `streamdoctor fix`: the page shows the step and the question the
// state awaits and posts the answer; no step logic lives here.

// stepView is what the page shows of the session.
type stepView struct {
	Await    string        `json:"await"`
	Step     *session.Step `json:"step,omitempty"`
	Changes  []string      `json:"changes,omitempty"`  // an automated step's exact changes
	Commands []string      `json:"commands,omitempty"` // and its command lines, quoted
	Prompt   string        `json:"prompt,omitempty"`   // the shell's prompt to show them with: $, or > on Windows
	Done     string        `json:"done,omitempty"`     // a change was made: its journal entry
	Note     string        `json:"note,omitempty"`     // what happened, in a sentence
	Finished bool          `json:"finished"`
	// Tried are the fixes done without it playing yet: the page marks them
	// in its plan, whose figures were the check's.
	Tried []string `json:"tried,omitempty"`
	// Turn is the question's turn: the answer to it names it, and one
	// naming a turn that has passed gets 409.
	Turn int `json:"turn"`
}

func (s *Server) view(l *lang.L, st *session.State, out session.Outcome) stepView {
	os := ""
	if s.cfg.Guide != nil {
		os = s.cfg.Guide.Machine.OS
	}
	v := stepView{Await: st.Await, Step: stepIn(s.cfg.KB.In(l), os, s.cfg.Profile.Title, st.Step), Finished: st.Finished, Done: out.Entry, Turn: st.Turn, Tried: st.Tried}
	if st.Step != nil && st.Step.Plan != nil && st.Await == session.AwaitConsent {
		v.Changes = sayChanges(l, st.Step.Plan.Changes, st.Step.Plan.Words)
		for _, c := range st.Step.Plan.Commands {
			v.Commands = append(v.Commands, safe.Text(fix.CommandLine(st.Step.Plan.OS, c)))
		}
		v.Prompt = "$"
		if st.Step.Plan.OS == "windows" {
			v.Prompt = ">"
		}
	}
	switch {
	case out.Changed != nil:
		v.Note = l.T("fix.note.changed")
	case out.Err != nil:
		v.Note = l.T("fix.note.failed", "Error", safe.Text(out.Err.Error()))
	case out.Entry != "":
		v.Note = l.T("fix.note.done")
	}
	return v
}

// stepIn is a step with its title and lines in the knowledge base k's
// language (a saved session keeps the English it was planned in).
func stepIn(k *kb.KB, os, service string, st *session.Step) *session.Step {
	if st == nil {
		return nil
	}
	f := k.Fix(st.Fix)
	if f == nil {
		return st
	}
	c := *st
	c.Title = report.ServiceIn(f.Title, service)
	if len(st.Lines) > 0 {
		c.Lines = nil
		for _, l := range f.StepsFor(os) {
			c.Lines = append(c.Lines, report.ServiceIn(l, service))
		}
	}
	return &c
}

// sayChanges says changes in l's language where their words are known
// (English otherwise, as the journal has them), fit to print.
func sayChanges(l *lang.L, changes []string, words []fix.Words) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = safe.Text(c)
		if l.IsSource() || len(words) != len(changes) {
			continue
		}
		id := "change." + words[i].ID
		var kv []any
		for k, v := range words[i].Args {
			kv = append(kv, k, v)
		}
		// Only a message whose English is the change's own words is said
		// in another language: a change reworded in the code and not in
		// the messages stays English rather than saying something else.
		if lang.English().T(id, kv...) != c {
			continue
		}
		if s := l.T(id, kv...); s != id {
			out[i] = safe.Text(s)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// withSession runs fn on the machine and the page's session (started by
// fixStep), one request at a time.
func (s *Server) withSession(w http.ResponseWriter, r *http.Request, fn func(*session.Machine, *session.State)) {
	if s.cfg.Guide == nil {
		http.Error(w, langOf(r).T("error.no_fixes"), http.StatusNotImplemented)
		return
	}
	s.fixMu.Lock()
	defer s.fixMu.Unlock()
	if s.fix == nil {
		http.Error(w, langOf(r).T("error.no_session"), http.StatusConflict)
		return
	}
	fn(s.cfg.Guide.Machine, s.fix)
}

// fixSaved says whether an unfinished guided fix was saved (by an earlier
// launch, before a restart): the page offers to continue it.
func (s *Server) fixSaved(w http.ResponseWriter, r *http.Request) {
	var saved *session.Step
	if s.cfg.Guide != nil {
		if st, err := s.cfg.Guide.Saved(); err == nil && st != nil {
			saved = stepIn(s.cfg.KB.In(langOf(r)), s.cfg.Guide.Machine.OS, s.cfg.Profile.Title, st.Step)
			if saved == nil {
				saved = &session.Step{}
			}
		}
	}
	writeJSON(w, map[string]any{"saved": saved})
}

// next plans the step when none is pending and answers the view.
func (s *Server) next(w http.ResponseWriter, r *http.Request, m *session.Machine, st *session.State, out session.Outcome) {
	if err := m.Next(r.Context(), st, len(st.Tried)+1); err != nil {
		http.Error(w, langOf(r).T("page.error.run_because", "Error", err.Error()), http.StatusInternalServerError)
		return
	}
	writeJSON(w, s.view(langOf(r), st, out))
}

// fixStep starts a guided fix — a new one, or the saved one when the page
// says {"resume": true} (the person chose to continue it) — and returns its
// step, planning one when none is pending.
func (s *Server) fixStep(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Resume bool `json:"resume"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, `send {} or {"resume": true}`, http.StatusBadRequest)
		return
	}
	if s.cfg.Guide == nil {
		http.Error(w, langOf(r).T("error.no_fixes"), http.StatusNotImplemented)
		return
	}
	s.fixMu.Lock()
	st := s.cfg.Guide.Start()
	if body.Resume {
		if old, err := s.cfg.Guide.Resume(); err == nil {
			st = old
		}
	}
	s.fix = st
	s.fixMu.Unlock()
	s.withSession(w, r, func(m *session.Machine, st *session.State) { s.next(w, r, m, st, session.Outcome{}) })
}

// fixAnswer applies the person's answer (or the page's observation) and
// returns the next view; a step to plan is planned at once.
func (s *Server) fixAnswer(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Answer string `json:"answer"`
		Turn   *int   `json:"turn"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Turn == nil {
		http.Error(w, `send {"answer": "yes|no|done|plugged|back|skip|stop", "turn": N} (N: the turn of the step it answers)`, http.StatusBadRequest)
		return
	}
	s.withSession(w, r, func(m *session.Machine, st *session.State) {
		out, err := m.AnswerTurn(r.Context(), st, *body.Turn, body.Answer)
		switch {
		case errors.Is(err, session.ErrStale):
			http.Error(w, langOf(r).T("error.stale"), http.StatusConflict)
		case errors.Is(err, session.ErrNotAwaited):
			http.Error(w, langOf(r).T("error.not_awaited"), http.StatusConflict)
		case errors.Is(err, session.ErrStopped):
			v := s.view(langOf(r), st, out)
			v.Note = langOf(r).T("fix.note.stopped")
			writeJSON(w, v)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			s.next(w, r, m, st, out) // a step to plan is planned at once
		}
	})
}

// changeView is one journal entry for the Changes list.
type changeView struct {
	ID, Fix, State, Time string
	Changes              []string
	CanUndo              bool
	Damaged              string `json:",omitempty"`
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	if s.cfg.FixEnv == nil {
		writeJSON(w, []changeView{})
		return
	}
	es, err := s.cfg.FixEnv.Journal.List()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := []changeView{}
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		v := changeView{ID: e.ID, Fix: e.Fix, State: e.State, Time: e.Time.Local().Format("2006-01-02 15:04"), CanUndo: e.Corrupt == "" && e.State != fix.Undone}
		v.Changes = sayChanges(langOf(r), e.Changes, e.Words)
		if e.Corrupt != "" {
			v.Damaged = safe.Text(e.Corrupt)
		}
		out = append(out, v)
	}
	writeJSON(w, out)
}

func (s *Server) undo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.ID == "" || s.cfg.FixEnv == nil {
		http.Error(w, `send {"id": "0001"}`, http.StatusBadRequest)
		return
	}
	_, err := fix.Undo(r.Context(), s.cfg.FixEnv, body.ID)
	switch {
	case errors.Is(err, fix.ErrAlreadyUndone):
		writeJSON(w, map[string]string{"note": langOf(r).T("fix.note.already_undone")})
	case err != nil:
		http.Error(w, langOf(r).T("error.undo", "Error", safe.Text(err.Error())), http.StatusConflict)
	default:
		writeJSON(w, map[string]string{"note": langOf(r).T("fix.note.undone")})
	}
}

// network says whether the network is back (the page waits by itself
// after a router restart, with a countdown, instead of asking).
func (s *Server) network(w http.ResponseWriter, r *http.Request) {
	back := false
	if s.cfg.Guide != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 4*time.Second)
		back = s.cfg.Guide.NetworkBack(ctx)
		cancel()
	}
	writeJSON(w, map[string]bool{"back": back})
}
