// Package check is the one path from a request to a report: it runs the
// probes, derives the evidence, asks the engine and builds the report. The
// CLI and the fault lab both call Run, so the lab tests exactly what users run.
package check

import (
	"context"
	"runtime"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/session"
	"github.com/streamdoctor/streamdoctor/internal/speed"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

// Request is one check.
type Request struct {
	Profile  profile.Profile
	Code     string
	Answers  evidence.Answers
	Timeout  time.Duration
	Progress func(done, total int, name string)
	// OnResult receives each probe's observations as it finishes.
	OnResult func([]probe.Observation)
	// Deep runs the full speed test; SpeedServer measures against a given server.
	Deep        bool
	SpeedServer string
	// Failed are fixes already tried without success; the plan skips them
	// and the diagnosis is conditioned on their failure.
	Failed []string
	// Skipped are fixes the person could not do now: left out of the plan,
	// with nothing learnt from them.
	Skipped []string
	// Persisting: the person says the problem is still there (fix sessions).
	Persisting bool
	// Browser, when set, returns the observations of the viewer's own
	// browser (the web page's requests), given what the probes saw; it is
	// called once the probes are done and must honour ctx.
	Browser func(ctx context.Context, seen []probe.Observation) []probe.Observation
	// Lang is the viewer's language: Result.View says the report in it.
	Lang *lang.L
}

// BrowserGrace is how long after the probes the browser's results are
// awaited: its requests run alongside the probes, so by then they are in
// unless they hang, and a hung request says nothing the probes did not.
const BrowserGrace = 1500 * time.Millisecond

// Result is a check's outcome.
type Result struct {
	// Report is the report in English: the JSON document and help desks
	// read it. View is the same report with what a viewer reads in the
	// request's language (Report itself when that is English).
	Report    *report.Report
	View      *report.Report
	Diagnosis engine.Diagnosis
	Evidence  engine.Evidence
	Facts     *sysinfo.Facts
}

// OSName maps GOOS to the KB's OS names.
func OSName(goos string) string {
	if goos == "darwin" {
		return "macos"
	}
	return goos
}

// Run performs the check.
func Run(ctx context.Context, k *kb.KB, env *probe.Env, req Request) (*Result, error) {
	start := time.Now()
	var sp *report.Speed
	onSpeed := func(r speed.Result, notes []string) {
		mode := "quick"
		if req.Deep {
			mode = "deep"
		}
		sp = &report.Speed{Result: r, Mode: mode, Notes: notes}
		if r.DownMbps > 0 {
			sp.Verdicts = speed.Judge(r.DownMbps, req.Profile.SDMbps, req.Profile.HDMbps, req.Profile.UHDMbps)
		}
	}
	obs, facts := probe.Run(ctx, env, req.Profile, probe.Options{Timeout: req.Timeout, Progress: req.Progress, OnResult: req.OnResult,
		Speed: probe.SpeedOptions{Deep: req.Deep, Server: req.SpeedServer, OnResult: onSpeed}})
	if req.Browser != nil {
		// The browser's requests started with the check; what has not come
		// back shortly after the probes is left out.
		grace := BrowserGrace
		if !evidence.BrowserCounts(obs) {
			grace = 50 * time.Millisecond // only shown: the probes' failure explains the browser's
		}
		bctx, cancel := context.WithTimeout(ctx, grace)
		obs = append(obs, req.Browser(bctx, obs)...)
		cancel()
	}
	ev := evidence.Derive(obs, req.Answers)
	failed := map[string]bool{}
	for _, f := range req.Failed {
		failed[f] = true
	}
	skipped := map[string]bool{}
	for _, f := range req.Skipped {
		skipped[f] = true
	}
	diag, err := engine.Diagnose(k, engine.Input{Code: req.Code, Evidence: ev, Failed: failed, Skipped: skipped, Persisting: req.Persisting})
	if err != nil {
		return nil, err
	}
	goos := runtime.GOOS
	if facts != nil && facts.OS != "" {
		goos = facts.OS
	}
	in := report.Input{
		Service: req.Profile.Name, ServiceTitle: req.Profile.Title, Code: req.Code, OS: OSName(goos),
		StartedAt: start, Duration: time.Since(start), Observations: obs, Diagnosis: diag, Evidence: ev, Speed: sp,
		Home: home(facts),
	}
	rep := report.Build(k, in)
	view := rep
	if !req.Lang.IsSource() {
		in.Lang = req.Lang
		view = report.Build(k, in)
	}
	return &Result{Report: rep, View: view, Diagnosis: diag, Evidence: ev, Facts: facts}, nil
}

// Speed runs the full speed test (the given server, else fast.com
// then M-Lab's ndt7) and judges it for SD, HD and 4K; `speed` and the web
// page's speed test both call it.
func Speed(ctx context.Context, env *probe.Env, p profile.Profile, server string, max time.Duration, upload bool, progress func(string, float64)) (*report.Speed, error) {
	client := probe.HTTPClient(ctx, env)
	defer client.CloseIdleConnections()
	backends := []speed.Backend{speed.Fast{Client: client}, speed.NDT7{Client: client}}
	if server != "" {
		backends = []speed.Backend{speed.Server{URL: server}}
	}
	res, notes, err := speed.Run(ctx, backends, speed.Options{Client: client, Max: max, Upload: upload, Progress: progress})
	sp := &report.Speed{Result: res, Mode: "deep", Notes: notes}
	if err != nil {
		return sp, err
	}
	sp.Verdicts = speed.Judge(res.DownMbps, p.SDMbps, p.HDMbps, p.UHDMbps)
	return sp, nil
}

func home(f *sysinfo.Facts) string {
	if f == nil {
		return ""
	}
	return f.Home
}

// Diagnoser is the guided session's way to check again (session.Diagnoser):
// base's check, with the fixes already tried and the person saying the
// problem persists.
func Diagnoser(k *kb.KB, env func() *probe.Env, base Request) session.Diagnoser {
	return diagnoser{k, env, base}
}

type diagnoser struct {
	k    *kb.KB
	env  func() *probe.Env
	base Request
}

func (d diagnoser) Diagnose(ctx context.Context, tried, skipped []string) (session.Outlook, error) {
	req := d.base
	req.Skipped = skipped
	// Persisting only once a step was tried and the person said it still
	// fails: the first step's chance is the one the check's plan shows
	// (one figure per step, on the page and in the guided fix).
	req.Failed, req.Persisting = tried, len(tried) > 0
	res, err := Run(ctx, d.k, d.env(), req)
	if err != nil {
		return session.Outlook{}, err
	}
	return session.Outlook{Summary: res.Report.Verdict.Summary, Plan: res.Diagnosis.Plan}, nil
}
