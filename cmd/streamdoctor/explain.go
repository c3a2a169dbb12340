package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

func newExplainCmd(ios *IO) *cobra.Command {
	var service string
	c := &cobra.Command{
		Use:   "explain CODE",
		Short: "Explain an error code and how to fix it (works offline)",
		Example: "  streamdoctor explain NSEZ-503\n" +
			"  streamdoctor explain --service disneyplus 83",
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
			c, exact, err := lookupAnyService(k, service, args[0], cmd.Flags().Changed("service"))
			if err != nil {
				return err
			}
			switch typed := strings.TrimSpace(args[0]); {
			case !exact:
				fmt.Fprintf(ios.Out, "%s is one of the %s codes; they share this answer.\n\n", typed, c.Family)
			case kb.NormalizeCode(typed) != kb.NormalizeCode(c.Code):
				fmt.Fprintf(ios.Out, "%s is the same error as %s, under another number.\n\n", typed, c.Code)
			}
			fmt.Fprint(ios.Out, explainText(k, c))
			return nil
		},
	}
	c.Flags().StringVar(&service, "service", "netflix", "the service that showed the code ("+strings.Join(profile.Names(), ", ")+")")
	return c
}

// lookupAnyService finds a typed code: for the service given, or (none
// given) Netflix's first and then every other service's, so that "explain
// 83" finds Disney+'s 83 when no other service has one.
func lookupAnyService(k *kb.KB, service, typed string, given bool) (*kb.Code, bool, error) {
	if _, err := profile.Get(service); err != nil {
		return nil, false, usageErr("%s", err)
	}
	service = strings.ToLower(strings.TrimSpace(service))
	if c, exact := k.Lookup(service, typed); c != nil {
		return c, exact, nil
	}
	if !given {
		switch found := k.Owners(typed); len(found) {
		case 1:
			return found[0], true, nil
		case 0:
		default:
			var ss []string
			for _, c := range found {
				ss = append(ss, c.Service)
			}
			return nil, false, usageErr("%s is a code of %s: say which with --service", strings.TrimSpace(typed), strings.Join(ss, " and "))
		}
	}
	return nil, false, usageErr("%q is not a %s code StreamDoctor knows%s (list them with 'streamdoctor codes --service %s')", typed, service, suggestion(k, service, typed), service)
}

// printCodeAnswer answers a code that is not the network's: its meaning
// and the one step that helps, as text or JSON.
func printCodeAnswer(ios *IO, l *lang.L, c *kb.Code, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(codeJSON{Schema: "streamdoctor.code/v1", Service: c.Service, Code: c.Code, Class: c.Class,
			Title: c.Title, Meaning: c.Meaning, Step: c.Step, Where: c.Where, Source: c.Source})
	}
	// The text is the viewer's: in the terminal's language (JSON stays English).
	if t := kb.MustDefault().In(l).Code(c.Key()); t != nil && l != nil && !l.IsSource() {
		c = t
	}
	fmt.Fprintf(ios.Out, "%s — %s\n\n%s\n\n%s\n\n%s\n",
		c.Code, c.Title, wrap(l.T("text.code.not_network", "Meaning", c.Meaning), 78, ""), wrap(l.T("text.code.helps", "Step", c.Step), 78, ""), l.T("text.code.anyway"))
	return nil
}

// codeJSON is the answer to a code that needs no network check.
type codeJSON struct {
	Schema  string   `json:"schema"`
	Service string   `json:"service"`
	Code    string   `json:"code"`
	Class   string   `json:"class"`
	Title   string   `json:"title"`
	Meaning string   `json:"meaning"`
	Step    string   `json:"step"`
	Where   []string `json:"where,omitempty"`
	Source  string   `json:"source"`
}

func explainText(k *kb.KB, c *kb.Code) string {
	b := &strings.Builder{}
	svc := c.Service
	if p, err := profile.Get(c.Service); err == nil {
		svc = p.Title
	}
	fmt.Fprintf(b, "%s — %s (%s)\n\n%s\n", c.Code, c.Title, svc, wrap(c.Meaning, 78, ""))
	if !c.Diagnosable() {
		fmt.Fprintf(b, "\nNot your network: this is a %s matter.\nWhat helps: %s\n", classWords[c.Class], wrap(c.Step, 66, "            "))
	}
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
	if len(c.Where) > 0 {
		fmt.Fprintf(b, "\nShown on: %s\n", strings.Join(c.Where, ", "))
	}
	fmt.Fprintf(b, "Source: %s\n", c.Source)
	if c.Diagnosable() {
		flag := ""
		if c.Service != "netflix" {
			flag = " --service " + c.Service
		}
		fmt.Fprintf(b, "\nRun 'streamdoctor check%s --code %s' to find which of these applies to you.\n", flag, c.Code)
	}
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
	var service string
	c := &cobra.Command{
		Use:     "codes",
		Short:   "List the error codes StreamDoctor knows, and whose problem each is",
		Example: "  streamdoctor codes\n  streamdoctor codes --service primevideo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := loadKB()
			if err != nil {
				return err
			}
			if service != "" {
				p, err := profile.Get(service)
				if err != nil {
					return usageErr("%s", err)
				}
				service = p.Name
			}
			n := 0
			for _, c := range k.CodeList() {
				if service != "" && c.Service != service {
					continue
				}
				code := c.Code
				if c.Family != "" {
					code += " …" // and its sub-codes
				}
				title := c.Title
				if len(c.Aliases) > 0 {
					also := c.Aliases
					more := ""
					if len(also) > 4 {
						also, more = also[:4], fmt.Sprintf(" and %d more", len(c.Aliases)-4)
					}
					title += " (also " + strings.Join(also, ", ") + more + ")"
				}
				fmt.Fprintf(ios.Out, "%-26s %-10s %-9s %s\n", code, c.Service, c.Class, title)
				n++
			}
			if n == 0 {
				fmt.Fprintf(ios.Out, "No %s codes in the catalogue yet.\n", service)
			}
			return nil
		},
	}
	c.Flags().StringVar(&service, "service", "", "only this service's codes ("+strings.Join(profile.Names(), ", ")+")")
	return c
}

// classWords names a class in a sentence.
var classWords = map[string]string{
	kb.ClassNetwork: "network", kb.ClassBrowser: "browser", kb.ClassDevice: "device",
	kb.ClassAccount: "account", kb.ClassPayment: "payment", kb.ClassService: "service-side",
	kb.ClassPlayback: "playback (the player or its protection module)",
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

// suggestion names a service's known codes nearest to what was typed.
func suggestion(k *kb.KB, service, typed string) string {
	var out []string
	for _, c := range k.Nearest(service, typed, 3) {
		out = append(out, c.Code)
	}
	if len(out) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(out, " or ") + "?"
}
