package web

import (
	"net/http"

	"github.com/streamdoctor/streamdoctor/internal/lang"
)

// LangCookie keeps the language chosen in the page's menu; without it the
// browser's Accept-Language decides.
const LangCookie = "streamdoctor_lang"

// langOf is the language a request's viewer reads: the menu's choice (a
// ?lang= on the page, then kept in a cookie), else what the browser asks
// for, else English.
func langOf(r *http.Request) *lang.L {
	if v := r.URL.Query().Get("lang"); v != "" {
		if l, err := lang.Parse(v); err == nil {
			return l
		}
	}
	if c, err := r.Cookie(LangCookie); err == nil {
		if l, err := lang.Parse(c.Value); err == nil {
			return l
		}
	}
	return lang.Accept(r.Header.Get("Accept-Language"))
}

// chooseLang answers the menu (GET page?lang=xx): the choice is kept in a
// cookie and the page reloads without it in the address. It reports
// whether it answered.
func chooseLang(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("lang")
	if v == "" {
		return false
	}
	l, err := lang.Parse(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l.Tag(), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// language is one entry of the page's language menu, named in itself.
type language struct{ Tag, Name string }

// pageData is what a page's template reads: its fields, the viewer's
// language and its messages (the page's script says them with t()).
type pageData struct {
	l         *lang.L
	Lang      string
	Path      string
	Service   string
	ServiceID string
	Code      string
	Services  []option
	Messages  map[string]map[string]string
	Languages []language
}

type option struct{ ID, Title string }

// T says one of the page's messages (for the template).
func (d pageData) T(id string, kv ...any) string { return d.l.T(id, kv...) }

func newPageData(r *http.Request, prefixes ...string) pageData {
	l := langOf(r)
	d := pageData{l: l, Lang: l.Tag(), Path: r.URL.Path, Messages: map[string]map[string]string{}}
	for _, p := range prefixes {
		for id, m := range l.Messages(p) {
			d.Messages[id] = m
		}
	}
	for _, t := range lang.Tags() {
		o, _ := lang.Parse(t)
		d.Languages = append(d.Languages, language{t, o.Name()})
	}
	return d
}
