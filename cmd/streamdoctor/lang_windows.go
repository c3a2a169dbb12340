package main

import (
	"os"
	"strings"

	"golang.org/x/sys/windows"

	"github.com/streamdoctor/streamdoctor/internal/lang"
)

// systemLang is the language Windows shows its own menus in (the user's
// preferred UI languages), unless LC_ALL or LANG says otherwise (as in a
// Unix-like shell on Windows).
func systemLang() *lang.L {
	if os.Getenv("LC_ALL") != "" || os.Getenv("LC_MESSAGES") != "" || os.Getenv("LANG") != "" {
		return lang.FromEnv(os.Getenv)
	}
	// A Windows (or Wine) without the call is English, never a crash.
	if windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserPreferredUILanguages").Find() != nil {
		return lang.English()
	}
	tags, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err != nil || len(tags) == 0 {
		return lang.English()
	}
	return lang.Accept(strings.Join(tags, ","))
}
