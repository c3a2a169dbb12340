// Package safe makes text from outside fit to print: no control
// characters or reordering controls (so nothing received can move the
// cursor, recolour the terminal or disguise itself), no credentials in URLs.
package safe

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// credsRE finds the user and password part of a URL (scheme://user:pass@).
var credsRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@`)

// Credentials removes user names and passwords from every URL in s.
func Credentials(s string) string { return credsRE.ReplaceAllString(s, "$1") }

// Text makes text from outside (certificate names, pages, headers, OS
// output) fit to print: control characters, and the Unicode controls that
// reorder text, are shown escaped, so nothing received can move the cursor,
// recolour the terminal or disguise itself.
func Text(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0xfeff
}

// OneLine folds text onto one line: every run of white space becomes one
// space, and other control characters (terminal escapes) are dropped.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
