package luabind

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// heapWatchInterval is how often the watchdog samples the heap.
const heapWatchInterval = 5 * time.Millisecond

const heapMetric = "/memory/classes/heap/objects:bytes"

// heap is the process-wide watchdog for Lua calls with budgets. The
// call's own goroutine checks its budgets every few hundred
// instructions (budgetCtx); the watchdog, from its own goroutine, stops
// a call (through its sandbox's context) that is past its deadline in
// a Go function, that allocates faster than instructions run (`s = s ..
// s` doubles a string per instruction: the allocation counter, read
// every tick, catches it within a tick, a doubling or two past the
// budget), or while the process heap is past the heap limit
// (ErrMemoryLimit). A sandbox keeps one record for all its calls and
// each call marks it active, instead of making a timer and a record per
// call, which cost about as much as the shipped decide policy itself. The
// goroutine runs while some registered sandbox is in a call and exits on
// the first tick with none.
var heap heapWatch

type heapWatch struct {
	// inCall counts the calls running (begun and not ended). The
	// allocation counter is the process's: while n calls run at once,
	// each is taken to have made 1/n of what was allocated.
	inCall  atomic.Int64
	mu      sync.Mutex
	calls   map[*watchedCall]struct{}
	running bool
	sample  []metrics.Sample
}

// watchedCall is the watchdog's view of one sandbox's current call.
type watchedCall struct {
	mu       sync.Mutex
	active   bool
	counted  bool // in heap.inCall
	deadline time.Time
	timeout  time.Duration
	limit    uint64 // 0: no heap limit
	budget   uint64 // bytes the call may allocate; 0: no budget
	based    bool   // base is set
	base     uint64 // the allocation counter when the watchdog first saw the call
	cancel   context.CancelCauseFunc
}

// begin marks c's call as running until end, with a deadline timeout
// from now (none when timeout is 0) and a heap limit (none when 0);
// cancel stops it.
func (h *heapWatch) begin(c *watchedCall, timeout time.Duration, limit uint64, cancel context.CancelCauseFunc) {
	h.beginBudget(c, time.Now(), timeout, limit, 0, cancel)
}

// beginBudget is begin for a call that began at start, with a budget
// of bytes the call may allocate (none when 0).
func (h *heapWatch) beginBudget(c *watchedCall, start time.Time, timeout time.Duration, limit, budget uint64, cancel context.CancelCauseFunc) {
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	c.mu.Lock()
	c.active, c.deadline, c.timeout, c.limit, c.budget, c.based, c.cancel = true, deadline, timeout, limit, budget, false, cancel
	if !c.counted {
		c.counted = true
		h.inCall.Add(1)
	}
	c.mu.Unlock()
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[*watchedCall]struct{}{}
		h.sample = []metrics.Sample{{Name: heapMetric}, {Name: allocMetric}}
	}
	h.calls[c] = struct{}{}
	if !h.running {
		h.running = true
		go h.loop()
	}
	h.mu.Unlock()
}

// watch stops a single call (through cancel) if it runs past timeout
// (none when 0) or the heap passes limit (none when 0) before the
// returned function is called.
func (h *heapWatch) watch(timeout time.Duration, limit uint64, cancel context.CancelCauseFunc) (stop func()) {
	c := &watchedCall{}
	h.begin(c, timeout, limit, cancel)
	return func() {
		c.end()
		h.forget(c)
	}
}

// end marks c's call as done.
func (c *watchedCall) end() {
	c.mu.Lock()
	c.active = false
	if c.counted {
		c.counted = false
		heap.inCall.Add(-1)
	}
	c.mu.Unlock()
}

// forget unregisters c (its sandbox is closed).
func (h *heapWatch) forget(c *watchedCall) {
	h.mu.Lock()
	delete(h.calls, c)
	h.mu.Unlock()
}

func (h *heapWatch) loop() {
	t := time.NewTicker(heapWatchInterval)
	defer t.Stop()
	// The allocation counter at the last tick (from the start): a call
	// first seen at a tick began after it.
	h.mu.Lock()
	metrics.Read(h.sample)
	last := h.sample[1].Value.Uint64()
	h.mu.Unlock()
	for now := range t.C {
		h.mu.Lock()
		active := 0
		metrics.Read(h.sample)
		used, allocs := h.sample[0].Value.Uint64(), h.sample[1].Value.Uint64()
		running := h.inCall.Load()
		for c := range h.calls {
			c.mu.Lock()
			if c.active {
				active++
				if !c.based {
					// First seen this tick: it began after the last one.
					c.based, c.base = true, last
				}
				switch {
				case c.budget > 0 && (allocs-c.base)/uint64(max(running, 1)) > c.budget:
					c.cancel(&BudgetError{Budget: BudgetMemory, Limit: byteSize(c.budget), Detail: approxSize((allocs-c.base)/uint64(max(running, 1))) + " allocated"})
					c.active = false
				case !c.deadline.IsZero() && now.After(c.deadline):
					c.cancel(&BudgetError{Budget: BudgetTime, Limit: c.timeout.String()})
					c.active = false
				case c.limit > 0 && used > c.limit:
					c.cancel(&BudgetError{Budget: BudgetMemory, Limit: byteSize(c.limit) + " of process heap", Detail: "the process heap reached " + approxSize(used)})
					c.active = false
				}
			}
			c.mu.Unlock()
		}
		last = allocs
		if active == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}
