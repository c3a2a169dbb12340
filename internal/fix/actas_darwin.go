package fix

import "syscall"

// On macOS credentials belong to the process, not to a thread.
func setEGID(gid int) error { return syscall.Setregid(-1, gid) }
func setEUID(uid int) error { return syscall.Setreuid(-1, uid) }
