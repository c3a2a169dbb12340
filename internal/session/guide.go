package session

import (
	"context"
	"errors"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// Config is what a guided session needs; the terminal and the page build
// it alike.
type Config struct {
	KB     *kb.KB
	OS     string // windows | macos | linux (the KB's names)
	FixEnv *fix.Env
	// StatePath is where the session is saved ("" for a dry run: nothing
	// is saved).
	StatePath     string
	Service, Code string
	Diagnoser     Diagnoser
	// NetworkBack reports whether the network answers again (after a
	// router restart); it must be cheap: it is asked every few seconds.
	NetworkBack func(ctx context.Context) bool
}

// Guide is one guided session's machine and its saved state.
type Guide struct {
	cfg     Config
	Machine *Machine
}

// ErrNothingSaved: there is no unfinished session to resume.
var ErrNothingSaved = errors.New("there is no session to resume; start one with 'streamdoctor fix'")

// New builds the guide.
func New(cfg Config) *Guide {
	g := &Guide{cfg: cfg}
	g.Machine = &Machine{KB: cfg.KB, OS: cfg.OS, FixEnv: cfg.FixEnv, Diagnoser: cfg.Diagnoser, Save: g.save}
	return g
}

func (g *Guide) save(st *State) error {
	if g.cfg.StatePath == "" {
		return nil
	}
	return st.Save(g.cfg.StatePath)
}

// Saved is the unfinished session saved for this service, if any: a face
// offers it ("continue where you left off?") and never resumes it unasked.
// An unreadable file is an error that says so; the caller starts fresh.
func (g *Guide) Saved() (*State, error) {
	if g.cfg.StatePath == "" {
		return nil, nil
	}
	st, err := Load(g.cfg.StatePath)
	if err != nil || st == nil || st.Finished || st.Service != g.cfg.Service {
		return nil, err
	}
	return st, nil
}

// Start is a new session; a saved one is replaced at its first save.
func (g *Guide) Start() *State {
	return &State{Schema: Schema, Service: g.cfg.Service, Code: g.cfg.Code, StartedAt: time.Now().UTC()}
}

// Resume is the saved session, which the person asked to continue.
func (g *Guide) Resume() (*State, error) {
	st, err := g.Saved()
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, ErrNothingSaved
	}
	return st, nil
}

// NetworkBack reports whether the network answers again.
func (g *Guide) NetworkBack(ctx context.Context) bool {
	return g.cfg.NetworkBack != nil && g.cfg.NetworkBack(ctx)
}
