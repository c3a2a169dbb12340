package report

import (
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/safe"
)

// Private prepares outside text for a report: fit to print, no
// credentials, and the home folder shown as ~ (no user name).
func Private(home, s string) string {
	s = safe.Credentials(safe.Text(s))
	if len(home) <= 1 {
		return s
	}
	// The home as each OS may write it: with either separator (Windows
	// takes both, and tools print C:/Users/…), in any case (Windows' and
	// macOS's file systems ignore case; on Linux hiding a look-alike errs
	// on the private side).
	for _, h := range []string{home, strings.ReplaceAll(home, `\`, "/"), strings.ReplaceAll(home, "/", `\`)} {
		s = shortenHome(s, strings.TrimRight(h, `/\`))
	}
	return s
}

// shortenHome replaces h, wherever it is a whole path prefix (followed by
// a separator or ending the path), with ~, matching case-insensitively.
func shortenHome(s, h string) string {
	if h == "" {
		return s
	}
	lower, lh := strings.ToLower(s), strings.ToLower(h)
	if len(lower) != len(s) || len(lh) != len(h) {
		lower, lh = s, h // a case change that changes lengths: match exactly
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lh)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(h)
		if end == len(s) || s[end] == '/' || s[end] == '\\' || !isPathByte(s[end]) {
			b.WriteString(s[:i])
			b.WriteString("~")
		} else {
			b.WriteString(s[:end])
		}
		s, lower = s[end:], lower[end:]
	}
}

// isPathByte: a byte that can continue a file name (so /home/alice is
// not the start of /home/alice2).
func isPathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c >= 0x80
}
