package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/safe"
)

// Plan is what a fix would do, shown before anything happens. What the
// person approves is this value, and Apply carries out exactly it.
type Plan struct {
	Fix       string   `json:"fix"`
	Automated bool     `json:"automated"`
	Changes   []string `json:"changes"`
	// Words are the changes as messages (change.<id> in the message files),
	// so a face says them in the viewer's language; Changes keeps the
	// English the journal, the terminal and help desks read.
	Words []Words `json:"words,omitempty"`
	// Commands are the exact command lines an automated fix runs.
	Commands [][]string `json:"commands,omitempty"`
	// Settings are the settings it changes, with their values now and after.
	Settings []Setting `json:"settings,omitempty"`
	// Stores are the cookie stores clear_site_data changes.
	Stores []StorePlan `json:"stores,omitempty"`
	// OS is the system the commands are for (runtime.GOOS's values): it
	// decides how they are quoted for a person to read or run.
	OS string `json:"os,omitempty"`
}

var timeNow = time.Now

// Words is a change said as a message of the viewer's language: its id
// (change.<ID>) and the fields it fills.
type Words struct {
	ID   string            `json:"id"`
	Args map[string]string `json:"args,omitempty"`
}

// change is one change: its English and its words.
type change struct {
	text  string
	words Words
}

// say is a change with its message id and fields (name, value pairs).
func say(id, text string, kv ...string) change {
	w := Words{ID: id}
	for i := 0; i+1 < len(kv); i += 2 {
		if w.Args == nil {
			w.Args = map[string]string{}
		}
		w.Args[kv[i]] = kv[i+1]
	}
	return change{text, w}
}

func (p *Plan) add(cs ...change) {
	for _, c := range cs {
		p.Changes = append(p.Changes, c.text)
		p.Words = append(p.Words, c.words)
	}
}

// Write prints the plan's changes and exact command lines, quoted as the
// system's own shell would need them (cmd.exe's prompt on Windows).
func (p Plan) Write(w io.Writer) {
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  - %s\n", safe.Text(c))
	}
	prompt := "$"
	if p.OS == "windows" {
		prompt = ">"
	}
	for _, c := range p.Commands {
		fmt.Fprintf(w, "    %s %s\n", prompt, safe.Text(CommandLine(p.OS, c)))
	}
}

// CommandLine joins a command line for goos's shell: cmd.exe's quoting on
// Windows (WindowsQuote), a POSIX shell's elsewhere (ShellQuote).
func CommandLine(goos string, args []string) string {
	if goos == "windows" {
		return WindowsQuote(args)
	}
	return ShellQuote(args)
}

