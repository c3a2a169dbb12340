//go:build !windows

package main

import (
	"os"

	"github.com/streamdoctor/streamdoctor/internal/lang"
)

// systemLang is the terminal's language: LC_ALL, LC_MESSAGES, LANG.
func systemLang() *lang.L { return lang.FromEnv(os.Getenv) }
