package kb

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func files(t testing.TB) map[string]string {
	t.Helper()
	sub, _ := fs.Sub(embedded, "data")
	out := map[string]string{}
	for _, n := range []string{FileCauses, FileFixes, FileEvidence, FileCodes} {
		b, err := fs.ReadFile(sub, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func load(m map[string]string) (*KB, error) {
	return Load([]byte(m[FileCauses]), []byte(m[FileFixes]), []byte(m[FileEvidence]), []byte(m[FileCodes]))
}

func lineOf(src, sub string) int {
	i := strings.Index(src, sub)
	if i < 0 {
		return -1
	}
	return strings.Count(src[:i], "\n") + 1
}

func TestDefaultKB(t *testing.T) {
	k, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Causes) != len(CauseIDs) || len(k.Fixes) != len(FixIDs) {
		t.Fatalf("causes %d fixes %d", len(k.Causes), len(k.Fixes))
	}
	c := k.Code("nsez-503")
	if c == nil || len(c.Methods) != 4 || len(c.Outage) == 0 || len(c.Advanced) != 4 || len(c.Prevention) != 5 {
		t.Fatalf("NSEZ-503 incomplete: %+v", c)
	}
	// The chart: success words to numbers, time to minutes.
	want := []struct {
		text    string
		success float64
		minutes float64
	}{{"Very High", 0.9, 5}, {"High", 0.8, 2}, {"High", 0.8, 5}, {"Medium to High", 0.65, 7.5}}
	for i, w := range want {
		m := c.Methods[i]
		if m.SuccessText != w.text || m.Success != w.success || m.Minutes != w.minutes {
			t.Errorf("method %d: %s %v %v", i, m.SuccessText, m.Success, m.Minutes)
		}
	}
	for _, f := range k.Fixes {
		for _, os := range OSes {
			if len(f.StepsFor(os)) == 0 {
				t.Errorf("%s has no steps for %s", f.ID, os)
			}
		}
	}
}

func TestLoadErrorsNameFileLineKey(t *testing.T) {
	cases := []struct {
		name, file, old, new, mark, want string
	}{
		{"unknown cause in repairs", FileFixes, "      vpn: {p: 0.95, why: \"chart: disabling", "      vpnn: {p: 0.95, why: \"chart: disabling",
			"vpnn: {p: 0.95", "fixes[2].repairs.vpnn: unknown cause id \"vpnn\""},
		{"probability out of range", FileEvidence, "weak_wifi: {p: 0.02, why: \"a strong reading", "weak_wifi: {p: 1.9, why: \"a strong reading",
			"weak_wifi: {p: 1.9", "evidence[2].given.weak_wifi.p: probability 1.9 is outside 0..1"},
		{"unknown key", FileCauses, "  - id: vpn\n", "  - id: vpn\n    colour: red\n",
			"colour: red", "colour: unknown key"},
		{"missing why", FileEvidence, "base: {p: 0.003, why: \"a device that is online almost never reports no link\"}", "base: {p: 0.003}",
			"base: {p: 0.003}", "evidence[0].base.why: a probability needs a one-line reason"},
		{"unknown fix in a method", FileCodes, "fixes: [restart_router, use_ethernet]", "fixes: [restart_router, use_cable]",
			"fixes: [restart_router, use_cable]", "codes[0].methods[0].fixes[1]: unknown fix id \"use_cable\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := files(t)
			if !strings.Contains(m[c.file], c.old) {
				t.Fatalf("fixture text not found in %s", c.file)
			}
			m[c.file] = strings.Replace(m[c.file], c.old, c.new, 1)
			_, err := load(m)
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("got %v, want a located error", err)
			}
			if ke.File != c.file || ke.Line != lineOf(m[c.file], c.mark) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q (line %d), want %s:%d: …%s", err, ke.Line, c.file, lineOf(m[c.file], c.mark), c.want)
			}
		})
	}
}

