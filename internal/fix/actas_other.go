//go:build !linux && !darwin

package fix

import "os/exec"

// ActAsHomeOwner: elsewhere (Windows) a profile belongs to its user through
// its ACLs, and an elevated StreamDoctor acts on its own user's profile.
func ActAsHomeOwner(string) (bool, error) { return false, nil }

// RootCommand does nothing where ActAsHomeOwner does nothing.
func RootCommand(*exec.Cmd) {}
