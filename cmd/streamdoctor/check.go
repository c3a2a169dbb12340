package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

type checkOptions struct {
	service string
	url     string
	code    string
	choice  codeChoice
	json    bool
	report  string
	timeout time.Duration
	answers []string
	verbose bool
	deep    bool
	speedTo string
	// The crowd outage service: where to ask, whether to tell it, and the
	// country to report.
	outageServer string
	outageURL    *url.URL // outageServer, checked
	tellOutage   bool
	region       string
	lang         string
	viewer       *lang.L // the language of the text output: --lang, else the locale
}

func newCheckCmd(ios *IO) *cobra.Command {
	o := &checkOptions{}
	c := &cobra.Command{
		Use:   "check",
		Short: "Check this device and network and say what is wrong",
		Example: "  streamdoctor check\n" +
			"  streamdoctor check --code NSEZ-503\n" +
			"  streamdoctor check --url https://www.example.com/ --json\n" +
			"  streamdoctor check --answer private_window_works=yes --report report.html",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCheck(cmd, ios, o) },
	}
	f := c.Flags()
	f.StringVar(&o.service, "service", "netflix", "service to check ("+strings.Join(profile.Names(), ", ")+")")
	f.StringVar(&o.url, "url", "", "check any site instead of a built-in service")
	f.StringVar(&o.code, "code", "", "the error code you saw, e.g. NSEZ-503")
	f.BoolVar(&o.json, "json", false, "print the streamdoctor.report/v1 JSON document")
	f.StringVar(&o.report, "report", "", "also write a shareable report (FILE.html or FILE.md)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "longest the whole check may take (1s to 60s)")
	f.StringArrayVar(&o.answers, "answer", nil, "answer a question: private_window_works=yes|no, other_devices_work=yes|no, mobile_data_works=yes|no")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every measurement")
	f.BoolVar(&o.deep, "deep", false, "run the full speed test (download and upload, up to 10 s) instead of the quick sample")
	f.StringVar(&o.speedTo, "speed-server", "", "measure speed against this server (e.g. one run with 'streamdoctor speed serve')")
	f.StringVar(&o.outageServer, "outage-server", "", "ask this crowd outage service whether the service is down for everyone (default $"+outage.EnvServer+")")
	f.BoolVar(&o.tellOutage, "tell-outage-server", false, "if you still cannot watch, send the outage server one anonymous report (service, code, country)")
	f.StringVar(&o.region, "region", "", "your country for --tell-outage-server, two letters (default: from your locale)")
	f.StringVar(&o.lang, "lang", "", "language of the text output ("+strings.Join(lang.Tags(), ", ")+"; default: from LC_ALL / LANG); JSON is always English")
	return c
}

func (o *checkOptions) validate(cmd *cobra.Command, k *kb.KB) (profile.Profile, evidence.Answers, error) {
	prof, err := resolveProfile(cmd, o.service, o.url)
	if err != nil {
		return prof, nil, err
	}
	if o.choice, err = resolveCode(k, o.code, prof); err != nil {
		return prof, nil, err
	}
	o.code = o.choice.key
	if o.deep && !cmd.Flags().Changed("timeout") {
		o.timeout = 20 * time.Second
	}
	if o.speedTo != "" {
		if _, err := (speed.Server{URL: o.speedTo}).Targets(cmd.Context()); err != nil {
			return prof, nil, usageErr("--speed-server: %s", err)
		}
	}
	if o.timeout < time.Second || o.timeout > time.Minute {
		return prof, nil, usageErr("--timeout %s is out of range: use 1s to 60s", o.timeout)
	}
	if o.report != "" {
		ext := strings.ToLower(filepath.Ext(o.report))
		if ext != ".html" && ext != ".htm" && ext != ".md" {
			return prof, nil, usageErr("--report %q: the file name must end in .html or .md", o.report)
		}
		// Before the check runs: a report that cannot be written is known now.
		dir := filepath.Dir(o.report)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return prof, nil, usageErr("--report %q: the folder %s does not exist", o.report, dir)
		}
		f, err := os.CreateTemp(dir, ".streamdoctor-report-check-*")
		if err != nil {
			return prof, nil, usageErr("--report %q: cannot write in %s", o.report, dir)
		}
		f.Close()
		os.Remove(f.Name())
		if st, err := os.Stat(o.report); err == nil && st.IsDir() {
			return prof, nil, usageErr("--report %q is a folder; give a file name ending in .html or .md", o.report)
		}
	}
	if o.outageServer == "" {
		o.outageServer = os.Getenv(outage.EnvServer)
	}
	if o.outageServer != "" {
		if o.outageURL, err = outage.ParseServer(o.outageServer); err != nil {
			return prof, nil, usageErr("%s", err)
		}
	}
	if o.lang != "" {
		l, err := lang.Parse(o.lang)
		if err != nil {
			return prof, nil, usageErr("--lang: %s", err)
		}
		o.viewer = l
	}
	if o.region != "" {
		given := o.region
		o.region = strings.ToUpper(o.region)
		if !outage.ValidRegion(o.region) {
			return prof, nil, usageErr("--region %q is not a two-letter country code (e.g. DE, US)", given)
		}
	} else {
		o.region = outage.RegionFromLocale(os.Getenv)
	}
	ans := evidence.Answers{}
	for _, a := range o.answers {
		id, v, err := evidence.ParseAnswerFlag(a)
		if err != nil {
			return prof, nil, usageErr("--answer %s", err)
		}
		if prev, seen := ans[id]; seen && v != prev {
			return prof, nil, usageErr("--answer %s is given twice with different answers (%s and %s); give it once", id, prev, v)
		}
		ans[id] = v
	}
	return prof, ans, nil
}