func TestLoadRejectsMissingSteps(t *testing.T) {
	m := files(t)
	old := "    steps:\n      all:\n        - Connect the device to the router with an Ethernet cable.\n        - Turn Wi-Fi off on the device so it uses the cable.\n        - Try again.\n"
	if !strings.Contains(m[FileFixes], old) {
		t.Fatal("fixture text not found")
	}
	m[FileFixes] = strings.Replace(m[FileFixes], old, "", 1)
	_, err := load(m)
	if err == nil || !strings.Contains(err.Error(), "fixes.yaml:") || !strings.Contains(err.Error(), "fixes[1]") || !strings.Contains(err.Error(), "missing steps for windows") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRejectsPriorsNotSummingToOne(t *testing.T) {
	m := files(t)
	m[FileCodes] = strings.Replace(m[FileCodes], "vpn: {p: 0.12,", "vpn: {p: 0.52,", 1)
	_, err := load(m)
	if err == nil || !strings.Contains(err.Error(), "priors add up to 1.400") {
		t.Fatalf("got %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	m := files(f)
	f.Add([]byte(m[FileCauses]), []byte(m[FileFixes]), []byte(m[FileEvidence]), []byte(m[FileCodes]))
	f.Fuzz(func(t *testing.T, c, fx, e, k []byte) {
		kb, err := Load(c, fx, e, k)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) || ke.File == "" || ke.Line < 1 {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		for _, cs := range kb.Causes {
			if cs.Prior.P < 0 || cs.Prior.P > 1 {
				t.Fatalf("accepted prior %v", cs.Prior.P)
			}
		}
		for _, ev := range kb.Evidence {
			for _, p := range ev.Given {
				if p.P < 0 || p.P > 1 {
					t.Fatalf("accepted likelihood %v", p.P)
				}
			}
		}
	})
}

func TestLoadRejectsPresentationShares(t *testing.T) {
	m := files(t)
	m[FileCauses] = strings.Replace(m[FileCauses], `share: {p: 0.1, why: "an overloaded`, `share: {p: 0.5, why: "an overloaded`, 1)
	_, err := load(m)
	if err == nil || !strings.Contains(err.Error(), "presentation shares add up to 1.400") || !strings.Contains(err.Error(), "causes.yaml:") {
		t.Fatalf("got %v", err)
	}
	m = files(t)
	m[FileCauses] = strings.Replace(m[FileCauses], "service_slow: {p: 0.8,", "service_slowness: {p: 0.8,", 1)
	if _, err := load(m); err == nil || !strings.Contains(err.Error(), `unknown evidence "service_slowness"`) {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRejectsBandsThatDoNotAddUp(t *testing.T) {
	m := files(t)
	m[FileEvidence] = strings.Replace(m[FileEvidence], `unstable_connection: {p: 0.55, why: "heavy loss`, `unstable_connection: {p: 0.75, why: "heavy loss`, 1)
	_, err := load(m)
	if err == nil || !strings.Contains(err.Error(), `the bands of "loss" add up to 1.200 for cause "unstable_connection"`) || !strings.Contains(err.Error(), "evidence.yaml:") {
		t.Fatalf("got %v", err)
	}
}

// What a viewer types finds its code: any case, "Error code:" before it,
// spaces for dashes, another platform's prefix (an alias), or a sub-code
// of a family; numbers are per service.
func TestLookupAsViewersTypeIt(t *testing.T) {
	k, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		service, typed, want string
		exact                bool
	}{
		{"", "nsez-503", "NSEZ-503", true},
		{"netflix", "Error code: NW 2 5", "NW-2-5", true},
		{"netflix", "S7111-1331-5059", "M7111-1331-5059", true},
		{"netflix", "m7111-1331-4444", "M7111-1331", false},
		{"netflix", "tvq-pb-101 (5.8)", "tvq-pb-101", false},
		{"netflix", "TVQ-PB-101 (E104)", "tvq-pb-101 (E104)", true},
		{"netflix", "msl:5003", "MSL:5003", true},
		{"disneyplus", "83", "83", true},
		{"primevideo", "7202", "1007", true},
	}
	for _, c := range cases {
		got, exact := k.Lookup(c.service, c.typed)
		if got == nil || got.Code != c.want || exact != c.exact {
			t.Errorf("Lookup(%q, %q) = %v, %v; want %s, %v", c.service, c.typed, got, exact, c.want, c.exact)
		}
	}
	if c, _ := k.Lookup("netflix", "M7111-13310"); c != nil {
		t.Errorf("a prefix that does not end at a separator matched %s", c.Code)
	}
	if c, _ := k.Lookup("netflix", "83"); c != nil {
		t.Errorf("Disney+'s 83 answered for Netflix: %s", c.Code)
	}
	if c := k.Code("disneyplus:83"); c == nil || c.Service != "disneyplus" {
		t.Errorf("Code by key: %v", c)
	}
	near := k.Nearest("netflix", "NSEZ-530", 3)
	if len(near) == 0 || near[0].Code != "NSEZ-503" {
		t.Errorf("Nearest: %v", near)
	}
}

// The catalogue: at least 40 Netflix codes, each with a source and a
// class; a network or browser code has priors over every cause adding up
// to 1 (its base's, changed where it says); any other code has its step.
func TestCatalogue(t *testing.T) {
	k, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range k.CodeList() {
		if c.Service == "netflix" {
			n++
		}
		if c.Source == "" || !slices.Contains(Classes, c.Class) {
			t.Errorf("%s: source %q class %q", c.Key(), c.Source, c.Class)
		}
		if c.Diagnosable() {
			sum := 0.0
			for _, id := range CauseIDs {
				sum += c.Priors[id].P
			}
			if len(c.Priors) != len(CauseIDs) || math.Abs(sum-1) > 0.011 {
				t.Errorf("%s: %d priors adding to %.3f", c.Key(), len(c.Priors), sum)
			}
		} else if c.Step == "" {
			t.Errorf("%s: no step", c.Key())
		}
	}
	if n < 40 {
		t.Errorf("%d Netflix codes, want at least 40", n)
	}
	// A base's priors carry over, scaled: NW-6-403 keeps NW-2-5's order
	// for causes it does not name, and raises the ones it does.
	a, b := k.Code("NW-6-403"), k.Code("NW-2-5")
	if a.Priors["no_link"].P <= b.Priors["no_link"].P || a.Priors["dns_failure"].P >= b.Priors["dns_failure"].P {
		t.Errorf("NW-6-403 no_link %.3f dns %.3f vs NW-2-5 %.3f %.3f", a.Priors["no_link"].P, a.Priors["dns_failure"].P, b.Priors["no_link"].P, b.Priors["dns_failure"].P)
	}
}

// A base that leads round in a circle, or to a code without priors, is
// refused with its line.
func TestLoadRejectsBadBase(t *testing.T) {
	m := files(t)
	m[FileCodes] = strings.Replace(m[FileCodes], "    base: NW-2-5\n", "    base: NSEZ-403\n", 1)
	if _, err := load(m); err == nil || !strings.Contains(err.Error(), "codes.yaml:") || !strings.Contains(err.Error(), "has no priors") {
		t.Errorf("got %v", err)
	}
}

// The English translator's file is what the knowledge base says now: a
// changed text is seen by translators (go generate ./internal/kb).
func TestTextsFileUpToDate(t *testing.T) {
	want, err := SourceFile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "lang", "locales", "kb.en.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("internal/lang/locales/kb.en.yaml is out of date: run go generate ./internal/kb")
	}
}
