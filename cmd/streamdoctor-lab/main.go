// Command streamdoctor-lab runs StreamDoctor's fault-lab scenarios through
// the real check path (`run`), or starts one scenario's servers and prints
// the streamdoctor command that points the real binary at them (`serve`).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/fix"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func execute(ctx context.Context, out, errOut io.Writer, args []string) int {
	root := &cobra.Command{
		Use:           "streamdoctor-lab",
		Short:         "StreamDoctor's fault lab: scenarios played on loopback servers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{2, fmt.Sprintf("%s (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(runCmd(out), serveCmd(out, errOut), perturbCmd(out))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(errOut, "streamdoctor-lab: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(errOut, "streamdoctor-lab: "+strings.SplitN(err.Error(), "\n", 2)[0])
	return 2
}

// RunDoc is the streamdoctor.labrun/v1 document.
type RunDoc struct {
	Schema  string       `json:"schema"`
	Total   int          `json:"total"`
	Passed  int          `json:"passed"`
	Results []lab.Result `json:"results"`
}

func runCmd(out io.Writer) *cobra.Command {
	var asJSON, explain bool
	var parallel int
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "run [--json] FILES...",
		Short: "Run scenarios through the real check path and compare the verdicts",
		Example: "  streamdoctor-lab run scenarios/*.yaml\n" +
			"  streamdoctor-lab run --json scenarios/",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{2, "name scenario files or directories, e.g. 'streamdoctor-lab run scenarios/*.yaml'"}
			}
			if parallel < 1 || parallel > 32 {
				return &exitError{2, "--parallel must be between 1 and 32"}
			}
			files, err := lab.Glob(args)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			var scs []*lab.Scenario
			for _, f := range files {
				sc, err := lab.LoadFile(f)
				if err != nil {
					return &exitError{2, err.Error()}
				}
				scs = append(scs, sc)
			}
			doc, err := runAll(cmd.Context(), scs, parallel, timeout)
			if err != nil {
				return &exitError{3, err.Error()}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(doc); err != nil {
					return err
				}
			} else {
				printTable(out, doc)
			}
			if explain {
				printMisses(out, doc)
			}
			if doc.Passed != doc.Total {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the streamdoctor.labrun/v1 document")
	c.Flags().IntVar(&parallel, "parallel", 4, "scenarios run at once")
	c.Flags().BoolVar(&explain, "explain", false, "after the table, print each miss's evidence and the observations that were not ok")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "each check's --timeout")
	return c
}

func perturbCmd(out io.Writer) *cobra.Command {
	var n, parallel, only int
	var seed uint64
	var explain, strict bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "perturb [--n N] [--seed S] FILES...",
		Short: "Re-run scenarios with every value that is not part of their fault moved within a harmless range; fail on any verdict change",
		Long: "perturb makes N variants of each scenario: each moves, with even odds, every key that is not\n" +
			"part of the scenario's fault (the keys that differ from the healthy default, or the file's\n" +
			"'fault' list) within a range where it is harmless — round trip 0-60 ms, jitter 0-6 ms,\n" +
			"bandwidth 25-500 Mbps, Wi-Fi signal -40 to -70 dBm, uptime 1-300 h, a clock off by up to 30 s,\n" +
			"the OS, wifi or ethernet, a current browser — and plays the world's random parts anew.\n" +
			"A variant whose verdict differs from the scenario's expectation is played again alone; if it\n" +
			"differs again it fails the run. One right when alone changed only under the machine's load\n" +
			"(printed and counted; it fails with --strict). Each is printed with its seed and index, so\n" +
			"'--seed S --variant K FILE' replays it alone.",
		Example: "  streamdoctor-lab perturb scenarios/\n" +
			"  streamdoctor-lab perturb --n 3 --seed 7 --variant 2 scenarios/vpn-blocked.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{2, "name scenario files or directories, e.g. 'streamdoctor-lab perturb scenarios/'"}
			}
			if n < 1 || n > 1000 {
				return &exitError{2, "--n must be between 1 and 1000"}
			}
			if parallel < 1 || parallel > 32 {
				return &exitError{2, "--parallel must be between 1 and 32"}
			}
			if only >= n {
				return &exitError{2, fmt.Sprintf("--variant %d: variants are numbered 0 to %d", only, n-1)}
			}
			files, err := lab.Glob(args)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			var vs []lab.Variant
			for _, f := range files {
				sc, err := lab.LoadFile(f)
				if err != nil {
					return &exitError{2, err.Error()}
				}
				for i := range n {
					if only < 0 || i == only {
						vs = append(vs, lab.Perturb(sc, seed, i))
					}
				}
			}
			scs := make([]*lab.Scenario, len(vs))
			for i, v := range vs {
				scs[i] = v.Scenario
			}
			doc, err := runAll(cmd.Context(), scs, parallel, timeout)
			if err != nil {
				return &exitError{3, err.Error()}
			}
			// A variant that changed is played again alone: a change that
			// does not come back without the others beside it was the
			// machine's load, not the moved keys (load is what the suite's
			// --parallel runs test). It is printed, and fails with --strict.
			var failed []int
			for i, r := range doc.Results {
				if !r.Pass {
					failed = append(failed, i)
				}
			}
			alone := map[int]bool{}
			for _, i := range failed {
				d, err := runAll(cmd.Context(), scs[i:i+1], 1, timeout)
				if err == nil && len(d.Results) == 1 {
					alone[i] = d.Results[0].Pass
				}
			}
			changed, loadOnly := 0, 0
			for _, i := range failed {
				r := doc.Results[i]
				what := "CHANGED"
				if alone[i] {
					what = "CHANGED ONLY UNDER LOAD (right when replayed alone)"
					loadOnly++
				} else {
					changed++
				}
				fmt.Fprintf(out, "%s %s (%s) variant %d: expected %s, got %s (%.0f %%)\n  moved: %s\n  replay: streamdoctor-lab perturb --n %d --seed %d --variant %d %s\n",
					what, r.Scenario, r.File, vs[i].Index, r.Expected, r.Diagnosed, r.Probability*100, vs[i].Describe(), n, seed, vs[i].Index, r.File)
			}
			if explain {
				printMisses(out, doc)
			}
			fmt.Fprintf(out, "%d variants of %d scenarios (seed %d): %d verdict changes", len(vs), len(files), seed, changed)
			if loadOnly > 0 {
				fmt.Fprintf(out, "; %d more only under load (--parallel %d), right when replayed alone", loadOnly, parallel)
			}
			fmt.Fprintln(out)
			if changed > 0 || strict && loadOnly > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&strict, "strict", false, "also fail on a change that does not come back when the variant is replayed alone")
	c.Flags().IntVar(&n, "n", 10, "variants per scenario")
	c.Flags().Uint64Var(&seed, "seed", 1, "the variants' random seed")
	c.Flags().IntVar(&only, "variant", -1, "run only this variant (0 to N-1), to replay one")
	c.Flags().BoolVar(&explain, "explain", false, "print each changed variant's evidence and the observations that were not ok")
	c.Flags().IntVar(&parallel, "parallel", 4, "variants run at once")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "each check's --timeout")
	return c
}

