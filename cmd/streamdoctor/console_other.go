//go:build !windows

package main

// ownConsoleWindow: only Windows gives a double-clicked program a window
// of its own that closes with it (a macOS Finder double-click opens
// Terminal, which stays).
func ownConsoleWindow() bool { return false }
