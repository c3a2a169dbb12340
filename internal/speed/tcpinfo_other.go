//go:build !linux

package speed

import "net"

// tcpRetrans is not available here: loss is reported as unknown.
func tcpRetrans(net.Conn) (uint64, uint64, bool) { return 0, 0, false }

// tcpReceived is not available here: bytes are counted as read.
func tcpReceived(net.Conn) (rcvCounters, bool) { return rcvCounters{}, false }
