package engine

import (
	"container/heap"
	"math"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The copy scheduler's in-memory structures. One goroutine (Copier.Run)
// owns all of them.
//
// Every resource is a chain of its RPs, oldest first: AWS runs at most
// one job per resource, so a chain is copied one RP after another. A
// chain whose next RP may start now sits in the ready heap of that RP's
// destination vault, ordered by the estimated work left in the chain,
// longest first: the longest chains bound the makespan, so they start
// first. The dispatcher takes vaults round-robin, so one vault full of
// long chains cannot starve the others, and skips a vault at its cap.

// copyItem is one RP to copy.
type copyItem struct {
	vault     string // source vault
	arn       string
	chain     *chain
	created   int64 // unix ns
	size      int64
	typ       string
	deleteAft int64 // -1: none
	coldAft   int64 // -1: none
	est       float64
	dest      *vaultSched
	rec       *state.CopyRecord // nil until the first intent
	callErrs  int               // StartCopyJob errors in this process
	checked   time.Time         // last DescribeCopyJob by the stale check
}

// chain is the RPs of one resource, oldest first.
type chain struct {
	resource  string
	items     []*copyItem
	next      int
	busy      bool // a job or a start call is in flight
	notBefore time.Time
	remaining float64
	heapIdx   int         // in inVault's ready heap; -1 when not there
	inVault   *vaultSched // whose ready heap holds it
	waitIdx   int         // in the waiting heap; -1 when not there
	resBusy   int         // consecutive "resource busy" answers, for backoff
}

func (c *chain) head() *copyItem {
	if c.next < len(c.items) {
		return c.items[c.next]
	}
	return nil
}

// vaultSched is one destination vault's share of the schedule.
type vaultSched struct {
	name     string // source vault name
	destArn  string
	ready    chainHeap
	inflight int
	cap      float64 // AIMD; +Inf when no cap is known
	maxCap   float64
}

func (v *vaultSched) full() bool { return float64(v.inflight) >= math.Floor(v.cap) }

// chainHeap is a max-heap of chains by remaining work.
type chainHeap []*chain

func (h chainHeap) Len() int           { return len(h) }
func (h chainHeap) Less(i, j int) bool { return h[i].remaining > h[j].remaining }
func (h chainHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *chainHeap) Push(x any) { c := x.(*chain); c.heapIdx = len(*h); *h = append(*h, c) }
func (h *chainHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.heapIdx = -1
	return c
}

// waitHeap is a min-heap of chains by notBefore.
type waitHeap []*chain

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].notBefore.Before(h[j].notBefore) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].waitIdx, h[j].waitIdx = i, j
}
func (h *waitHeap) Push(x any) { c := x.(*chain); c.waitIdx = len(*h); *h = append(*h, c) }
func (h *waitHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.waitIdx = -1
	return c
}

// sched is the whole schedule.
type sched struct {
	vaults  []*vaultSched
	byName  map[string]*vaultSched
	rr      int
	waiting waitHeap
	cap     float64 // global AIMD cap
	maxCap  float64
	// capHoldUntil: after a decrease, no increase until then.
	capHoldUntil time.Time
}

// park puts a chain where it belongs: nowhere when it is busy or done,
// the waiting heap when it must wait, else its head's vault ready heap.
func (s *sched) park(c *chain, now time.Time) {
	if c.heapIdx >= 0 {
		heap.Remove(&c.inVault.ready, c.heapIdx)
	}
	if c.waitIdx >= 0 {
		heap.Remove(&s.waiting, c.waitIdx)
	}
	it := c.head()
	if c.busy || it == nil {
		return
	}
	if c.notBefore.After(now) {
		heap.Push(&s.waiting, c)
		return
	}
	c.inVault = it.dest
	heap.Push(&it.dest.ready, c)
}

// promote moves chains whose wait is over into their ready heaps and
// returns the next time one is due (zero: none waiting).
func (s *sched) promote(now time.Time) time.Time {
	for s.waiting.Len() > 0 {
		c := s.waiting[0]
		if c.notBefore.After(now) {
			return c.notBefore
		}
		heap.Pop(&s.waiting)
		if it := c.head(); it != nil && !c.busy {
			c.inVault = it.dest
			heap.Push(&it.dest.ready, c)
		}
	}
	return time.Time{}
}

// pick returns the next chain to start, taking vaults round-robin and
// skipping full ones; nil when nothing can start.
func (s *sched) pick() *chain {
	n := len(s.vaults)
	for i := 0; i < n; i++ {
		v := s.vaults[(s.rr+i)%n]
		if v.ready.Len() == 0 || v.full() {
			continue
		}
		s.rr = (s.rr + i + 1) % n
		return heap.Pop(&v.ready).(*chain)
	}
	return nil
}

// readyCount is the number of chains that could start now.
func (s *sched) readyCount() int {
	n := 0
	for _, v := range s.vaults {
		n += v.ready.Len()
	}
	return n
}

// estimate is a prior for how long a copy takes, in seconds: used only
// to order chains, so the constants matter less than the proportion.
func estimate(typ string, size int64) float64 {
	return 300 + float64(size)/50e6
}
