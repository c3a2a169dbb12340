package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/session"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// stateDir is where sessions and the journal live: $STREAMDOCTOR_STATE_DIR,
// else $XDG_STATE_HOME/streamdoctor (~/.local/state/streamdoctor) on Linux,
// else the OS's per-user configuration directory.
func stateDir() (string, error) {
	if d := os.Getenv("STREAMDOCTOR_STATE_DIR"); d != "" {
		if fi, err := os.Stat(d); err == nil && !fi.IsDir() {
			return "", fmt.Errorf("STREAMDOCTOR_STATE_DIR=%s is a file, not a folder", d)
		}
		return d, nil
	}
	return userDir("XDG_STATE_HOME", "state", "StreamDoctor")
}

// dataDir is where `outage serve` keeps its database by default: the
// user's data folder ($XDG_DATA_HOME or ~/.local/share on Linux), else the
// OS's per-user configuration directory.
func dataDir() (string, error) { return userDir("XDG_DATA_HOME", "share", "StreamDoctor") }

// userDir is $xdgVar/streamdoctor or ~/.local/<local>/streamdoctor on
// Linux, and <the OS's configuration directory>/<other> elsewhere.
func userDir(xdgVar, local, other string) (string, error) {
	if runtime.GOOS == "linux" {
		if d := os.Getenv(xdgVar); d != "" {
			return filepath.Join(d, "streamdoctor"), nil
		}
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(h, ".local", local, "streamdoctor"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, other), nil
}

// execRunner runs OS commands for fixes, each for at most its timeout
// (10 s when zero: reading a setting takes milliseconds, applying one a
// few seconds); a helper that leaves a child holding its output is cut off
// half a second after it is stopped.
type execRunner struct{ timeout time.Duration }

func (r execRunner) Run(name string, args ...string) (string, error) {
	t := r.timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 500 * time.Millisecond
	fix.RootCommand(cmd) // as root, when this process acts as a home's owner
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, oneLineErr(errors.New(strings.TrimSpace(string(out)))))
	}
	return string(out), nil
}

func (execRunner) Has(name string) bool { _, err := exec.LookPath(name); return err == nil }

// actAsHomeOwner: run as root on another user's home (sudo -E), the
// commands that change files act as that user (fix.ActAsHomeOwner), so a
// journal that user could edit cannot steer root, and what is created in
// that home belongs to its owner.
func actAsHomeOwner() error {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	if _, err := fix.ActAsHomeOwner(home); err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	return nil
}

func fixEnv(dir string, domains, dns []string) *fix.Env {
	home, _ := os.UserHomeDir()
	e := &fix.Env{OS: runtime.GOOS, Home: home, Journal: &fix.Journal{Dir: filepath.Join(dir, "journal")},
		Runner: execRunner{}, Domains: domains, DNSServers: dns}
	e.Running = sysinfo.BrowsersRunning
	e.Processes = sysinfo.ProcessesRunning
	return e
}

type fixOptions struct {
	service, url, code, only, dns string
	yes, dryRun, resume           bool
}

func newFixCmd(ios *IO) *cobra.Command {
	o := &fixOptions{}
	c := &cobra.Command{
		Use:   "fix",
		Short: "Walk through the plan and apply fixes, with your consent and an undo",
		Example: "  streamdoctor fix --code NSEZ-503\n" +
			"  streamdoctor fix --only clear_site_data --dry-run\n" +
			"  streamdoctor fix --only change_dns --dns 8.8.8.8,8.8.4.4\n" +
			"  streamdoctor fix --resume",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFix(cmd, ios, o) },
	}
	f := c.Flags()
	f.StringVar(&o.service, "service", "netflix", "service ("+strings.Join(profile.Names(), ", ")+")")
	f.StringVar(&o.url, "url", "", "any site instead of a built-in service")
	f.StringVar(&o.code, "code", "", "the error code you saw")
	f.StringVar(&o.only, "only", "", "run just this fix (see 'streamdoctor fix --only list')")
	f.StringVar(&o.dns, "dns", "", "DNS servers for change_dns, e.g. 8.8.8.8,8.8.4.4 or 1.1.1.1,1.0.0.1 (opt-in)")
	f.BoolVar(&o.yes, "yes", false, "apply automated steps without asking")
	f.BoolVar(&o.dryRun, "dry-run", false, "show exactly what would change, and change nothing")
	f.BoolVar(&o.resume, "resume", false, "continue the session saved before a restart")
	return c
}

func parseDNS(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if net.ParseIP(p) == nil {
			return nil, fmt.Errorf("--dns %q: %q is not an IP address", s, p)
		}
		out = append(out, p)
	}
	return out, nil
}