func runCheck(cmd *cobra.Command, ios *IO, o *checkOptions) error {
	k, err := loadKB()
	if err != nil {
		return err
	}
	o.viewer = ios.Lang
	prof, ans, err := o.validate(cmd, k)
	if err != nil {
		return err
	}
	if o.choice.note != "" {
		fmt.Fprintln(ios.ErrOut, o.choice.note)
	}
	if c := o.choice.code; c != nil && !c.Diagnosable() {
		// Not the network's problem: the answer is the code's one step.
		return printCodeAnswer(ios, o.viewer, c, o.json)
	}
	req := check.Request{Profile: prof, Code: o.code, Answers: ans, Timeout: o.timeout, Deep: o.deep, SpeedServer: o.speedTo, Lang: o.viewer}
	stopProgress := func() {}
	if ios.ErrTTY {
		req.Progress, stopProgress = progress(ios, o.viewer, o.timeout)
	}
	if err := checkEnviron(); err != nil {
		return err
	}
	penv := ios.Env()
	if o.outageURL != nil {
		penv.OutageServer = o.outageURL
	}
	if o.tellOutage && penv.OutageServer == nil {
		return usageErr("--tell-outage-server needs a server: give --outage-server URL or set %s", outage.EnvServer)
	}
	res, err := check.Run(cmd.Context(), k, penv, req)
	stopProgress()
	if cmd.Context().Err() != nil {
		// Probes cut short by the interrupt measured nothing: no verdict.
		return interrupted("check")
	}
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	var reportErr error
	if o.report != "" {
		reportErr = writeReport(o.report, k, res.View)
	}
	if o.json {
		err = report.JSON(ios.Out, res.Report)
	} else {
		err = report.Text(ios.Out, k, res.View, report.TextOptions{TTY: ios.OutTTY, Color: ios.OutTTY && !ios.NoColor, Verbose: o.verbose})
		if o.report != "" && err == nil && reportErr == nil {
			fmt.Fprintf(ios.Out, "\n%s\n", o.viewer.T("text.report_written", "Path", o.report))
		}
	}
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	if reportErr != nil {
		// The diagnosis is on stdout all the same.
		return &exitError{code: ExitFailed, msg: oneLineErr(reportErr)}
	}
	if res.Report.Problem() {
		if o.tellOutage {
			shown := ""
			if o.choice.code != nil {
				shown = o.choice.code.Code
			}
			tellOutage(cmd, ios, penv, prof.Name, shown, o.region)
		}
		return &exitError{code: ExitProblem}
	}
	return nil
}

// tellOutage sends the crowd server one report that this device still
// cannot watch, saying on stderr what happened; a failure to send does not
// change the check's verdict or exit code.
func tellOutage(cmd *cobra.Command, ios *IO, env *probe.Env, service, code, region string) {
	dir, err := os.UserConfigDir()
	if err == nil {
		dir = filepath.Join(dir, "streamdoctor")
	}
	id, err2 := outage.ClientID(dir)
	if err != nil || err2 != nil {
		fmt.Fprintln(ios.ErrOut, "Not reported: cannot keep this install's random report id in your settings folder.")
		return
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	cl := &outage.Client{Base: env.OutageServer, HTTP: probe.HTTPClient(ctx, env)}
	if err := cl.Send(ctx, outage.Report{Service: service, Code: code, Region: region, Client: id}); err != nil {
		fmt.Fprintf(ios.ErrOut, "Not reported to the outage server: %s\n", oneLineErr(err))
		return
	}
	fmt.Fprintf(ios.ErrOut, "Reported to the outage server at %s: this device still cannot watch %s.\n", env.OutageServer.Host, service)
}

// writeReport writes the file atomically: a partial report never replaces a good one.
func writeReport(path string, k *kb.KB, r *report.Report) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".streamdoctor-report-*")
	if err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if strings.EqualFold(filepath.Ext(path), ".md") {
		err = report.Markdown(tmp, k, r)
	} else {
		err = report.HTML(tmp, k, r)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	// A report says much about this machine and network: for its owner only.
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	return nil
}

