// Package lang chooses the viewer's language and says StreamDoctor's
// messages in it. Messages live in translator files under locales/, one
// pair per language: app.<tag>.yaml (the page, the terminal, the report's
// sentences) and kb.<tag>.yaml (the knowledge base's texts a viewer reads,
// by id). A language is shipped by adding its two files; no code names
// it. English is the source: app.en.yaml is written by hand, kb.en.yaml is
// generated from the knowledge base (go generate ./internal/kb).
//
// Ids, JSON documents and help-desk details stay English; only what a
// viewer reads is translated.
package lang

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
	"gopkg.in/yaml.v3"
)

//go:embed locales/*.yaml
var files embed.FS

// Source is the language every message is written in first.
var Source = language.English

type catalogue struct {
	bundle *i18n.Bundle
	tags   []language.Tag // Source first, then the others in file order
	// messages[tag][id] is the message as its file has it (plural forms
	// by CLDR category), for the page's script.
	messages map[language.Tag]map[string]map[string]string
	matcher  language.Matcher
}

var load = sync.OnceValues(func() (*catalogue, error) {
	c := &catalogue{bundle: i18n.NewBundle(Source), messages: map[language.Tag]map[string]map[string]string{}}
	c.bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	names, err := fs.Glob(files, "locales/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		mf, err := c.bundle.ParseMessageFileBytes(b, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if !slices.Contains(c.tags, mf.Tag) {
			c.tags = append(c.tags, mf.Tag)
		}
		m := c.messages[mf.Tag]
		if m == nil {
			m = map[string]map[string]string{}
			c.messages[mf.Tag] = m
		}
		for _, msg := range mf.Messages {
			forms := map[string]string{}
			for k, v := range map[string]string{"zero": msg.Zero, "one": msg.One, "two": msg.Two, "few": msg.Few, "many": msg.Many, "other": msg.Other} {
				if v != "" {
					forms[k] = v
				}
			}
			m[msg.ID] = forms
		}
	}
	slices.SortStableFunc(c.tags, func(a, b language.Tag) int {
		switch {
		case a == Source:
			return -1
		case b == Source:
			return 1
		}
		return 0
	})
	if len(c.tags) == 0 || c.tags[0] != Source {
		return nil, fmt.Errorf("lang: no %s messages", Source)
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
})

func cat() *catalogue {
	c, err := load()
	if err != nil {
		panic(err) // the files are embedded: a broken one fails every test
	}
	return c
}

// L says messages in one language.
type L struct {
	tag language.Tag
	loc *i18n.Localizer
	num *message.Printer
}

var cache sync.Map // language.Tag -> *L

func forTag(t language.Tag) *L {
	if l, ok := cache.Load(t); ok {
		return l.(*L)
	}
	l := &L{tag: t, loc: i18n.NewLocalizer(cat().bundle, t.String()), num: message.NewPrinter(t)}
	cache.Store(t, l)
	return l
}

// English is the source language.
func English() *L { return forTag(Source) }

// Tags lists the shipped languages, English first.
func Tags() []string {
	var out []string
	for _, t := range cat().tags {
		out = append(out, t.String())
	}
	return out
}

// match picks the shipped language closest to the wanted ones.
func match(want ...language.Tag) *L {
	c := cat()
	if len(want) == 0 {
		return English()
	}
	_, i, conf := c.matcher.Match(want...)
	if conf == language.No {
		return English()
	}
	return forTag(c.tags[i])
}

// Parse is the shipped language a tag asks for ("es", "pt-BR", "pt_BR"),
// or an error that names the shipped ones.
func Parse(s string) (*L, error) {
	t, err := language.Parse(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
	if err == nil {
		// An explicit choice is the same language (es-MX is es, pt-PT the
		// shipped Portuguese), never a fallback to another one.
		_, i, conf := cat().matcher.Match(t)
		want, _ := t.Base()
		got, _ := cat().tags[i].Base()
		if conf != language.No && want == got {
			return forTag(cat().tags[i]), nil
		}
	}
	return nil, fmt.Errorf("language %q is not available (available: %s)", s, strings.Join(Tags(), ", "))
}

// Accept is the language an Accept-Language header asks for; English when
// none of the asked-for languages is shipped (or the header is malformed).
func Accept(header string) *L {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		// One malformed entry does not spoil the others: each is read on
		// its own, in the order given.
		tags = nil
		for _, part := range strings.Split(header, ",") {
			if t, err := language.Parse(strings.TrimSpace(strings.Split(part, ";")[0])); err == nil {
				tags = append(tags, t)
			}
		}
	}
	return match(tags...)
}

