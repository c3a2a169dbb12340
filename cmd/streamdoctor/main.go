// Command streamdoctor finds out why a streaming service cannot be reached
// and says what to do about it. This package only parses flags, wires the
// internal packages together and prints; the diagnosis lives in internal/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	if len(args) == 0 {
		// No arguments is how a double-click in Windows Explorer or macOS
		// Finder starts it: the viewer gets the page. In a terminal,
		// 'streamdoctor --help' lists the commands.
		args = []string{"web"}
	}
	code := Execute(ctx, SystemIO(), args)
	stop()
	os.Exit(code)
}
