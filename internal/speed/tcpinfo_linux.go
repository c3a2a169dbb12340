//go:build linux

package speed

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcpRetrans reads the kernel's retransmission and segments-out counters.
func tcpRetrans(c net.Conn) (retrans, sent uint64, ok bool) {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return 0, 0, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	_ = raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			retrans, sent, ok = uint64(info.Total_retrans), uint64(info.Segs_out), true
		}
	})
	return
}
