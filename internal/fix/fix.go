package fix

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Plan is what a fix would do, shown before anything happens.
type Plan struct {
	Fix       string   `json:"fix"`
	Automated bool     `json:"automated"`
	Changes   []string `json:"changes"`
	// Commands are the exact command lines an automated fix runs.
	Commands [][]string `json:"commands,omitempty"`
}

var timeNow = time.Now

// Write prints the plan's changes and exact command lines.
func (p Plan) Write(w io.Writer) {
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  - %s\n", c)
	}
	for _, c := range p.Commands {
		fmt.Fprintf(w, "    $ %s\n", strings.Join(c, " "))
	}
}

// PlanFix describes the change a fix would make, touching nothing.
func PlanFix(ctx context.Context, e *Env, id string) (Plan, error) {
	switch id {
	case "clear_site_data":
		return planSiteData(e)
	}
	if cf, ok := commandFixes[id]; ok {
		return cf(ctx, e)
	}
	return Plan{Fix: id, Changes: []string{"a manual step: follow the instructions"}}, nil
}

// Apply makes the change and journals it first; manual fixes return nil.
func Apply(ctx context.Context, e *Env, id string) (*Entry, error) {
	switch id {
	case "clear_site_data":
		return applySiteData(ctx, e)
	}
	if _, ok := commandFixes[id]; ok {
		return applyCommands(ctx, e, id)
	}
	return nil, nil
}

// Automatable reports whether StreamDoctor can apply id on os.
func Automatable(id, os string) bool {
	switch id {
	case "clear_site_data", "flush_dns", "disable_proxy", "change_dns":
		return os == "linux" || os == "windows" || os == "darwin"
	}
	return false
}

// UndoAll takes back every entry not yet undone, newest first.
func UndoAll(j *Journal, r Runner) (int, error) {
	es, err := j.List()
	if err != nil {
		return 0, err
	}
	n := 0
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].State == Undone {
			continue
		}
		if err := es[i].Undo(r); err != nil {
			return n, fmt.Errorf("%s: %w", es[i].ID, err)
		}
		n++
	}
	return n, nil
}
