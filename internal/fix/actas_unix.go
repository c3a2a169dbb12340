//go:build linux || darwin

package fix

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// The owner of the home StreamDoctor acts on, when it runs as root on
// another user's home (sudo -E): set by ActAsHomeOwner.
var (
	actingMu sync.Mutex
	acting   bool
)

// ActAsHomeOwner makes this process, when it runs as root on a home that
// belongs to another user, act as that user for everything it does to
// files: the effective user and group become the home's owner (root stays
// the real and saved user, so the commands a fix runs are started as root,
// see RootCommand). The kernel then refuses whatever that user could not
// do — a journal entry that names a root-only file, a profile folder
// swapped for a link to /etc, a lock file linked elsewhere — and every file
// and folder StreamDoctor creates in that home belongs to its owner.
// It reports whether it switched; it does nothing for a non-root run, on
// root's own home, or where home cannot be read.
func ActAsHomeOwner(home string) (bool, error) {
	if os.Geteuid() != 0 || home == "" {
		return false, nil
	}
	fi, err := os.Stat(home)
	if err != nil {
		return false, nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return false, nil
	}
	uid, gid := int(st.Uid), int(st.Gid)
	actingMu.Lock()
	defer actingMu.Unlock()
	// Supplementary groups first (that needs root), then the group, then
	// the user; the real and saved ids stay root's.
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return false, fmt.Errorf("cannot drop root's groups: %w", err)
	}
	if err := setEGID(gid); err != nil {
		return false, fmt.Errorf("cannot act as group %d: %w", gid, err)
	}
	if err := setEUID(uid); err != nil {
		return false, fmt.Errorf("cannot act as user %d: %w", uid, err)
	}
	acting = true
	return true, nil
}

// RootCommand makes cmd start as root when this process acts as a home's
// owner (ActAsHomeOwner): a fix's commands (nmcli, resolvectl) need the
// rights the person ran StreamDoctor with; its file work does not.
func RootCommand(cmd *exec.Cmd) {
	actingMu.Lock()
	defer actingMu.Unlock()
	if !acting {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
}
