//go:build windows

package speed

// DefaultMaxConns: Windows has no per-process descriptor limit to fit under.
func DefaultMaxConns() int { return 4096 }
