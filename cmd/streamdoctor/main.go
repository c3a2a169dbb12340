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
	code := Execute(ctx, SystemIO(), os.Args[1:])
	stop()
	os.Exit(code)
}
