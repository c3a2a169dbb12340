package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/kb"
)

func newExplainCmd(ios *IO) *cobra.Command {
	return &cobra.Command{
		Use:     "explain CODE",
		Short:   "Explain an error code and how to fix it (works offline)",
		Example: "  streamdoctor explain NSEZ-503",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("explain takes one error code, e.g. 'streamdoctor explain NSEZ-503'")
			}
			if strings.TrimSpace(args[0]) == "" {
				return usageErr("give an error code, e.g. 'streamdoctor explain NSEZ-503' (list them with 'streamdoctor codes')")
			}
			k, err := loadKB()
			if err != nil {
				return err
			}
			c := k.Code(args[0])
			if c == nil {
				return usageErr("unknown error code %q%s (list them with 'streamdoctor codes')", args[0], suggestion(k, args[0]))
			}
			fmt.Fprint(ios.Out, explainText(k, c))
			return nil
		},
	}
}

func explainText(k *kb.KB, c *kb.Code) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s — %s (%s)\n\n%s\n", c.Code, c.Title, c.Service, wrap(c.Meaning, 78, ""))
	if len(c.Causes) > 0 {
		b.WriteString("\nUsual causes:\n")
		for _, id := range c.Causes {
			cs := k.Cause(id)
			fmt.Fprintf(b, "  - %s\n    %s\n", cs.Title, wrap(cs.Explain, 74, "    "))
		}
	}
	if len(c.Methods) > 0 {
		b.WriteString("\nThe usual fixes, in the order people try them:\n")
		for i, m := range c.Methods {
			fmt.Fprintf(b, "\n  %d. %s\n     %s · %s · success %s (%.0f %%) · best for %s\n", i+1, m.Name,
				m.Difficulty, m.Time, m.SuccessText, m.Success*100, m.BestFor)
			for _, s := range m.Steps {
				fmt.Fprintf(b, "       - %s\n", wrap(s, 70, "         "))
			}
			fmt.Fprintf(b, "     Why it works: %s\n", wrap(m.Why, 64, "       "))
		}
	}
	if len(c.Outage) > 0 {
		b.WriteString("\nIs the service down?\n")
		for _, s := range c.Outage {
			fmt.Fprintf(b, "  - %s\n", s)
		}
	}
	if len(c.Advanced) > 0 {
		b.WriteString("\nIf nothing above works:\n")
		for _, s := range c.Advanced {
			fmt.Fprintf(b, "  - %s\n", s.Text)
		}
	}
	if len(c.Prevention) > 0 {
		b.WriteString("\nTo keep it from coming back:\n")
		for _, s := range c.Prevention {
			fmt.Fprintf(b, "  - %s\n", s)
		}
	}
	fmt.Fprintf(b, "\nRun 'streamdoctor check --code %s' to find which of these applies to you.\n", c.Code)
	return b.String()
}

// wrap folds text at width, indenting continuation lines.
func wrap(s string, width int, indent string) string {
	words := strings.Fields(s)
	var b strings.Builder
	n := 0
	for i, w := range words {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

func newCodesCmd(ios *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "codes",
		Short: "List the error codes StreamDoctor knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := loadKB()
			if err != nil {
				return err
			}
			for _, c := range k.CodeList() {
				fmt.Fprintf(ios.Out, "%-18s %-8s %s\n", c.Code, c.Service, c.Title)
			}
			return nil
		},
	}
}

func newVersionCmd(ios *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(ios.Out, "streamdoctor %s (commit %s, built %s)\n", version, commit, date)
		},
	}
}

// suggestion names the known codes nearest to code.
func suggestion(k *kb.KB, code string) string {
	type cand struct {
		code string
		d    int
	}
	q := strings.ToUpper(strings.TrimSpace(code))
	var cs []cand
	for _, c := range k.CodeList() {
		cs = append(cs, cand{c.Code, levenshtein(q, c.Code)})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs {
		if len(out) == 3 || c.d > max(3, len(q)/2) {
			break
		}
		out = append(out, c.code)
	}
	if len(out) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(out, " or ") + "?"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
