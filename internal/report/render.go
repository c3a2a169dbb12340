package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	texttemplate "text/template"

	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// TextOptions choose how Text looks.
type TextOptions struct {
	// TTY uses symbols (✓ ✗ –); otherwise ASCII markers that survive any pipe.
	TTY bool
	// Color adds ANSI colour (only with TTY, and never when NO_COLOR is set).
	Color bool
	// Verbose lists every observation.
	Verbose bool
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
)

// Text writes the checklist, the verdict and the plan.
func Text(w io.Writer, k *kb.KB, r *Report, o TextOptions) error {
	c := func(code, s string) string {
		if !o.Color {
			return s
		}
		return code + s + ansiReset
	}
	mark := map[probe.Status]string{probe.OK: "[ok]", probe.Problem: "[!!]", probe.NotRun: "[--]"}
	if o.TTY {
		mark = map[probe.Status]string{probe.OK: c(ansiGreen, "✓"), probe.Problem: c(ansiRed, "✗"), probe.NotRun: c(ansiDim, "–")}
	}
	b := &strings.Builder{}
	title := "StreamDoctor check: " + r.serviceTitle()
	if r.Code != "" {
		title += ", error " + r.Code
		if r.CodeInfo != "" {
			title += " (" + r.CodeInfo + ")"
		}
	}
	fmt.Fprintf(b, "%s\n", c(ansiBold, title))
	fmt.Fprintf(b, "%d checks in %s\n\n", len(r.Observations), seconds(r.DurationMS))
	for _, l := range r.Layers {
		// Plain words for the viewer; the ids and details with -v.
		line := l.Plain
		if o.Verbose || line == "" {
			line = l.Summary
		}
		fmt.Fprintf(b, "  %s %-9s %s\n", mark[l.Status], l.Name, line)
	}
	b.WriteString("\n")
	if r.Problem() {
		fmt.Fprintf(b, "%s\n", c(ansiBold, r.Verdict.Summary))
	} else {
		fmt.Fprintf(b, "%s\n", c(ansiBold+ansiGreen, r.Verdict.Summary))
	}
	if len(r.Because) > 0 {
		fmt.Fprintf(b, "  because %s.\n", strings.Join(r.Because, "; "))
	}
	if cs := k.Cause(r.Verdict.TopCause); cs != nil {
		fmt.Fprintf(b, "  %s\n", cs.Explain)
	}
	var also []string
	for _, cs := range r.Causes[1:] {
		if cs.Probability < 0.05 || len(also) == 3 {
			break
		}
		also = append(also, fmt.Sprintf("%s (%s)", cs.Title, Pct(cs.Probability)))
	}
	if len(also) > 0 {
		fmt.Fprintf(b, "  Also possible: %s.\n", strings.Join(also, ", "))
	}
	if sp := r.Speed; sp != nil && sp.DownMbps > 0 {
		b.WriteString("\n")
		speedTable(b, sp, o.TTY, !o.Verbose)
	}
	if q := r.Question; q != nil {
		fmt.Fprintf(b, "\nWorth answering first (saves about %.0f min on average): %s\n", q.SavesMinutes, q.Ask)
		fmt.Fprintf(b, "  Tell StreamDoctor: --answer %s=yes (or =no)\n", q.ID)
	}
	if len(r.Plan) > 0 {
		b.WriteString("\nWhat to do, in this order:\n")
		for i, s := range r.Plan {
			fmt.Fprintf(b, "  %d. %s — %s, about %s min, %s likely to fix it\n", i+1, c(ansiBold, s.Title), s.Difficulty, trimFloat(s.Minutes), Pct(s.PSuccess))
			for _, st := range s.Steps {
				fmt.Fprintf(b, "       - %s\n", st)
			}
		}
	}
	if o.Verbose {
		b.WriteString("\nAll observations:\n")
		for _, ob := range r.Observations {
			f := ob.Failure
			if f == "" {
				f = string(ob.Status)
			}
			fmt.Fprintf(b, "  %-20s %-40s %-22s %s\n", ob.Probe, clip(ob.Target, 40), f, clip(ob.Detail, 100))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

func (r *Report) serviceTitle() string {
	if r.title != "" {
		return r.title
	}
	return r.Service
}

// JSON writes the report/v1 document.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

//go:embed templates/*
var templates embed.FS

var funcs = map[string]any{
	"pct": Pct,
	"num": trimFloat,
	// md makes text safe inside a Markdown table cell.
	"md": func(s string) string {
		return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
	},
	"plus1": func(i int) int { return i + 1 },
	"verdict": func(v string) string {
		return map[string]string{speed.Enough: "enough", speed.Marginal: "marginal", speed.NotEnough: "not enough"}[v]
	},
	"icon": func(s probe.Status) string {
		return map[probe.Status]string{probe.OK: "✓", probe.Problem: "✗", probe.NotRun: "–"}[s]
	},
}

// The HTML page escapes as HTML; Markdown is plain text (html/template
// would write quotes as &#34;), escaped for tables by md.
var (
	tmpl   = template.Must(template.New("").Funcs(funcs).ParseFS(templates, "templates/report.html"))
	mdTmpl = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templates, "templates/report.md"))
)

type fileData struct {
	*Report
	Title   string
	Explain string
}

func (r *Report) fileData(k *kb.KB) fileData {
	d := fileData{Report: r, Title: r.serviceTitle()}
	if c := k.Cause(r.Verdict.TopCause); c != nil {
		d.Explain = c.Explain
	}
	return d
}

// HTML writes a self-contained HTML page (inline style, no external files).
func HTML(w io.Writer, k *kb.KB, r *Report) error {
	return tmpl.ExecuteTemplate(w, "report.html", r.fileData(k))
}

// Markdown writes the report as Markdown.
func Markdown(w io.Writer, k *kb.KB, r *Report) error {
	return mdTmpl.ExecuteTemplate(w, "report.md", r.fileData(k))
}

func seconds(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}

// Plain is the measurement in the viewer's words: the rates (a quick
// sample's as the bound it is) and the delay, idle and busy; the server,
// RPM, jitter and loss are for help desks.
func (sp *Speed) Plain() string {
	down := mbps(sp.DownMbps) + " Mbps down"
	if sp.Decided && len(sp.Verdicts) > 0 && sp.Verdicts[0].Verdict == speed.Enough {
		down = "at least " + down // stopped once clearly enough
	}
	if sp.UpMbps > 0 {
		down += ", " + mbps(sp.UpMbps) + " Mbps up"
	}
	return fmt.Sprintf("%s; a delay of %.0f ms, %.0f ms while the line is busy", down, sp.IdleRTTms, sp.LoadedRTTms)
}

// SpeedTable writes the measurement and the verdict per quality; plain
// says it in a viewer's words (no server, RPM, jitter or loss).
func SpeedTable(w io.Writer, sp *Speed, tty, plain bool) { speedTable(w, sp, tty, plain) }

// speedTable is SpeedTable; plain (a check's text for the viewer) leaves
// the server, RPM, jitter and loss to the details, and says a quick
// sample's figure as the bound it is.
func speedTable(w io.Writer, sp *Speed, tty, plain bool) {
	if plain {
		fmt.Fprintf(w, "Speed: %s\n", sp.Plain())
	} else {
		fmt.Fprintf(w, "Speed (%s, %s): %.1f Mbps down", sp.Backend, sp.Server, sp.DownMbps)
		if sp.UpMbps > 0 {
			fmt.Fprintf(w, ", %.1f Mbps up", sp.UpMbps)
		}
		fmt.Fprintf(w, "; latency %.0f ms idle, %.0f ms under load (%.0f RPM); jitter %.0f ms", sp.IdleRTTms, sp.LoadedRTTms, sp.RPM, sp.JitterMs)
		if sp.LossPct >= 0 {
			fmt.Fprintf(w, "; loss %.2f %%", sp.LossPct)
		}
		fmt.Fprintln(w)
	}
	words := map[string]string{speed.Enough: "enough", speed.Marginal: "marginal", speed.NotEnough: "not enough"}
	for _, q := range sp.Verdicts {
		mark := map[string]string{speed.Enough: "[ok]", speed.Marginal: "[~~]", speed.NotEnough: "[!!]"}[q.Verdict]
		if tty {
			mark = map[string]string{speed.Enough: "✓", speed.Marginal: "~", speed.NotEnough: "✗"}[q.Verdict]
		}
		fmt.Fprintf(w, "  %s %-3s needs %2.0f Mbps: %s\n", mark, q.Name, q.NeedMbps, words[q.Verdict])
	}
}
