//go:build linux

package speed

import (
	"net"

	"golang.org/x/sys/unix"
)

func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return nil, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var info *unix.TCPInfo
	_ = raw.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return info, err == nil && info != nil
}

// tcpRetrans reads the kernel's retransmission and segments-out counters.
func tcpRetrans(c net.Conn) (retrans, sent uint64, ok bool) {
	info, ok := tcpInfo(c)
	if !ok {
		return 0, 0, false
	}
	return uint64(info.Total_retrans), uint64(info.Segs_out), true
}

// tcpReceived is the bytes the kernel has received on c (tcpi_bytes_received,
// Linux 4.1 and later; older kernels report 0): what arrived, whenever this
// process reads it.
func tcpReceived(c net.Conn) (uint64, bool) {
	info, ok := tcpInfo(c)
	if !ok {
		return 0, false
	}
	return info.Bytes_received, true
}