// WindowsQuote joins a command line as cmd.exe passes it on and the
// program's own parser (CommandLineToArgvW's rules) reads it back: a word
// with a space or one of cmd.exe's special characters is double-quoted
// (= , ; separate words only for cmd.exe's built-ins and batch files, not
// for the programs a fix runs, so name=Wi-Fi stays bare),
// a quote inside is escaped with a backslash, and backslashes are doubled
// only where they come before a quote. cmd.exe has no quoting for % (a
// word with %NAME% would still expand); StreamDoctor's commands have none.
func WindowsQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\"&|<>^()%") {
			out[i] = a
			continue
		}
		var b strings.Builder
		b.WriteByte('"')
		slashes := 0
		for _, r := range a {
			switch r {
			case '\\':
				slashes++
			case '"':
				b.WriteString(strings.Repeat(`\`, slashes+1))
				slashes = 0
			default:
				slashes = 0
			}
			b.WriteRune(r)
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
		out[i] = b.String()
	}
	return strings.Join(out, " ")
}

// ShellQuote joins a command line so that it reads back as the same words:
// a word with anything but letters, digits and -_./=:,@%+ is single-quoted.
func ShellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		safe := a != ""
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@%+", r)) {
				safe = false
				break
			}
		}
		if safe {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// PlanFix describes the change a fix would make, touching nothing.
func PlanFix(ctx context.Context, e *Env, id string) (Plan, error) {
	switch id {
	case "clear_site_data":
		return planSiteData(e)
	}
	if _, ok := builders[id]; ok {
		return planCommands(ctx, e, id)
	}
	p := Plan{Fix: id}
	p.add(say("manual", "a manual step: follow the instructions"))
	return p, nil
}

// ChangedError: the machine is no longer as it was when the person
// approved the plan; nothing was changed, and Now is the plan as it would
// be now (to be shown and approved anew).
type ChangedError struct{ Now Plan }

func (c *ChangedError) Error() string {
	return "things changed since you approved this step (" + strings.Join(c.Now.Changes, "; ") + "); nothing was changed — look at the new plan and approve it again"
}

// same: two plans would do the same thing. They are compared as they are
// saved (JSON), since an approved plan may have been saved and read back
// (a resumed session, a web page) and an empty list reads back as none.
func same(a, b Plan) bool {
	enc := func(p Plan) string {
		j, _ := json.Marshal(struct {
			Fix      string
			Commands [][]string
			Settings []Setting
			Stores   []StorePlan
		}{p.Fix, p.Commands, p.Settings, p.Stores})
		return string(j)
	}
	return enc(a) == enc(b)
}

// Apply carries out the approved plan, under the journal's lock: if the
// machine would now get a different plan, it refuses with a ChangedError
// and changes nothing. Manual fixes return nil.
func Apply(ctx context.Context, e *Env, approved Plan) (*Entry, error) {
	if !approved.Automated {
		return nil, nil
	}
	unlock, err := e.Journal.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e.Journal.prune(timeNow())
	now, err := PlanFix(ctx, e, approved.Fix)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was changed", err)
	}
	if !same(now, approved) {
		return nil, &ChangedError{Now: now}
	}
	if approved.Fix == "clear_site_data" {
		return applySiteData(ctx, e, approved)
	}
	return applyCommands(ctx, e, approved)
}

// Automatable reports whether StreamDoctor can apply id on os.
func Automatable(id, os string) bool {
	switch id {
	case "clear_site_data", "flush_dns", "disable_proxy", "change_dns":
		return os == "linux" || os == "windows" || os == "darwin"
	}
	return false
}

// ErrAlreadyUndone: the entry was undone before.
var ErrAlreadyUndone = errors.New("already undone")

// Undo takes one entry back, under the journal's lock. All or nothing: if
// any part cannot be taken back, what was already taken back is put as it
// was and the entry stays as it is.
func Undo(ctx context.Context, e *Env, id string) (*Entry, error) {
	var found *Entry
	err := e.Journal.withEntries(ctx, func(es []*Entry) error {
		for _, en := range es {
			if en.ID == id {
				found = en
				return en.undo(ctx, e)
			}
		}
		return fmt.Errorf("no journal entry %q (see 'streamdoctor history')", id)
	})
	return found, err
}

// withEntries runs fn on the entries under the journal's lock, then deletes
// the backups that are due.
func (j *Journal) withEntries(ctx context.Context, fn func([]*Entry) error) error {
	unlock, err := j.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer j.prune(timeNow())
	es, err := j.List()
	if err != nil {
		return err
	}
	return fn(es)
}

func (en *Entry) undo(ctx context.Context, e *Env) error {
	switch {
	case en.Corrupt != "":
		return fmt.Errorf("its record is damaged (%s); nothing was changed", en.Corrupt)
	case en.State == Undone:
		return ErrAlreadyUndone
	case en.Legacy:
		return errors.New("it was recorded by an older StreamDoctor that kept command lines, which are never run from disk; set the setting back by hand (see 'streamdoctor history')")
	}
	var err error
	switch {
	case en.Fix == "clear_site_data":
		err = en.undoSiteData(ctx, e)
	case len(en.Settings) > 0:
		err = en.restoreSettings(e)
	default:
		err = nil // flush_dns: nothing to take back
	}
	if err != nil {
		return err
	}
	t := timeNow().UTC()
	en.UndoneAt = &t
	return en.Save(Undone)
}

// Result is what became of one entry in UndoAll.
type Result struct {
	ID, Fix string
	Err     error
}

// UndoAll takes back every entry not yet undone, newest first, going on
// past one that fails; it reports each.
func UndoAll(ctx context.Context, e *Env) ([]Result, error) {
	var out []Result
	err := e.Journal.withEntries(ctx, func(es []*Entry) error {
		for i := len(es) - 1; i >= 0; i-- {
			en := es[i]
			if en.State == Undone {
				continue
			}
			out = append(out, Result{ID: en.ID, Fix: en.Fix, Err: en.undo(ctx, e)})
		}
		return nil
	})
	return out, err
}

// Runner runs OS commands.
type Runner interface {
	Run(name string, args ...string) (string, error)
}
