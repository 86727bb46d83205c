package main

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The Go heap of a million-RP run is about 190 MB live. With the
// default GOGC=100 the heap then grows to twice that before each
// collection, and garbage, not data, sets the process's peak RSS.
//
// memoryFloor is the soft limit below which the heap may grow freely;
// above it the limit follows the live heap at memoryHeadroom times its
// size, so a larger state (a bigger metadata CSV, say) raises the limit
// instead of making the GC run without pause against a fixed one.
const (
	memoryFloor    = 300 << 20
	memoryHeadroom = 1.5
)

// memoryLimitFor is the soft limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(int64(memoryFloor), int64(float64(live)*memoryHeadroom))
}

// governor serialises the limit's setters, so that once setMemoryLimit
// has run the governor sets it no more.
var governor struct {
	sync.Mutex
	off bool
}

// startMemoryGovernor sets the soft memory limit now and every half
// second after from the live heap the last collection measured.
func startMemoryGovernor() {
	debug.SetMemoryLimit(memoryLimitFor(0))
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			metrics.Read(s)
			governor.Lock()
			off := governor.off
			if !off {
				debug.SetMemoryLimit(memoryLimitFor(s[0].Value.Uint64()))
			}
			governor.Unlock()
			if off {
				return
			}
		}
	}()
}

// setMemoryLimit stops the governor and fixes the soft limit (for a
// process whose heap is not shuffle's engine, such as the emulator).
func setMemoryLimit(limit int64) {
	governor.Lock()
	defer governor.Unlock()
	governor.off = true
	debug.SetMemoryLimit(limit)
}
