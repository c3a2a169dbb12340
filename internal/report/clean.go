package report

import (
	"path/filepath"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/safe"
)

// Private prepares outside text for a report: fit to print, no
// credentials, and the home folder shown as ~ (no user name).
func Private(home, s string) string {
	s = safe.Credentials(safe.Text(s))
	if home != "" && len(home) > 1 {
		s = strings.ReplaceAll(s, home+string(filepath.Separator), "~"+string(filepath.Separator))
		if strings.HasSuffix(s, home) {
			s = strings.TrimSuffix(s, home) + "~"
		}
	}
	return s
}
