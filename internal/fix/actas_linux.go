package fix

import "syscall"

// On Linux these apply to every thread of the process (Go does it for
// them), so no goroutine keeps root's rights.
func setEGID(gid int) error { return syscall.Setresgid(-1, gid, -1) }
func setEUID(uid int) error { return syscall.Setresuid(-1, uid, -1) }
