package lang_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/lang"
)

// The shipped languages: English first, then at least Spanish and
// Brazilian Portuguese.
func TestShipped(t *testing.T) {
	tags := lang.Tags()
	if len(tags) == 0 || tags[0] != "en" {
		t.Fatalf("languages %v: English must come first", tags)
	}
	for _, want := range []string{"es", "pt-BR"} {
		if !slices.Contains(tags, want) {
			t.Errorf("languages %v: %s is missing", tags, want)
		}
	}
}

var backticks = regexp.MustCompile("`[^`]+`")

// Every message exists in every shipped language, with the plural forms
// the English has and the same fields ({{.Count}}, {service}) and the same
// commands (in backticks): a translator's file is complete or it fails here.
func TestEveryMessageInEveryLanguage(t *testing.T) {
	en := lang.IDs("en", "")
	if len(en) < 500 {
		t.Fatalf("only %d English messages: the files did not load", len(en))
	}
	for _, tag := range lang.Tags()[1:] {
		have := lang.IDs(tag, "")
		missing := 0
		for _, id := range en {
			ef, tf := lang.Forms("en", id), lang.Forms(tag, id)
			if tf == nil {
				if missing++; missing <= 10 {
					t.Errorf("%s: %s is missing", tag, id)
				}
				continue
			}
			for form := range ef {
				if tf[form] == "" && !(form == "one" && tf["other"] != "" && !strings.Contains(ef["one"], "{{")) {
					t.Errorf("%s: %s has no %q form", tag, id, form)
				}
			}
			for form, s := range tf {
				// Where the English says "the service", a translation may
				// name it with {service} (the report fills in its name).
				got, want := lang.Fields(s), lang.Fields(ef["other"])
				if strings.Contains(strings.ToLower(ef["other"]), "the service") && !slices.Contains(want, "{service}") {
					got = slices.DeleteFunc(got, func(f string) bool { return f == "{service}" })
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s (%s) fills %v, English %v", tag, id, form, got, want)
				}
				if got, want := backticks.FindAllString(s, -1), backticks.FindAllString(ef["other"], -1); !slices.Equal(got, want) {
					t.Errorf("%s: %s changes the commands: %v, English %v", tag, id, got, want)
				}
			}
		}
		if missing > 10 {
			t.Errorf("%s: %d messages missing in all", tag, missing)
		}
		for _, id := range have {
			if lang.Forms("en", id) == nil {
				t.Errorf("%s: %s is not an English message (a stale key?)", tag, id)
			}
		}
	}
}

