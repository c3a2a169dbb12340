package speed

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// feed runs counter samples through an arrival and returns its count after
// each.
func feed(samples []rcvCounters) []int64 {
	a := arrival{last: samples[0]}
	out := []int64{a.count()}
	for _, c := range samples[1:] {
		a.update(c)
		out = append(out, a.count())
	}
	return out
}

const mss = 1448

// steady: n full segments per sample, in order.
func steady(from rcvCounters, samples, n int) []rcvCounters {
	var out []rcvCounters
	c := from
	for range samples {
		c.bytes += uint64(n * mss)
		c.segs += uint32(n)
		out = append(out, c)
	}
	return out
}

// A lost segment holds the next 99 segments out of order for four samples;
// the resend fills the hole and the in-order count jumps by all of them.
// The arrival count goes on at the line's pace instead of standing still
// and then leaping.
func TestArrivalCountsHeldSegments(t *testing.T) {
	start := rcvCounters{bytes: 100 * mss, segs: 100, mss: mss}
	s := append([]rcvCounters{start}, steady(start, 4, 25)...)
	c := s[len(s)-1]
	// One segment lost: 24 arrive out of order in the first sample, 25 in
	// each of the next three; the in-order count stands.
	for i := range 4 {
		n := 25
		if i == 0 {
			n = 24
		}
		c.segs += uint32(n)
		c.ooo += uint32(n)
		s = append(s, c)
	}
	// The resend arrives with 24 new segments: all 100 held plus them move
	// into order.
	c.segs += 25
	c.bytes += uint64((1 + 99 + 24) * mss)
	s = append(s, c)
	s = append(s, steady(c, 3, 25)...)
	got := feed(s)
	for i := 1; i < len(got); i++ {
		inc := got[i] - got[i-1]
		// Each sample brings 25 segments but the loss sample (24) and the
		// resend's (25, of which one is the resend).
		if inc < 24*mss || inc > 25*mss {
			t.Errorf("sample %d: %d bytes arrived, want 24-25 segments' worth (%d-%d); counts %v", i, inc, 24*mss, 25*mss, got)
		}
	}
	if last, want := got[len(got)-1], int64(s[len(s)-1].bytes); last != want {
		t.Errorf("after the hole the count is %d, want the in-order count %d", last, want)
	}
}

// A burst of 10 lost segments is resent one sample after another: the
// resends arrive in order and move the in-order count a little each, while
// the held segments beyond the hole are still held.
func TestArrivalHeldThroughResends(t *testing.T) {
	start := rcvCounters{bytes: 100 * mss, segs: 100, mss: mss}
	s := append([]rcvCounters{start}, steady(start, 2, 20)...)
	c := s[len(s)-1]
	c.segs += 20 // 10 lost, 20 after them held
	c.ooo += 20
	s = append(s, c)
	for range 9 { // nine resends, in order, nothing new
		c.segs++
		c.bytes += mss
		s = append(s, c)
	}
	c.segs++ // the last resend: the 20 held move into order
	c.bytes += 21 * mss
	s = append(s, c)
	got := feed(s)
	held := got[3] - int64(s[3].bytes)
	if held != 20*mss {
		t.Fatalf("held after the loss = %d, want %d", held, 20*mss)
	}
	for i := 4; i < len(got); i++ {
		if inc := got[i] - got[i-1]; inc != mss {
			t.Errorf("resend sample %d counted %d bytes, want one segment (%d); counts %v", i, inc, mss, got)
		}
	}
}

// A server whose segments are short now and then (a write boundary): the
// size of a segment is learnt from samples with nothing held, so a hole
// does not count bytes that never came, and nothing is left held after it.
func TestArrivalLearnsSegmentSize(t *testing.T) {
	const size = 1000 // every segment 1000 bytes, under the MSS
	c := rcvCounters{bytes: 0, segs: 0, mss: mss}
	s := []rcvCounters{c}
	for range 10 {
		c.bytes += 20 * size
		c.segs += 20
		s = append(s, c)
	}
	c.segs += 30 // a hole: 30 held
	c.ooo += 30
	s = append(s, c)
	c.segs++ // filled
	c.bytes += 31 * size
	s = append(s, c)
	got := feed(s)
	if held := got[11] - int64(s[11].bytes); held != 30*size {
		t.Errorf("held = %d, want 30 segments of the learnt size (%d)", held, 30*size)
	}
	if got[12] != int64(s[12].bytes) {
		t.Errorf("after the hole the count is %d, want %d", got[12], s[12].bytes)
	}
}

// A kernel without the segment counters (zero) gives the in-order count.
func TestArrivalOldKernel(t *testing.T) {
	s := []rcvCounters{{bytes: 10}, {bytes: 5000}, {bytes: 5000}, {bytes: 90000}}
	for i, n := range feed(s) {
		if n != int64(s[i].bytes) {
			t.Errorf("sample %d: %d, want %d", i, n, s[i].bytes)
		}
	}
}

// Duplicates (a segment resent that had already arrived) move no count:
// while a hole is open they must not be taken for bytes held, or the count
// drifts above the line (a 15 Mbps line read 14.7 Mbps rising).
func TestArrivalDuplicatesAddNothing(t *testing.T) {
	start := rcvCounters{bytes: 100 * mss, segs: 100, mss: mss}
	s := append([]rcvCounters{start}, steady(start, 2, 20)...)
	c := s[len(s)-1]
	c.segs += 20 // a hole, 20 held
	c.ooo += 20
	s = append(s, c)
	for range 5 { // five duplicates a sample
		c.segs += 5
		s = append(s, c)
	}
	got := feed(s)
	for i := 4; i < len(got); i++ {
		if got[i] != got[3] {
			t.Errorf("sample %d: duplicates moved the count %d -> %d; counts %v", i, got[3], got[i], got)
		}
	}
}

// A line whose shaper lets a burst through at the start (tbf's bucket,
// socket buffers) and then carries a steady rate: the stable estimate is
// the steady rate, not a mean that still holds windows reaching back to
// the burst (a 1,000 Mbps tbf link read 962 that way).
func TestSamplerLeavesStartBurstOut(t *testing.T) {
	const mbps, burst = 1000.0, 1_250_000
	var moved atomic.Int64
	s := newSampler(&moved, nil, "download")
	s.count = func() int64 {
		// The count at the tick being read (a tick read late, on a busy
		// machine, still gets its own tick's count).
		ticks := (time.Since(s.start) + Tick/2) / Tick
		n := int64(burst + (ticks*Tick).Seconds()*mbps*1e6/8)
		moved.Store(n)
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, stable := s.run(ctx, func(time.Time, float64, float64) bool { return true })
	if !stable || got < mbps*0.995 || got > mbps*1.005 {
		t.Errorf("estimate %.1f Mbps (stable %v), want %.0f within 0.5 %%", got, stable, mbps)
	}
}
