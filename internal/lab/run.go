package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// Result is one scenario's outcome.
type Result struct {
	Scenario    string  `json:"scenario"`
	File        string  `json:"file"`
	Expected    string  `json:"expected"`
	Diagnosed   string  `json:"diagnosed"`
	Probability float64 `json:"probability"`
	Pass        bool    `json:"pass"`
	WallMS      int64   `json:"wall_ms"`
	// CheckMS is the check's own time (the world's start-up left out): what
	// a person waits for.
	CheckMS int64 `json:"check_ms"`
	// Evidence is what the check derived (symbol -> present).
	Evidence map[string]bool `json:"evidence,omitempty"`
	// Why explains a miss: the expected cause's rank, or a forbidden cause on top.
	Why string `json:"why,omitempty"`

	Check *check.Result `json:"-"`
}

// Run starts the scenario's world, runs the real check against it and
// compares the verdict with the expectation.
func Run(ctx context.Context, k *kb.KB, sc *Scenario, timeout time.Duration) (Result, error) {
	start := time.Now()
	w, err := Start(sc)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	// A code the knowledge base does not know is diagnosed as a plain check:
	// DESIGN.md's format allows any code, and the measurements still decide.
	// A code of another class than network or browser has no priors: the
	// check runs as a plain one, as the CLI would if asked to check anyway.
	code := k.CheckKey(w.Profile.Name, sc.Code)
	res, err := check.Run(ctx, k, w.Env(), check.Request{Profile: w.Profile, Code: code, Answers: w.Answers(), Timeout: timeout, Browser: w.Browser()})
	if err != nil {
		return Result{}, err
	}
	r := Result{Scenario: sc.Name, File: sc.File, Expected: sc.Expect.TopCause, Diagnosed: res.Diagnosis.Top,
		Probability: res.Diagnosis.P, WallMS: time.Since(start).Milliseconds(), CheckMS: res.Report.DurationMS, Evidence: res.Evidence, Check: res}
	r.Pass = r.Diagnosed == r.Expected
	for _, c := range sc.Expect.NotCauses {
		if c == r.Diagnosed {
			r.Pass = false
		}
	}
	if !r.Pass {
		for i, c := range res.Diagnosis.Causes {
			if c.Cause == r.Expected {
				r.Why = fmt.Sprintf("expected cause ranked %d at %.0f %%", i+1, c.P*100)
			}
		}
	}
	return r, nil
}