func runAll(ctx context.Context, scs []*lab.Scenario, parallel int, timeout time.Duration) (*RunDoc, error) {
	k, err := kb.Default()
	if err != nil {
		return nil, err
	}
	doc := &RunDoc{Schema: "streamdoctor.labrun/v1", Total: len(scs), Results: make([]lab.Result, len(scs))}
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(scs))
	var wg sync.WaitGroup
	for i, sc := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			doc.Results[i], errs[i] = lab.Run(ctx, k, sc, timeout)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, r := range doc.Results {
		if r.Pass {
			doc.Passed++
		}
	}
	return doc, nil
}

func printTable(w io.Writer, doc *RunDoc) {
	fmt.Fprintf(w, "%-4s %-26s %-20s %-20s %6s %8s\n", "", "scenario", "expected", "diagnosed", "p", "wall_ms")
	slowest := lab.Result{}
	for _, r := range doc.Results {
		mark := "ok"
		if !r.Pass {
			mark = "MISS"
		}
		fmt.Fprintf(w, "%-4s %-26s %-20s %-20s %5.0f%% %8d", mark, r.Scenario, r.Expected, r.Diagnosed, r.Probability*100, r.WallMS)
		if r.Why != "" {
			fmt.Fprintf(w, "  (%s)", r.Why)
		}
		fmt.Fprintln(w)
		if r.WallMS > slowest.WallMS {
			slowest = r
		}
	}
	fmt.Fprintf(w, "\n%d/%d passed; slowest %s (%d ms)\n", doc.Passed, doc.Total, slowest.Scenario, slowest.WallMS)
}

