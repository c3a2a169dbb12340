//go:build linux

package speed

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	// A kernel socket, perhaps inside the probes' dialer's wrapper
	// (probe.SystemDialer), which keeps its SyscallConn.
	sc, isSock := c.(syscall.Conn)
	if !isSock {
		return nil, false
	}
	raw, err := sc.SyscallConn()
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

// tcpReceived reads the kernel's receive counters for c (Linux 4.1 and
// later give the bytes, 4.6 the data segments, 5.4 the out-of-order ones;
// older kernels report 0).
func tcpReceived(c net.Conn) (rcvCounters, bool) {
	info, ok := tcpInfo(c)
	if !ok {
		return rcvCounters{}, false
	}
	return rcvCounters{bytes: info.Bytes_received, segs: info.Data_segs_in, ooo: info.Rcv_ooopack, mss: info.Rcv_mss}, true
}