func runFix(cmd *cobra.Command, ios *IO, o *fixOptions) error {
	if err := actAsHomeOwner(); err != nil {
		return err
	}
	k, err := loadKB()
	if err != nil {
		return err
	}
	prof, err := resolveProfile(cmd, o.service, o.url)
	if err != nil {
		return err
	}
	choice, err := resolveCode(k, o.code, prof)
	if err != nil {
		return err
	}
	if choice.note != "" {
		fmt.Fprintln(ios.ErrOut, choice.note)
	}
	if c := choice.code; c != nil && !c.Diagnosable() {
		return printCodeAnswer(ios, ios.Lang, c, false)
	}
	o.code = choice.key
	dns, err := parseDNS(o.dns)
	if err != nil {
		return usageErr("%s", err)
	}
	if err := checkEnviron(); err != nil {
		return err
	}
	dir, err := stateDir()
	if err != nil {
		return &exitError{code: ExitFailed, msg: "no place for the session state: " + err.Error()}
	}
	env := fixEnv(dir, prof.CookieDomains, dns)
	if o.only != "" {
		return runOnly(cmd.Context(), ios, k, env, o)
	}
	statePath := filepath.Join(dir, "session.json")
	code := o.code
	if o.resume && !cmd.Flags().Changed("service") && o.url == "" {
		// Resumed as it was started: its service and code.
		if old, _ := session.Load(statePath); old != nil && !old.Finished {
			if p, err := profile.Get(old.Service); err == nil {
				prof, code = p, old.Code
			}
		}
	}
	g := newGuide(k, ios.Env, prof, code, env, statePath, o.dryRun)
	st := g.Start()
	if o.resume {
		old, err := g.Resume()
		switch {
		case errors.Is(err, session.ErrNothingSaved):
			return usageErr("%s", err)
		case err != nil:
			fmt.Fprintln(ios.ErrOut, "streamdoctor: "+err.Error())
		default:
			st = old
		}
	}
	s := &dialogue{Guide: g, In: bufio.NewReader(ios.In), Out: ios.Out, Yes: o.yes, DryRun: o.dryRun, TTY: ios.OutTTY}
	err = s.Run(cmd.Context(), st)
	if errors.Is(err, context.Canceled) {
		err = session.ErrStopped // Ctrl-C: the state is already saved
	}
	if errors.Is(err, session.ErrStopped) {
		if s.inputEnded {
			// Nobody answered: the problem is still there (exit 1), and the
			// step waits, saved.
			return &exitError{code: ExitProblem, msg: "no answer: the input ended before the step was done; run 'streamdoctor fix --resume' in a terminal to continue (or --yes to accept every step)"}
		}
		fmt.Fprintln(ios.Out, err.Error())
		return nil
	}
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	return nil
}

// runOnly runs one fix: plan, consent, apply.
func runOnly(ctx context.Context, ios *IO, k *kb.KB, env *fix.Env, o *fixOptions) error {
	if o.only == "list" {
		for _, id := range kb.FixIDs {
			mode := "steps to follow"
			if fix.Automatable(id, env.OS) {
				mode = "automated"
			}
			fmt.Fprintf(ios.Out, "%-22s %-16s %s\n", id, mode, k.Fix(id).Title)
		}
		return nil
	}
	f := k.Fix(o.only)
	if f == nil {
		ids := append([]string(nil), kb.FixIDs...)
		sort.Strings(ids)
		return usageErr("unknown fix %q (one of: %s)", o.only, strings.Join(ids, ", "))
	}
	plan, err := fix.PlanFix(ctx, env, o.only)
	fmt.Fprintf(ios.Out, "%s\n", f.Title)
	if err != nil || !plan.Automated {
		if err != nil {
			fmt.Fprintf(ios.Out, "StreamDoctor cannot do this one for you here (%v). The steps:\n", err)
		} else {
			for _, c := range plan.Changes {
				fmt.Fprintf(ios.Out, "  - %s\n", c)
			}
			fmt.Fprintln(ios.Out, "The steps:")
		}
		for _, s := range f.StepsFor(check.OSName(runtime.GOOS)) {
			fmt.Fprintf(ios.Out, "  - %s\n", s)
		}
		return nil
	}
	fmt.Fprintln(ios.Out, "This will:")
	plan.Write(ios.Out)
	if o.dryRun {
		fmt.Fprintln(ios.Out, "(dry run: nothing was changed)")
		return nil
	}
	if !o.yes {
		fmt.Fprint(ios.Out, "Do it? [y/N] ")
		line, _ := bufio.NewReader(ios.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(ios.Out, "Nothing was changed.")
			return nil
		}
	}
	en, err := fix.Apply(ctx, env, plan)
	var changed *fix.ChangedError
	if errors.As(err, &changed) {
		fmt.Fprintln(ios.Out, "Nothing was changed: things changed since the plan above was made. It would now:")
		changed.Now.Write(ios.Out)
		return &exitError{code: ExitFailed, msg: "the machine changed between the plan and your approval; run the fix again to approve the new plan"}
	}
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	if en == nil {
		fmt.Fprintln(ios.Out, "Nothing needed changing.")
		return nil
	}
	fmt.Fprintf(ios.Out, "Done. Undo with: streamdoctor undo %s\n", en.ID)
	return nil
}

