package sysinfo

import (
	"context"
	"os/exec"
	"time"
)

// FactsDeadline bounds reading every fact: facts are read side by side, and
// one that is slow (a helper program that hangs) costs that fact only.
const FactsDeadline = 1500 * time.Millisecond

// command runs a helper program for at most a second (and within ctx) and
// returns its output. A helper that leaves a child holding its output is
// cut off 200 ms after it is stopped, instead of when the child exits.
func command(ctx context.Context, name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 200 * time.Millisecond
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}