// progress shows a one-line status on stderr while the probes run.
func progress(ios *IO, l *lang.L, timeout time.Duration) (func(done, total int, name string), func()) {
	var mu sync.Mutex
	done, total := 0, 0
	start := time.Now()
	stop := make(chan struct{})
	finished := make(chan struct{})
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				fmt.Fprint(ios.ErrOut, "\r\x1b[K")
				return
			case <-t.C:
				mu.Lock()
				fmt.Fprintf(ios.ErrOut, "\r\x1b[K%s %s", frames[i%len(frames)], l.T("text.progress", "Done", done, "Total", total, "Seconds", l.Num(time.Since(start).Seconds(), 1), "Limit", timeout))
				mu.Unlock()
			}
		}
	}()
	return func(d, t int, _ string) {
			mu.Lock()
			done, total = d, t
			mu.Unlock()
		}, func() {
			close(stop)
			<-finished
		}
}

// resolveProfile turns --service / --url into a profile (one of them).
func resolveProfile(cmd *cobra.Command, service, url string) (profile.Profile, error) {
	if url == "" {
		p, err := profile.Get(service)
		if err != nil {
			return p, usageErr("%s", err)
		}
		return p, nil
	}
	if cmd.Flags().Changed("service") {
		return profile.Profile{}, usageErr("give either --service or --url, not both")
	}
	p, err := profile.FromURL(url)
	if err != nil {
		return p, usageErr("%s", err)
	}
	return p, nil
}

// sameService: a --url profile that is the named service's own site
// (https://www.netflix.com/… for NSEZ-503).
func sameService(service string, prof profile.Profile) bool {
	p, err := profile.Get(service)
	if err != nil {
		return false
	}
	for _, d := range p.CookieDomains {
		for _, e := range prof.CookieDomains {
			if d == e {
				return true
			}
		}
	}
	return false
}

// codeChoice is what --code resolved to.
type codeChoice struct {
	key  string   // for the engine and the report ("" when not in the catalogue)
	code *kb.Code // nil when not in the catalogue
	note string   // one line for the viewer: a sub-code's family, or a code we lack
}

// codeService is the service whose codes a profile's check takes: a
// built-in service's own, or the one whose site a --url names ("" for any
// other site).
func codeService(prof profile.Profile) string {
	if _, err := profile.Get(prof.Name); err == nil {
		return prof.Name
	}
	for _, s := range profile.Names() {
		if sameService(s, prof) {
			return s
		}
	}
	return ""
}

// resolveCode looks up an error code given with --code for the service
// being checked: exactly, or as a sub-code of a family. A code not in the
// catalogue never blocks the viewer: the check runs without it, and the
// note says so (with the nearest codes, or the service that has it).
func resolveCode(k *kb.KB, typed string, prof profile.Profile) (codeChoice, error) {
	if strings.TrimSpace(typed) == "" {
		return codeChoice{}, nil
	}
	svc := codeService(prof)
	if svc != "" {
		if c, exact := k.Lookup(svc, typed); c != nil {
			ch := codeChoice{key: c.Key(), code: c}
			if !exact {
				ch.note = fmt.Sprintf("%s is one of the %s codes (%s): answered as %s.", strings.TrimSpace(typed), c.Family, c.Title, c.Code)
			}
			return ch, nil
		}
	}
	title := prof.Title
	if title == "" {
		title = prof.Name
	}
	note := fmt.Sprintf("%s is not a %s code StreamDoctor knows", strings.TrimSpace(typed), title)
	var others []string
	for _, c := range k.Owners(typed) {
		if c.Service != svc {
			others = append(others, "--service "+c.Service)
		}
	}
	switch {
	case len(others) > 0:
		note += " (" + strings.Join(others, " or ") + " has one)"
	case svc != "":
		if near := k.Nearest(svc, typed, 3); len(near) > 0 {
			var ns []string
			for _, c := range near {
				ns = append(ns, c.Code)
			}
			note += " (did you mean " + strings.Join(ns, ", ") + "?)"
		}
	}
	return codeChoice{note: note + "; checking without it."}, nil
}
