//go:build !linux

package probe

import (
	"net"
	"time"
)

// kernelRTT is Linux-only; elsewhere the wall-clock connect time is used.
func kernelRTT(net.Conn) (time.Duration, bool, bool) { return 0, false, false }