// Every message id the code and the pages say exists in English; ids made
// at run time are checked by their families.
func TestEveryUsedMessageExists(t *testing.T) {
	root := filepath.Join("..", "..")
	used := regexp.MustCompile(`(?:\.T\(|\.N\(|\bt\(|\{\{\s*\$?\.[TN] )"([a-z_]+(?:\.[a-z_]+)+)"`)
	seen := 0
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			ext := filepath.Ext(p)
			if (ext != ".go" && ext != ".js" && ext != ".html" && ext != ".md") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range used.FindAllStringSubmatch(string(b), -1) {
				id := m[1]
				if strings.HasSuffix(id, ".") {
					continue
				}
				seen++
				if lang.Forms("en", id) == nil {
					t.Errorf("%s says %q, which is not in app.en.yaml", p, id)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen < 100 {
		t.Errorf("found only %d message ids in the sources: the pattern is broken", seen)
	}
	families := map[string][]string{
		"layer.":              {"Link", "Router", "DNS", "Internet", "Speed", "Service", "Browser", "Computer", "Others"},
		"difficulty.":         {"easy", "moderate", "hard"},
		"page.changes.state.": {"prepared", "applied", "undoing", "undone"},
	}
	for prefix, ids := range families {
		for _, id := range ids {
			if lang.Forms("en", prefix+id) == nil {
				t.Errorf("%s%s is not in app.en.yaml", prefix, id)
			}
		}
	}
}

func TestChoosing(t *testing.T) {
	for header, want := range map[string]string{
		"es-ES,es;q=0.9,en;q=0.8": "es",
		"es-419":                  "es",
		"pt-BR,pt;q=0.9":          "pt-BR",
		"pt-PT":                   "pt-BR", // the closest shipped Portuguese
		"pt":                      "pt-BR",
		"de-DE,de;q=0.9":          "en", // not shipped: English
		"fr-CA,es;q=0.5":          "es", // the first shipped one asked for
		"":                        "en",
		"garbage;;q=x":            "en",
		"es;q=x,pt-BR":            "es", // a malformed weight spoils only itself
	} {
		if got := lang.Accept(header).Tag(); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LANG": "es_ES.UTF-8"}, "es"},
		{map[string]string{"LANG": "pt_BR.UTF-8"}, "pt-BR"},
		{map[string]string{"LANG": "es_MX.UTF-8", "LC_ALL": "C"}, "en"},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "pt_BR"}, "pt-BR"},
		{map[string]string{"LC_ALL": "es_AR.UTF-8@euro", "LANG": "C.UTF-8"}, "es"},
		{map[string]string{"LANG": "C.UTF-8"}, "en"},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, "en"},
		{map[string]string{}, "en"},
		{map[string]string{"LANGUAGE": "pt_BR:es", "LANG": "es_ES.UTF-8"}, "pt-BR"},
		{map[string]string{"LANGUAGE": "de:es", "LANG": "en_US.UTF-8"}, "es"},
		{map[string]string{"LANGUAGE": "pt_BR", "LANG": "C"}, "en"}, // gettext: LANGUAGE is ignored in the C locale
		{map[string]string{"LANGUAGE": "pt_BR"}, "en"},
	} {
		if got := lang.FromEnv(env(c.env)).Tag(); got != c.want {
			t.Errorf("locale %v: %s, want %s", c.env, got, c.want)
		}
	}
	for _, s := range []string{"tlh", "de", "ja-JP", "und"} {
		if l, err := lang.Parse(s); err == nil {
			t.Errorf("%s is not shipped, yet it chose %s", s, l.Tag())
		}
	}
	if l, err := lang.Parse("es-MX"); err != nil || l.Tag() != "es" {
		t.Errorf("es-MX: %v %v", l, err)
	}
	if _, err := lang.Parse("klingon"); err == nil || !strings.Contains(err.Error(), "pt-BR") {
		t.Errorf("an unknown language: %v, want an error naming the available ones", err)
	}
	if l, err := lang.Parse("pt_br"); err != nil || l.Tag() != "pt-BR" {
		t.Errorf("pt_br: %v %v", l, err)
	}
}

// Plurals and numbers follow the language.
func TestPluralsAndNumbers(t *testing.T) {
	en, es := lang.English(), mustParse(t, "es")
	if got := en.N("report.checks_passed", 1); got != "1 check passed" {
		t.Errorf("English one: %q", got)
	}
	if got := en.N("report.checks_passed", 4); got != "4 checks passed" {
		t.Errorf("English other: %q", got)
	}
	if one, other := es.N("report.checks_passed", 1), es.N("report.checks_passed", 4); one == other || !strings.HasPrefix(other, "4 ") {
		t.Errorf("Spanish: %q / %q", one, other)
	}
	if got := es.Num(3.5, 1); got != "3,5" {
		t.Errorf("Spanish 3.5: %q", got)
	}
	if got := en.Num(1234.5, 1); got != "1234.5" {
		t.Errorf("English 1234.5: %q", got)
	}
	// A knowledge-base text falls back to English only when untranslated.
	if got := es.Text("no.such.id", "English words"); got != "English words" {
		t.Errorf("fallback: %q", got)
	}
	if got := es.Text("cause.no_link.title", "Not connected to any network"); got == "Not connected to any network" {
		t.Error("the Spanish knowledge base does not translate cause.no_link.title")
	}
}

func mustParse(t *testing.T, tag string) *lang.L {
	t.Helper()
	l, err := lang.Parse(tag)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