// FromEnv is the terminal's language, read as gettext does: LANGUAGE (a
// list, "pt_BR:es") unless the locale is C, then LC_ALL, LC_MESSAGES and
// LANG; "C", "POSIX" or nothing is English. "es_ES.UTF-8" is Spanish,
// "pt_BR" Brazilian Portuguese.
func FromEnv(getenv func(string) string) *L {
	locale := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = getenv(k); locale != "" {
			break
		}
	}
	if list := getenv("LANGUAGE"); list != "" && locale != "" && locale != "C" && locale != "POSIX" && !strings.HasPrefix(locale, "C.") {
		var tags []language.Tag
		for _, v := range strings.Split(list, ":") {
			if t, err := language.Parse(strings.ReplaceAll(v, "_", "-")); err == nil {
				tags = append(tags, t)
			}
		}
		if l := match(tags...); len(tags) > 0 && (!l.IsSource() || slices.ContainsFunc(tags, func(t language.Tag) bool { b, _ := t.Base(); return b.String() == "en" })) {
			return l
		}
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		if v == "C" || v == "POSIX" || strings.HasPrefix(v, "C.") {
			return English()
		}
		v, _, _ = strings.Cut(v, ".") // the encoding
		v, _, _ = strings.Cut(v, "@") // the modifier
		t, err := language.Parse(strings.ReplaceAll(v, "_", "-"))
		if err != nil {
			return English()
		}
		return match(t)
	}
	return English()
}

// Tag is the language's BCP 47 tag ("en", "es", "pt-BR").
func (l *L) Tag() string { return l.lang().tag.String() }

// IsSource says whether l is the source language (English).
func (l *L) IsSource() bool { return l.lang().tag == Source }

// Name is the language's name in itself ("Español").
func (l *L) Name() string { return l.T("language.name") }

func (l *L) lang() *L {
	if l == nil {
		return English()
	}
	return l
}

func data(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	d := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		d[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return d
}

// T says message id, its {{.Name}} fields filled from name, value pairs.
// A message missing in l's language is said in English; one missing in
// English too is its id (a test keeps every id used in code in English).
func (l *L) T(id string, kv ...any) string {
	l = l.lang()
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data(kv)})
	if s == "" && err != nil {
		return id
	}
	return s
}

// N says a message with plural forms for count n ({{.Count}} in it).
func (l *L) N(id string, n int, kv ...any) string {
	l = l.lang()
	d := data(kv)
	if d == nil {
		d = map[string]any{}
	}
	d["Count"] = n
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: n})
	if s == "" && err != nil {
		return id
	}
	return s
}

// Text is a knowledge-base text (kb.<tag>.yaml) in l's language: its
// translation when the language has one, else the English as given.
func (l *L) Text(id, english string) string {
	l = l.lang()
	if l.tag == Source || english == "" {
		return english
	}
	if _, ok := cat().messages[l.tag][id]; !ok {
		return english
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	if err != nil || s == "" {
		return english
	}
	return s
}

// Has says whether l's own file holds id.
func (l *L) Has(id string) bool {
	_, ok := cat().messages[l.lang().tag][id]
	return ok
}

// Num writes v with prec decimals the language's way ("3.5" / "3,5").
func (l *L) Num(v float64, prec int) string {
	return l.lang().num.Sprint(number.Decimal(v, number.MinFractionDigits(prec), number.MaxFractionDigits(prec), number.NoSeparator()))
}

// Messages are l's messages whose id starts with prefix, each with its
// plural forms (CLDR categories) and English where l lacks one: the page's
// script says them with the same fields ({{.Name}}).
func (l *L) Messages(prefix string) map[string]map[string]string {
	l = l.lang()
	c := cat()
	out := map[string]map[string]string{}
	for id, m := range c.messages[Source] {
		if strings.HasPrefix(id, prefix) {
			out[id] = m
		}
	}
	for id, m := range c.messages[l.tag] {
		if strings.HasPrefix(id, prefix) {
			out[id] = m
		}
	}
	return out
}

// IDs lists the ids of one language's messages whose id starts with prefix
// (for tests: every message in every language).
func IDs(tag, prefix string) []string {
	t, err := language.Parse(tag)
	if err != nil {
		return nil
	}
	var out []string
	for id := range cat().messages[t] {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Forms is one language's message id with its plural forms.
func Forms(tag, id string) map[string]string {
	t, err := language.Parse(tag)
	if err != nil {
		return nil
	}
	return cat().messages[t][id]
}

var field = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}|\{service\}`)

// Fields are the fields a message fills ({{.Count}}, {service}), sorted.
func Fields(s string) []string {
	var out []string
	for _, m := range field.FindAllString(s, -1) {
		out = append(out, strings.Join(strings.Fields(m), ""))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Text is one text a viewer reads that lives outside the message files
// (the knowledge base, the probe catalogue): its path of keys in a
// kb.<tag>.yaml file and its English.
type Text struct {
	Path    []string
	English string
}

// ID is the text's message id: its path joined by dots.
func (t Text) ID() string { return strings.Join(t.Path, ".") }

// SourceFile writes texts as the English translator's file: nested keys in
// the order given, so a translator copies it and translates the values.
func SourceFile(texts []Text, comment string) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, t := range texts {
		m := root
		for i, p := range t.Path {
			var next *yaml.Node
			for j := 0; j+1 < len(m.Content); j += 2 {
				if m.Content[j].Value == p {
					next = m.Content[j+1]
				}
			}
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode}
				if i == len(t.Path)-1 {
					next = &yaml.Node{Kind: yaml.ScalarNode, Value: t.English}
				}
				style := yaml.Style(0)
				if _, err := strconv.ParseFloat(p, 64); err == nil {
					style = yaml.DoubleQuotedStyle // a key a reader would take for a number
				}
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p, Style: style}, next)
			}
			m = next
		}
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: comment}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