func newUndoCmd(ios *IO) *cobra.Command {
	var last, all bool
	c := &cobra.Command{
		Use:   "undo [ID | --last | --all]",
		Short: "Take back changes StreamDoctor made",
		RunE: func(cmd *cobra.Command, args []string) error {
			modes := len(args)
			for _, b := range []bool{last, all} {
				if b {
					modes++
				}
			}
			if modes != 1 || len(args) > 1 {
				return usageErr("undo takes one of: an entry ID (see 'streamdoctor history'), --last or --all")
			}
			if err := actAsHomeOwner(); err != nil {
				return err
			}
			dir, err := stateDir()
			if err != nil {
				return &exitError{code: ExitFailed, msg: err.Error()}
			}
			env := fixEnv(dir, nil, nil)
			ctx := cmd.Context()
			if all {
				res, err := fix.UndoAll(ctx, env)
				if err != nil {
					return &exitError{code: ExitFailed, msg: err.Error()}
				}
				failed := 0
				for _, r := range res {
					if r.Err != nil {
						failed++
						fmt.Fprintf(ios.Out, "Could not undo %s (%s): %s\n", r.ID, r.Fix, oneLineErr(r.Err))
						continue
					}
					fmt.Fprintf(ios.Out, "Undid %s (%s).\n", r.ID, r.Fix)
				}
				switch {
				case len(res) == 0:
					fmt.Fprintln(ios.Out, "Nothing to undo.")
				case failed > 0:
					return &exitError{code: ExitFailed, msg: fmt.Sprintf("%d of %d change(s) could not be undone (see above)", failed, len(res))}
				default:
					fmt.Fprintf(ios.Out, "Undid %d change(s).\n", len(res))
				}
				return nil
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else {
				es, err := env.Journal.List()
				if err != nil {
					return &exitError{code: ExitFailed, msg: err.Error()}
				}
				for i := len(es) - 1; i >= 0 && id == ""; i-- {
					if es[i].State != fix.Undone {
						id = es[i].ID
					}
				}
				if id == "" {
					fmt.Fprintln(ios.Out, "Nothing to undo.")
					return nil
				}
			}
			en, err := fix.Undo(ctx, env, id)
			switch {
			case en == nil && err != nil && !errors.Is(err, fix.ErrBusy) && !errors.Is(err, context.Canceled):
				return usageErr("%s", err)
			case errors.Is(err, fix.ErrAlreadyUndone):
				when := ""
				if en.UndoneAt != nil {
					when = " on " + en.UndoneAt.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(ios.Out, "%s (%s) was already undone%s; nothing to do.\n", en.ID, en.Fix, when)
				return nil
			case err != nil:
				return &exitError{code: ExitFailed, msg: "could not undo " + id + ": " + oneLineErr(err)}
			}
			fmt.Fprintf(ios.Out, "Undid %s (%s).\n", en.ID, en.Fix)
			return nil
		},
	}
	c.Flags().BoolVar(&last, "last", false, "undo the most recent change")
	c.Flags().BoolVar(&all, "all", false, "undo every change not yet undone")
	return c
}

func newHistoryCmd(ios *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "List the changes StreamDoctor made, and how to undo them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := actAsHomeOwner(); err != nil {
				return err
			}
			dir, err := stateDir()
			if err != nil {
				return &exitError{code: ExitFailed, msg: err.Error()}
			}
			es, err := (&fix.Journal{Dir: filepath.Join(dir, "journal")}).List()
			if err != nil {
				return &exitError{code: ExitFailed, msg: err.Error()}
			}
			if len(es) == 0 {
				fmt.Fprintln(ios.Out, "No changes recorded.")
				return nil
			}
			for _, e := range es {
				if e.Corrupt != "" {
					fmt.Fprintf(ios.Out, "%s  (its record is damaged and cannot be undone: %s)\n", e.ID, oneLineErr(errors.New(e.Corrupt)))
					continue
				}
				fmt.Fprintf(ios.Out, "%s  %-16s %-9s %s\n", e.ID, e.Fix, e.State, e.Time.Local().Format("2006-01-02 15:04"))
				for _, c := range e.Changes {
					fmt.Fprintf(ios.Out, "    %s\n", c)
				}
				if e.State != fix.Undone {
					fmt.Fprintf(ios.Out, "    undo: streamdoctor undo %s\n", e.ID)
				}
			}
			return nil
		},
	}
}

// newGuide builds the guided session both faces drive (the terminal's
// dialogue, the web page): the check of prof, fixes through env, saved at
// statePath (nothing is saved on a dry run).
func newGuide(k *kb.KB, env func() *probe.Env, prof profile.Profile, code string, fenv *fix.Env, statePath string, dryRun bool) *session.Guide {
	if dryRun {
		statePath = ""
	}
	return session.New(session.Config{KB: k, OS: check.OSName(runtime.GOOS), FixEnv: fenv, StatePath: statePath,
		Service: prof.Name, Code: code,
		Diagnoser:   check.Diagnoser(k, env, check.Request{Profile: prof, Code: code, Timeout: 5 * time.Second}),
		NetworkBack: func(ctx context.Context) bool { return probe.Reachable(ctx, env(), prof) },
	})
}
