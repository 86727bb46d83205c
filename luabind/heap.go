package luabind

import (
	"context"
	"fmt"
	"runtime/metrics"
	"sync"
	"time"
)

// heapWatchInterval is how often the watchdog samples the heap.
const heapWatchInterval = 5 * time.Millisecond

const heapMetric = "/memory/classes/heap/objects:bytes"

// heap is the process-wide watchdog for time-limited Lua calls. It
// stops a call (through its sandbox's context) when the call runs past
// its deadline (ErrTimeout) or, since gopher-lua cannot account memory
// per state, when the process heap passes the call's limit
// (ErrMemoryLimit). A sandbox keeps one record for all its calls and
// each call marks it active, instead of making a timer and a record per
// call, which cost about as much as the shipped decide policy itself. The
// goroutine runs while some registered sandbox is in a call and exits on
// the first tick with none.
var heap heapWatch

type heapWatch struct {
	mu      sync.Mutex
	calls   map[*watchedCall]struct{}
	running bool
	sample  []metrics.Sample
}

// watchedCall is the watchdog's view of one sandbox's current call.
type watchedCall struct {
	mu       sync.Mutex
	active   bool
	deadline time.Time
	timeout  time.Duration
	limit    uint64 // 0: no heap limit
	cancel   context.CancelCauseFunc
}

// begin marks c's call as running until end, with a deadline timeout
// from now (none when timeout is 0) and a heap limit (none when 0);
// cancel stops it.
func (h *heapWatch) begin(c *watchedCall, timeout time.Duration, limit uint64, cancel context.CancelCauseFunc) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	c.mu.Lock()
	c.active, c.deadline, c.timeout, c.limit, c.cancel = true, deadline, timeout, limit, cancel
	c.mu.Unlock()
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[*watchedCall]struct{}{}
		h.sample = []metrics.Sample{{Name: heapMetric}}
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
	for now := range t.C {
		h.mu.Lock()
		active, sampled := 0, false
		var used uint64
		for c := range h.calls {
			c.mu.Lock()
			if c.active {
				active++
				switch {
				case !c.deadline.IsZero() && now.After(c.deadline):
					c.cancel(fmt.Errorf("%w after %s", ErrTimeout, c.timeout))
					c.active = false
				case c.limit > 0:
					if !sampled {
						metrics.Read(h.sample)
						used, sampled = h.sample[0].Value.Uint64(), true
					}
					if used > c.limit {
						c.cancel(fmt.Errorf("%w: the process heap reached %s, over the %s limit", ErrMemoryLimit, byteSize(used&^(1<<20-1)), byteSize(c.limit)))
						c.active = false
					}
				}
			}
			c.mu.Unlock()
		}
		if active == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}
