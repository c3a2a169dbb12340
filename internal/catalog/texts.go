package catalog

import (
	"sort"
	"strings"
)

// Text is one of the catalogue's words a viewer reads, with its path in a
// translator's file (kb.<tag>.yaml).
type Text struct {
	Path    []string
	English string
}

// Texts are the catalogue's words a viewer reads: what each probe looks
// at ({service} for the service's name) and what each failure means.
func Texts() []Text {
	var out []Text
	for _, p := range Probes {
		if p.Plain != "" {
			out = append(out, Text{Path: []string{"probe", p.Name}, English: PlainProbeTemplate(p.Name)})
		}
	}
	codes := make([]string, 0, len(PlainFailure))
	for c := range PlainFailure {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		out = append(out, Text{Path: []string{"failure", c}, English: PlainFailure[c]})
	}
	return out
}

// PlainProbeTemplate is what a probe looks at with {service} where the
// service's name goes ("" for a probe without plain words).
func PlainProbeTemplate(name string) string {
	p, ok := Spec(name)
	if !ok {
		return ""
	}
	return strings.ReplaceAll(p.Plain, "%s", "{service}")
}
