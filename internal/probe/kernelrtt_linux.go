package probe

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRTT reads the round trip the kernel measured for a TCP connection
// (TCP_INFO's smoothed RTT, seeded by the handshake). It does not include
// the time this process waited to be scheduled, so it stays the same on a
// busy machine. resent reports that the kernel had to resend the SYN (its
// retransmission count): with TCP timestamps the RTT is then still the
// path's, and the second spent waiting shows only there. ok is false for
// anything that is not a real kernel socket.
func kernelRTT(c net.Conn) (rtt time.Duration, resent, ok bool) {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return 0, false, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, false, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || gerr != nil || info == nil {
		return 0, false, false
	}
	if info.Rtt == 0 {
		return 0, false, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, info.Total_retrans > 0, true
}
