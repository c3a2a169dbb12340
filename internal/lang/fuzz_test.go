package lang_test

import (
	"slices"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/lang"
)

// The browser's Accept-Language, the menu's cookie and the locale come from
// outside: whatever they hold, the answer is a shipped language and
// nothing panics.
func FuzzChoosing(f *testing.F) {
	for _, s := range []string{"es-ES,es;q=0.9,en;q=0.8", "pt-BR", "de;q=x,es", "*", "", "en-US,en;q=0.5,\x00", "es_MX.UTF-8@euro", "C.UTF-8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags := lang.Tags()
		for _, l := range []*lang.L{lang.Accept(s), lang.FromEnv(func(string) string { return s })} {
			if !slices.Contains(tags, l.Tag()) {
				t.Fatalf("%q chose %q, not a shipped language", s, l.Tag())
			}
		}
		if l, err := lang.Parse(s); err == nil && !slices.Contains(tags, l.Tag()) {
			t.Fatalf("Parse(%q) = %q", s, l.Tag())
		}
	})
}
