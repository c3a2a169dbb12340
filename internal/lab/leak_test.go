package lab

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/kb"
)

// A world leaves nothing behind once closed: the perturbation run plays a
// thousand of them in one process. (Abandoned speed-test downloads once
// left toxiproxy's relays blocked with their queued chunks: 25 MB and a
// dozen goroutines a world, 24 GB by the end of a run.)
func TestWorldsLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("plays three worlds")
	}
	k := kb.MustDefault()
	sc, err := LoadFile("../../scenarios/healthy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	settle := func() (int, uint64) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapInuse
	}
	before, heapBefore := settle()
	for i := range 3 {
		if _, err := Run(context.Background(), k, Perturb(sc, 1, i).Scenario, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// Closed connections still read what is on its way for a moment
	// (netmap's lingering close): wait for them.
	var after int
	var heapAfter uint64
	for range 50 {
		if after, heapAfter = settle(); after <= before+2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after > before+2 || heapAfter > heapBefore+16<<20 {
		t.Errorf("after three closed worlds: %d goroutines (%d before), heap %d MB (%d before)", after, before, heapAfter>>20, heapBefore>>20)
	}
}
