// Package session is the guided fix: a state machine (Machine) that offers
// the plan's first step, asks before changing anything, applies it, checks
// again and re-plans when a step did not help, saved after every transition
// so it resumes after the restart it asked for. Guide builds it the same way
// for both faces (the terminal dialogue in cmd, the web page), with one rule
// for resuming; it needs only a Diagnoser, not the check itself.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/fix"
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
	// Skipped are steps the person could not do when offered: planned
	// around, not counted as tried.
	Skipped []string `json:"skipped,omitempty"`
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
	// Turn counts the questions asked: every answer taken and every step
	// planned moves it on, so an answer that names an older turn (a
	// second click sent before the first came back) is refused.
	Turn int `json:"turn"`
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

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
