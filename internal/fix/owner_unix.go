//go:build !windows

package fix

import (
	"os"
	"syscall"
)

// ownerOf reads a file's owner.
func ownerOf(fi os.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// setOwner gives path back to its owner: a fix run as root on a user's
// profile must not leave root-owned files behind. Only root can, and needs to.
func setOwner(path string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, uid, gid)
}
