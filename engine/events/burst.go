package events

import (
	"fmt"
	"sync"
	"time"
)

// The failure-burst defaults: 20 failed copies within 10 minutes.
const (
	DefaultBurstFailures = 20
	DefaultBurstWindow   = 10 * time.Minute
)

// BurstDetector tells when copies fail in a burst: Add each failure;
// it reports a burst when the Failures-th failure within Window
// arrives. It then stays quiet, however many more fail, until the
// failures within the last Window drop below Failures (the burst is
// over); the next time they reach it is a new burst. It keeps only the
// last Failures failures. Safe for concurrent use.
type BurstDetector struct {
	failures int
	window   time.Duration

	mu      sync.Mutex
	at      []time.Time // ring of the last failures' times
	reasons []string
	next    int  // where the next failure goes
	n       int  // failures in the ring
	fired   bool // a burst was reported and is not over
}

// NewBurstDetector is a detector of failures within window; zero
// values take the defaults.
func NewBurstDetector(failures int, window time.Duration) *BurstDetector {
	if failures <= 0 {
		failures = DefaultBurstFailures
	}
	if window <= 0 {
		window = DefaultBurstWindow
	}
	return &BurstDetector{failures: failures, window: window, at: make([]time.Time, failures), reasons: make([]string, failures)}
}

// String is the detector's rule, e.g. "20 failures in 10m0s".
func (d *BurstDetector) String() string {
	return fmt.Sprintf("%d failures in %s", d.failures, d.window)
}

// Add records a failure at t for reason; it returns the burst, once,
// when this failure makes one.
func (d *BurstDetector) Add(t time.Time, reason string) (Burst, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fired && d.within(t) < d.failures {
		d.fired = false // the burst is over: re-armed
	}
	d.at[d.next], d.reasons[d.next] = t, reason
	d.next = (d.next + 1) % d.failures
	d.n = min(d.n+1, d.failures)
	if d.fired || d.within(t) < d.failures {
		return Burst{}, false
	}
	d.fired = true
	b := Burst{Failures: d.failures, Minutes: d.window.Minutes(), LastReason: reason, ByReason: map[string]int{}}
	for i := 0; i < d.n; i++ {
		b.ByReason[d.reasons[i]]++
		if b.First.IsZero() || d.at[i].Before(b.First) {
			b.First = d.at[i]
		}
	}
	b.First = b.First.UTC()
	return b, true
}

// within counts the failures of the ring after now-window.
func (d *BurstDetector) within(now time.Time) int {
	n := 0
	for i := 0; i < d.n; i++ {
		if now.Sub(d.at[i]) < d.window {
			n++
		}
	}
	return n
}
