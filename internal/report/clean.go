package report

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// credsRE finds the user and password part of a URL (scheme://user:pass@).
var credsRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@`)

// StripCredentials removes user names and passwords from every URL in s.
func StripCredentials(s string) string { return credsRE.ReplaceAllString(s, "$1") }

// Safe makes text from outside (certificate names, pages, headers, OS
// output) fit to print: control characters, and the Unicode controls that
// reorder text, are shown escaped, so nothing received can move the cursor,
// recolour the terminal or disguise itself.
func Safe(s string) string {
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

// Private prepares outside text for a report: fit to print, no
// credentials, and the home folder shown as ~ (no user name).
func Private(home, s string) string {
	s = StripCredentials(Safe(s))
	if home != "" && len(home) > 1 {
		s = strings.ReplaceAll(s, home+string(filepath.Separator), "~"+string(filepath.Separator))
		if strings.HasSuffix(s, home) {
			s = strings.TrimSuffix(s, home) + "~"
		}
	}
	return s
}
