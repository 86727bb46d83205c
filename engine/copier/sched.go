package copier

import (
	"container/heap"
	"math"
	"sort"
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
	expires   int64 // unix ns when the source's lifecycle deletes it; 0: never
	priority  int   // the decision's (state.Decision.Priority)
	est       float64
	dest      *vaultSched
	rec       *state.CopyRecord // nil until the first intent
	callErrs  int               // StartCopyJob errors in this process
	sent      uint64            // its last StartCopyJob's place in the order calls were sent
	checked   time.Time         // last DescribeCopyJob by the stale check
	// behind: loaded as an intent behind its chain's head (an earlier
	// process started the next RP of the resource after the head's job
	// ended); settled with the head's, sent only once its chain reaches it.
	behind bool
}

// chain is the RPs of one resource, oldest first.
type chain struct {
	resource  string
	items     []*copyItem
	next      int
	busy      bool // a job or a start call is in flight
	notBefore time.Time
	remaining float64
	heapIdx   int // in inVault's ready heap; -1 when not there
	// due and urgent are the head's delete date (unix seconds; 0: none)
	// and whether it was within UrgentWithin when the chain was last
	// made ready (ChainKey).
	due     float64
	urgent  bool
	inVault *vaultSched // whose ready heap holds it
	waitIdx int         // in the waiting heap; -1 when not there
	resBusy int         // consecutive "resource busy" answers, for backoff
}

// sortRest keeps the part of the chain not started yet in order
// (itemFirst); the head in flight stays first.
func (c *chain) sortRest() {
	from := c.next
	if c.busy {
		from++
	}
	if from < len(c.items) {
		rest := c.items[from:]
		sort.SliceStable(rest, func(i, j int) bool { return itemFirst(rest[i], rest[j]) })
	}
}

// itemFirst is the order of one resource's RPs not started yet: the
// higher priority first, then the oldest (ItemFirst).
func itemFirst(a, b *copyItem) bool { return ItemFirst(a.priority, a.created, b.priority, b.created) }

// ItemFirst is the order of one resource's RPs: whether the RP with
// priority pa, created at ca (any clock), goes before the one with pb,
// cb. The simulation orders a chain's jobs with it too.
func ItemFirst(pa int, ca int64, pb int, cb int64) bool {
	if pa != pb {
		return pa > pb
	}
	return ca < cb
}

// skipSettled moves the chain past the items a settle finished while
// they waited behind the head (adopted, held or failed), and marks the
// chain busy when its new head has a job in AWS already (tracked since
// the load), so that nothing is started for them again.
func (c *chain) skipSettled() {
	for it := c.head(); it != nil && it.rec != nil; it = c.head() {
		switch it.rec.State {
		case state.CopyCompleted, state.CopyHeld, state.CopyFailed:
			c.remaining -= it.est
			c.next++
			continue
		case state.CopyRunning:
			c.busy = true
		}
		return
	}
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
	fullAt   int // jobs running when it was last read as full (limits.go); 0: never
}

func (v *vaultSched) full() bool { return float64(v.inflight) >= math.Floor(v.cap) }

// chainHeap is a heap of chains in the order ChainFirst gives.
type chainHeap []*chain

func (h chainHeap) Len() int           { return len(h) }
func (h chainHeap) Less(i, j int) bool { return ChainFirst(h[i].key(), h[j].key()) }

// key is the chain's place in the order.
func (c *chain) key() ChainKey {
	k := ChainKey{Work: c.remaining, Due: c.due, Urgent: c.urgent}
	if it := c.head(); it != nil {
		k.Priority = it.priority
	}
	return k
}

// markDue sets the chain's due date from its head, as of now.
func (c *chain) markDue(now time.Time) {
	c.due, c.urgent = 0, false
	if it := c.head(); it != nil && it.expires != 0 {
		c.due = float64(it.expires) / 1e9
		c.urgent = Urgent(c.due, float64(now.UnixNano())/1e9)
	}
}
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
	c.markDue(now)
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
			c.markDue(now)
			heap.Push(&it.dest.ready, c)
		}
	}
	return time.Time{}
}

// pick returns the next chain to start, taking vaults round-robin and
// skipping full ones; nil when nothing can start.
func (s *sched) pick() *chain {
	i, next := NextVault(len(s.vaults), s.rr, func(i int) bool {
		v := s.vaults[i]
		return v.ready.Len() > 0 && !v.full()
	})
	if i < 0 {
		return nil
	}
	s.rr = next
	return heap.Pop(&s.vaults[i].ready).(*chain)
}

// readyCount is the number of chains that could start now.
func (s *sched) readyCount() int {
	n := 0
	for _, v := range s.vaults {
		n += v.ready.Len()
	}
	return n
}

// UrgentWithin is how close its source's lifecycle delete date must be
// for a chain's next RP to go before the others: a copy not started by
// then is lost.
const UrgentWithin = 72 * time.Hour

// ChainKey is what orders a destination vault's ready chains.
type ChainKey struct {
	// Work is the estimated work left in the chain (seconds, by
	// estimate.Prior).
	Work float64
	// Due is when the lifecycle deletes the chain's next RP (seconds on
	// the caller's clock; 0: never), and Urgent says that was within
	// UrgentWithin when the chain became ready.
	Due    float64
	Urgent bool
	// Priority is the chain's next RP's decision priority.
	Priority int
}

// Urgent says whether a delete date due (0: none) is within
// UrgentWithin of now, both in seconds on one clock.
func Urgent(due, now float64) bool { return due != 0 && due-now < UrgentWithin.Seconds() }

// ChainFirst is the scheduler's order within one destination vault:
// whether chain a starts before chain b. Chains whose next RP is about
// to be deleted by its lifecycle go first, the earliest delete date
// first; then the higher priority a policy gave the next RP; then the
// chain with the most work left: the longest chains bound the makespan.
// A simulation of the copy engine orders its chains with this, so its
// order is the engine's.
func ChainFirst(a, b ChainKey) bool {
	if a.Urgent != b.Urgent {
		return a.Urgent
	}
	if a.Urgent && a.Due != b.Due {
		return a.Due < b.Due
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.Work > b.Work
}

// NextVault is the scheduler's order across vaults: starting after the
// round-robin position rr among n vaults, the first vault i for which
// ok(i) holds (it has a chain ready and room under its cap), and the
// position to start from next time. It returns -1 when none is.
func NextVault(n, rr int, ok func(i int) bool) (i, next int) {
	for k := 0; k < n; k++ {
		i := (rr + k) % n
		if ok(i) {
			return i, (rr + k + 1) % n
		}
	}
	return -1, rr
}