// printMisses shows, for each miss, what the engine saw: the evidence and
// every observation that was not plainly ok.
func printMisses(w io.Writer, doc *RunDoc) {
	for _, r := range doc.Results {
		if r.Pass || r.Check == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s): evidence", r.Scenario, r.File)
		ids := make([]string, 0, len(r.Check.Evidence))
		for id := range r.Check.Evidence {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(w, " %s=%v", id, r.Check.Evidence[id])
		}
		fmt.Fprintln(w)
		for _, o := range r.Check.Report.Observations {
			if o.Status != "ok" || o.Value != 0 {
				fmt.Fprintf(w, "  %-26s %-8s %-22s %8.1f  %s\n", o.Probe, o.Status, o.Failure, o.Value, o.Detail)
			}
		}
	}
}

func serveCmd(out, errOut io.Writer) *cobra.Command {
	var envPath, host string
	var forDur time.Duration
	c := &cobra.Command{
		Use:   "serve FILE",
		Short: "Start one scenario's servers and print the streamdoctor command that checks them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ip := net.ParseIP(host); ip == nil {
				return &exitError{2, fmt.Sprintf("--listen-host %q is not an IP address (e.g. 127.0.0.1)", host)}
			}
			sc, err := lab.LoadFile(args[0])
			if err != nil {
				return &exitError{2, err.Error()}
			}
			w, err := lab.StartOn(sc, host)
			if err != nil {
				return &exitError{3, err.Error()}
			}
			defer w.Close()
			if envPath == "" {
				envPath = filepath.Join(os.TempDir(), "streamdoctor-lab-"+sc.Name+".env.json")
			}
			b, err := json.MarshalIndent(w.EnvFile(), "", "  ")
			if err != nil {
				return err
			}
			// Written whole or not at all: a reader never sees half a file.
			if err := fix.WriteFileAtomic(envPath, b, 0o600); err != nil {
				return &exitError{3, err.Error()}
			}
			defer os.Remove(envPath)
			fmt.Fprintf(out, "Serving scenario %q (%s)\n%s\n\nCheck it with a lab build of streamdoctor (go build -tags streamdoctor_lab ./cmd/streamdoctor):\n\n  %s\n\n", sc.Name, sc.File, sc.About, checkCommand(sc, envPath))
			fmt.Fprintf(out, "Or open the web page (streamdoctor web --env-file %s) in a browser led into this world:\n\n  chromium --ignore-certificate-errors --host-resolver-rules=%q URL\n\n", envPath, w.BrowserRules())
			fmt.Fprintln(errOut, "Press Ctrl-C to stop.")
			ctx := cmd.Context()
			if forDur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, forDur)
				defer cancel()
			}
			<-ctx.Done()
			return nil
		},
	}
	c.Flags().StringVar(&envPath, "env-file", "", "where to write the environment file (default: a temporary file)")
	c.Flags().DurationVar(&forDur, "for", 0, "stop after this long (default: until Ctrl-C)")
	c.Flags().StringVar(&host, "listen-host", "127.0.0.1", "address the scenario's servers listen on")
	return c
}

// checkCommand is the streamdoctor invocation for a served scenario.
func checkCommand(sc *lab.Scenario, envPath string) string {
	parts := []string{"streamdoctor", "check", "--env-file", envPath}
	if sc.Service != "netflix" {
		parts = append(parts, "--service", sc.Service)
	}
	if sc.Code != "" && kb.MustDefault().Code(sc.Code) != nil {
		parts = append(parts, "--code", sc.Code)
	}
	keys := make([]string, 0, len(sc.Answers))
	for k := range sc.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := sc.Answers[k]; v != "unknown" {
			parts = append(parts, "--answer", k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}
