package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

// Exit codes (DESIGN.md).
const (
	ExitOK      = 0 // nothing wrong found
	ExitProblem = 1 // a problem was found and diagnosed
	ExitUsage   = 2 // bad usage or input
	ExitFailed  = 3 // the check itself could not run
	// ExitInterrupted: stopped by Ctrl-C (or SIGTERM) before it finished,
	// as shells report a process ended by SIGINT (128 + 2).
	ExitInterrupted = 130
)

// interrupted is the error of a command stopped before it finished: nothing
// measured until then is turned into a verdict.
func interrupted(what string) error {
	return &exitError{code: ExitInterrupted, msg: "interrupted: the " + what + " was stopped before it finished; nothing was concluded"}
}

// IO are the streams a command uses, injected so commands run in tests.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY say whether stdout / stderr are terminals.
	OutTTY, ErrTTY bool
	// NoColor is set by NO_COLOR.
	NoColor bool
	// Env makes the probe environment (tests and the lab replace it).
	Env func() *probe.Env
	// OwnWindow: this process has a console window of its own, as a
	// double-click in Windows Explorer gives it; the window closes when the
	// process ends, so what it says must be plain and must not vanish.
	OwnWindow bool
	// Lang is the language of what a viewer reads in the terminal (from
	// the locale; nil is English). JSON stays English.
	Lang *lang.L
}

// SystemIO is the process's own streams.
func SystemIO() *IO {
	return &IO{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY:  term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		NoColor: os.Getenv("NO_COLOR") != "",
		Env:     systemEnv,
		Lang:    systemLang(),
	}
}

// systemEnv is the real network, with the trusted vantage points moved
// where STREAMDOCTOR_PUBLIC_ROOTS, _PUBLIC_DNS and _DOH_URL say (checked
// before any command runs: see checkEnviron).
func systemEnv() *probe.Env {
	e := probe.DefaultEnv()
	_ = e.FromEnviron(os.Getenv)
	return e
}

// checkEnviron turns a bad STREAMDOCTOR_* variable into a usage error.
func checkEnviron() error {
	if err := probe.DefaultEnv().FromEnviron(os.Getenv); err != nil {
		return &exitError{code: ExitUsage, msg: err.Error()}
	}
	return nil
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, a...)}
}

// Build-time values, set with -ldflags "-X main.version=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// NewRoot builds the command tree.
func NewRoot(ctx context.Context, ios *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "streamdoctor",
		Short: "Find out why a streaming service can't be reached, and fix it",
		Long: "StreamDoctor checks your device and network, tells you the most likely reason a\n" +
			"streaming service fails (for example Netflix error NSEZ-503), how sure it is and why,\n" +
			"and what to do first.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetIn(ios.In)
	root.SetContext(ctx)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%s (see '%s --help')", err, c.CommandPath())
	})
	probing := []*cobra.Command{newCheckCmd(ios), newSpeedCmd(ios), newFactsCmd(ios), newWebCmd(ios)}
	if describedWorld != nil {
		for _, c := range probing {
			describedWorld(c, ios)
		}
	}
	root.AddCommand(probing...)
	root.AddCommand(newFixCmd(ios), newUndoCmd(ios), newHistoryCmd(ios), newExplainCmd(ios), newCodesCmd(ios), newOutageCmd(ios), newVersionCmd(ios))
	return root
}

// Execute runs the CLI and returns the exit code.
func Execute(ctx context.Context, ios *IO, args []string) int {
	root := NewRoot(ctx, ios)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(ios.ErrOut, "streamdoctor: "+ee.msg)
		}
		return ee.code
	}
	// cobra's own errors: unknown command, bad arguments.
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown command") {
		msg = strings.SplitN(msg, "\n", 2)[0] + unknownCommandHint(root, msg)
	}
	fmt.Fprintln(ios.ErrOut, "streamdoctor: "+msg)
	return ExitUsage
}

func loadKB() (*kb.KB, error) {
	k, err := kb.Default()
	if err != nil {
		return nil, &exitError{code: ExitFailed, msg: "knowledge base is broken: " + err.Error()}
	}
	return k, nil
}

// unknownCommandHint says what the command named in cobra's "unknown
// command X for Y" takes instead: its subcommands, or no arguments.
func unknownCommandHint(root *cobra.Command, msg string) string {
	_, after, ok := strings.Cut(msg, " for \"")
	path, _, _ := strings.Cut(after, "\"")
	c := root
	if ok {
		if found, _, err := root.Find(strings.Fields(path)[1:]); err == nil {
			c = found
		}
	}
	var subs []string
	for _, sc := range c.Commands() {
		if sc.IsAvailableCommand() && sc.Name() != "completion" {
			subs = append(subs, sc.Name())
		}
	}
	if len(subs) == 0 {
		return fmt.Sprintf(" (it takes no arguments; see '%s --help')", c.CommandPath())
	}
	return fmt.Sprintf(" (commands: %s; see '%s --help')", strings.Join(subs, ", "), c.CommandPath())
}
