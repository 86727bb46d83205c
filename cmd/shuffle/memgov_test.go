package main

import "testing"

// The soft limit stays at the floor while the live heap is small and
// then follows it with headroom, so a big state never pins the GC
// against a fixed limit.
func TestMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, memoryFloor},
		{190 << 20, memoryFloor},               // a million-RP plan
		{200 << 20, 300 << 20},                 // where the floor ends
		{400 << 20, 600 << 20},                 // a bigger state
		{2 << 30, int64(float64(2<<30) * 1.5)}, // far beyond
	} {
		if got := memoryLimitFor(c.live); got != c.want {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
		if got := memoryLimitFor(c.live); got < int64(c.live) {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB is under the live heap", c.live>>20, got>>20)
		}
	}
}
