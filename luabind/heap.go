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

// heap is the process-wide watchdog for time-limited Lua calls. gopher-lua
// cannot account memory per state, so the watchdog samples the process
// heap: when it passes a running call's limit, that call is stopped with
// ErrMemoryLimit. Its goroutine runs only while a watched call is in
// flight and exits on the first tick with none.
var heap heapWatch

type heapWatch struct {
	mu      sync.Mutex
	calls   map[*watchedCall]struct{}
	running bool
	sample  []metrics.Sample
}

type watchedCall struct {
	limit  uint64
	cancel context.CancelCauseFunc
}

// watch stops the call (through cancel) if the heap passes limit before
// the returned function is called.
func (h *heapWatch) watch(limit uint64, cancel context.CancelCauseFunc) (stop func()) {
	c := &watchedCall{limit: limit, cancel: cancel}
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
	return func() {
		h.mu.Lock()
		delete(h.calls, c)
		h.mu.Unlock()
	}
}

func (h *heapWatch) loop() {
	t := time.NewTicker(heapWatchInterval)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if len(h.calls) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		metrics.Read(h.sample)
		used := h.sample[0].Value.Uint64()
		for c := range h.calls {
			if used > c.limit {
				c.cancel(fmt.Errorf("%w: the process heap reached %s, over the %s limit", ErrMemoryLimit, byteSize(used&^(1<<20-1)), byteSize(c.limit)))
				delete(h.calls, c)
			}
		}
		h.mu.Unlock()
	}
}
