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
	"github.com/streamdoctor/streamdoctor/internal/lang"
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
	l := r.lang
	k = k.In(l)
	b := &strings.Builder{}
	title := l.T("text.title", "Service", r.serviceTitle())
	if r.Code != "" {
		title += l.T("text.title_code", "Code", r.Code)
		if r.CodeInfo != "" {
			title += " (" + r.CodeInfo + ")"
		}
	}
	fmt.Fprintf(b, "%s\n", c(ansiBold, title))
	fmt.Fprintf(b, "%s\n\n", l.N("text.checks_in", len(r.Observations), "Time", secondsIn(l, r.DurationMS)))
	// English names the lines as help desks know them (DNS); another
	// language in the viewer's words, as the page does.
	names, width := map[string]string{}, 9
	for _, ly := range r.Layers {
		names[ly.Name] = ly.Name
		if !l.IsSource() {
			names[ly.Name] = l.T("layer."+ly.Name, "Service", r.serviceTitle())
		}
		width = max(width, len([]rune(names[ly.Name])))
	}
	for _, ly := range r.Layers {
		// Plain words for the viewer; the ids and details with -v.
		line := ly.Plain
		if o.Verbose || line == "" {
			line = ly.Summary
		}
		name := names[ly.Name]
		fmt.Fprintf(b, "  %s %s%s %s\n", mark[ly.Status], name, strings.Repeat(" ", width-len([]rune(name))), line)
	}
	b.WriteString("\n")
	if r.Problem() {
		fmt.Fprintf(b, "%s\n", c(ansiBold, r.Verdict.Summary))
	} else {
		fmt.Fprintf(b, "%s\n", c(ansiBold+ansiGreen, r.Verdict.Summary))
	}
	if len(r.Because) > 0 {
		fmt.Fprintf(b, "  %s\n", l.T("text.because", "Reasons", strings.Join(r.Because, "; ")))
	}
	if cs := k.Cause(r.Verdict.TopCause); cs != nil {
		fmt.Fprintf(b, "  %s\n", ServiceIn(cs.Explain, r.serviceTitle()))
	}
	var also []string
	for _, cs := range r.Causes[1:] {
		if cs.Probability < 0.05 || len(also) == 3 {
			break
		}
		title := cs.Title // already in the report's language
		also = append(also, fmt.Sprintf("%s (%s)", title, Pct(cs.Probability)))
	}
	if len(also) > 0 {
		fmt.Fprintf(b, "  %s\n", l.T("text.also", "Causes", strings.Join(also, ", ")))
	}
	if sp := r.Speed; sp != nil && sp.DownMbps > 0 {
		b.WriteString("\n")
		speedTable(l, b, sp, o.TTY, !o.Verbose)
	}
	if q := r.Question; q != nil {
		fmt.Fprintf(b, "\n%s\n", l.T("text.question", "Minutes", fmt.Sprintf("%.0f", q.SavesMinutes), "Ask", q.Ask))
		fmt.Fprintf(b, "  %s\n", l.T("text.question_how", "ID", q.ID))
	}
	if len(r.Plan) > 0 {
		fmt.Fprintf(b, "\n%s\n", l.T("text.plan"))
		for i, s := range r.Plan {
			fmt.Fprintf(b, "  %d. %s\n", i+1, l.T("text.step", "Title", c(ansiBold, s.Title), "Difficulty", l.T("difficulty."+s.Difficulty), "Minutes", trimFloatIn(l, s.Minutes), "Pct", Pct(s.PSuccess)))
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

// trimFloatIn writes minutes and the like with one decimal at most, the
// language's way (7.5 / 7,5).
func trimFloatIn(l *lang.L, v float64) string {
	if v == float64(int64(v)) {
		return l.Num(v, 0)
	}
	return l.Num(v, 1)
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
	// md makes text safe inside a Markdown table cell.
	"md": func(s string) string {
		return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
	},
	"plus1": func(i int) int { return i + 1 },
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
	Lang    string
}

func (r *Report) fileData(k *kb.KB) fileData {
	d := fileData{Report: r, Title: r.serviceTitle(), Lang: r.lang.Tag()}
	if c := k.In(r.lang).Cause(r.Verdict.TopCause); c != nil {
		d.Explain = ServiceIn(c.Explain, d.Title)
	}
	return d
}

// T, N, LayerName, VerdictWord, SpeedPlain and BecauseLine say the file's
// words in the report's language.
func (d fileData) T(id string, kv ...any) string        { return d.lang.T(id, kv...) }
func (d fileData) N(id string, n int, kv ...any) string { return d.lang.N(id, n, kv...) }
func (d fileData) Num(v float64) string                 { return trimFloatIn(d.lang, v) }
func (d fileData) BecauseLine() string                  { return strings.Join(d.Because, "; ") }
func (d fileData) SpeedPlain() string                   { return d.Speed.PlainIn(d.lang) }

// LayerName is a checklist line's name: as help desks know it in English
// (DNS), in the viewer's words in another language.
func (d fileData) LayerName(name string) string {
	if d.lang.IsSource() {
		return name
	}
	return d.lang.T("layer."+name, "Service", d.Title)
}

// VerdictWord is a quality's verdict in words.
func (d fileData) VerdictWord(v string) string {
	return d.lang.T("speed." + map[string]string{speed.Enough: "enough", speed.Marginal: "marginal", speed.NotEnough: "not_enough"}[v])
}

// HTML writes a self-contained HTML page (inline style, no external files).
func HTML(w io.Writer, k *kb.KB, r *Report) error {
	return tmpl.ExecuteTemplate(w, "report.html", r.fileData(k))
}

// Markdown writes the report as Markdown.
func Markdown(w io.Writer, k *kb.KB, r *Report) error {
	return mdTmpl.ExecuteTemplate(w, "report.md", r.fileData(k))
}

func secondsIn(l *lang.L, ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return l.Num(float64(ms)/1000, 1) + " s"
}

// Plain is the measurement in the viewer's words: the rates (a quick
// sample's as the bound it is) and the delay, idle and busy; the server,
// RPM, jitter and loss are for help desks.
func (sp *Speed) Plain() string { return sp.PlainIn(nil) }

// PlainIn is Plain in l's language.
func (sp *Speed) PlainIn(l *lang.L) string {
	down := l.T("speed.down", "Mbps", mbpsIn(l, sp.DownMbps))
	if sp.Decided && len(sp.Verdicts) > 0 && sp.Verdicts[0].Verdict == speed.Enough {
		down = l.T("speed.at_least", "Rate", down) // stopped once clearly enough
	}
	if sp.UpMbps > 0 {
		down += ", " + l.T("speed.up", "Mbps", mbpsIn(l, sp.UpMbps))
	}
	return l.T("speed.plain", "Rates", down, "Idle", l.Num(sp.IdleRTTms, 0), "Busy", l.Num(sp.LoadedRTTms, 0))
}

// SpeedTable writes the measurement and the verdict per quality; plain
// says it in a viewer's words (no server, RPM, jitter or loss).
func SpeedTable(w io.Writer, sp *Speed, tty, plain bool) { speedTable(nil, w, sp, tty, plain) }

// speedTable is SpeedTable; plain (a check's text for the viewer) leaves
// the server, RPM, jitter and loss to the details, and says a quick
// sample's figure as the bound it is.
func speedTable(l *lang.L, w io.Writer, sp *Speed, tty, plain bool) {
	if plain {
		fmt.Fprintf(w, "%s\n", l.T("speed.line", "Plain", sp.PlainIn(l)))
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
	words := map[string]string{speed.Enough: l.T("speed.enough"), speed.Marginal: l.T("speed.marginal"), speed.NotEnough: l.T("speed.not_enough")}
	for _, q := range sp.Verdicts {
		mark := map[string]string{speed.Enough: "[ok]", speed.Marginal: "[~~]", speed.NotEnough: "[!!]"}[q.Verdict]
		if tty {
			mark = map[string]string{speed.Enough: "✓", speed.Marginal: "~", speed.NotEnough: "✗"}[q.Verdict]
		}
		fmt.Fprintf(w, "  %s %-3s %s\n", mark, q.Name, l.T("speed.needs", "Mbps", fmt.Sprintf("%2.0f", q.NeedMbps), "Verdict", words[q.Verdict]))
	}
}
