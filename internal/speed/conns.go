package speed

import (
	"context"
	"crypto/tls"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// connTracker remembers the TCP connections a transfer opened, for TCP_INFO.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
	arr   map[net.Conn]*arrival
}

func newConnTracker() *connTracker { return &connTracker{arr: map[net.Conn]*arrival{}} }

func (t *connTracker) wrap(c *http.Client) *http.Client {
	tr := cloneTransport(c).(*http.Transport)
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err == nil {
			t.mu.Lock()
			t.conns = append(t.conns, conn)
			t.mu.Unlock()
		}
		return conn, err
	}
	tr.MaxConnsPerHost = 0
	tr.MaxIdleConnsPerHost = 16
	// Parallel streams must be parallel TCP flows: HTTP/2 would multiplex
	// them on one connection, where the server's scheduler can starve a
	// stream for seconds on a slow line.
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Transport: tr}
}

// received is the bytes that have arrived on every tracked connection, by
// the kernel's count (arrival.update), if it can tell for all of them (and
// there is one). A closed connection keeps the last count read from it.
func (t *connTracker) received() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, c := range t.conns {
		a := t.arr[c]
		r, ok := tcpReceived(c)
		switch {
		case ok && a == nil:
			a = &arrival{last: r}
			t.arr[c] = a
		case ok:
			a.update(r)
		case a == nil:
			return 0, false
		}
		n += a.count()
	}
	return n, true
}

// rcvCounters are a connection's receive counters in the kernel: bytes
// delivered in order (tcpi_bytes_received), data segments received, in
// order or not (tcpi_data_segs_in), of them out of order
// (tcpi_rcv_ooopack), and the sender's segment size (tcpi_rcv_mss).
type rcvCounters struct {
	bytes     uint64
	segs, ooo uint32
	mss       uint32
}

// arrival counts the bytes that have arrived on a connection, not only
// those in order. While a lost segment is missing, the kernel's in-order
// count stands still though the segments after it keep arriving (held out
// of order), and when the resend comes it jumps by all of them at once; a
// window that starts in such a hole and ends after it counts bytes that
// arrived before it (a 15 Mbps line read 18.5 Mbps, a one-second hole
// being filled). So the segments that arrive out of order are added as
// they come (held), and taken back when the in-order count moves further
// than the segments that arrived in order carry. Only out-of-order arrivals
// add to what is held: resends that fill a hole one segment at a time, or
// duplicates, arrive in order and add nothing. A segment counts at the
// size segments had while nothing was held (the in-order bytes per
// segment then; the sender's segment size before that). A small remainder
// of a filled hole is dropped; a larger one (a duplicate taken for an
// arrival) stays as a constant, which no window's difference sees.
// Kernels without the segment counters (before 4.6 and 5.4) give the
// in-order count.
// It starts from a connection's first counters (arrival{last: c}).
type arrival struct {
	last rcvCounters
	// held: bytes received out of order and not yet in order (estimated).
	held int64
	// cleanBytes, cleanSegs: the in-order bytes and segments of samples
	// in which nothing was held, for the size of a segment.
	cleanBytes, cleanSegs int64
}

// count is the bytes arrived: in order plus held.
func (a *arrival) count() int64 { return int64(a.last.bytes) + a.held }

func (a *arrival) update(c rcvCounters) {
	segs, ooo := int64(c.segs-a.last.segs), int64(c.ooo-a.last.ooo)
	inOrder := int64(c.bytes - a.last.bytes)
	a.last = c
	if ooo == 0 && a.held == 0 {
		a.cleanBytes += inOrder
		a.cleanSegs += segs
		return
	}
	size := float64(c.mss)
	if a.cleanSegs > 0 {
		size = float64(a.cleanBytes) / float64(a.cleanSegs)
	}
	released := max(0, inOrder-int64(float64(segs-ooo)*size))
	a.held = max(0, a.held+int64(float64(ooo)*size)-released)
	if ooo == 0 && a.held < 4*int64(c.mss) {
		a.held = 0
	}
}

// counter counts a download's bytes as they arrive, not as this process
// reads them, so a pause of this process does not bunch a window's bytes:
// the kernel's count (Linux TCP_INFO; arrival) less before, the warm-up requests'
// bytes. It is decided once: a transfer's connections are all kernel
// sockets or none are (the fault lab's); a kernel that reports nothing
// (older than 4.1) while bytes are read counts as none, and then the bytes
// read (moved) are counted.
func (t *connTracker) counter(before int64, moved *atomic.Int64) func() int64 {
	mode, last := 0, int64(0) // mode 0 undecided, 1 kernel, 2 read
	return func() int64 {
		n, ok := t.received()
		n -= before
		switch {
		case mode == 0 && !ok:
			mode = 2
		case mode == 0 && n > 0:
			mode = 1
		case mode == 0 && moved.Load() > 64<<10:
			mode = 2
		}
		switch {
		case mode == 1 && ok:
			last = n
			return n
		case mode == 1:
			return last
		}
		return moved.Load()
	}
}

func (t *connTracker) retransPct() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var retrans, sent uint64
	ok := false
	for _, c := range t.conns {
		r, s, good := tcpRetrans(c)
		if good {
			ok = true
			retrans += r
			sent += s
		}
	}
	if !ok || sent == 0 {
		return -1
	}
	return math.Round(float64(retrans)/float64(sent)*10000) / 100
}
