// Command streamdoctor finds out why a streaming service cannot be reached
// and says what to do about it. This package only parses flags, wires the
// internal packages together and prints; the diagnosis lives in internal/.
package main

import (
	"bufio"
	"context"
	"fmt"
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
	ios := SystemIO()
	ios.OwnWindow = len(os.Args) == 1 && ownConsoleWindow()
	code := Execute(ctx, ios, args)
	stop()
	if ios.OwnWindow {
		// The window closes with this process: keep what it said readable.
		fmt.Fprintln(os.Stderr, "\nStreamDoctor has stopped. Press Enter to close this window.")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	}
	os.Exit(code)
}
