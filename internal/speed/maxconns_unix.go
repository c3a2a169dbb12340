//go:build !windows

package speed

import "syscall"

// DefaultMaxConns is 4096, or fewer where this process may open fewer
// files (leaving 128 for everything else).
func DefaultMaxConns() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil && r.Cur < 4096+128 {
		return max(16, int(r.Cur)-128)
	}
	return 4096
}
