package copier

import (
	"context"
	"time"
)

// Cutoff is what happens at the change window's end.
type Cutoff string

// Cutoff modes.
const (
	// CutoffSoft stops starting jobs at the window's end and returns
	// without waiting for AWS.
	CutoffSoft Cutoff = "soft"
	// CutoffCautious also starts no job expected to end after the
	// window (expected from the durations observed per resource type
	// and size).
	CutoffCautious Cutoff = "cautious"
	// CutoffDrain stops starting at the window's end and waits for the
	// jobs in flight until the end plus the grace.
	CutoffDrain Cutoff = "drain"
)

// Valid reports whether c is one of the modes.
func (c Cutoff) Valid() bool {
	switch c {
	case CutoffSoft, CutoffCautious, CutoffDrain:
		return true
	}
	return false
}

// Window is the operator's change window.
type Window struct {
	End    time.Time // no job starts at or after it (zero: no window)
	Cutoff Cutoff
	Grace  time.Duration // with CutoffDrain: how long after End to wait for jobs in flight
}

// HardEnd is when a run stops waiting for the jobs in flight: End, plus
// the grace when draining. Zero without a window.
func (w Window) HardEnd() time.Time {
	if w.End.IsZero() || w.Cutoff != CutoffDrain {
		return w.End
	}
	return w.End.Add(w.Grace)
}

// Bounds derives a run's two deadlines from the window, the way k6
// bounds a graceful stop: Feed is done at the window's end, Hard at
// HardEnd. Neither is cancelled with ctx (an interrupt is ctx's own
// business). The zero Bounds, without a window, never end.
func (w Window) Bounds(ctx context.Context) (Bounds, context.CancelFunc) {
	if w.End.IsZero() {
		return Bounds{Cutoff: w.Cutoff}, func() {}
	}
	base := context.WithoutCancel(ctx)
	feed, cancelFeed := context.WithDeadline(base, w.End)
	if w.Cutoff != CutoffDrain {
		return Bounds{Feed: feed, Hard: feed, Cutoff: w.Cutoff}, cancelFeed
	}
	hard, cancelHard := context.WithDeadline(base, w.HardEnd())
	return Bounds{Feed: feed, Hard: hard, Cutoff: w.Cutoff}, func() { cancelHard(); cancelFeed() }
}

// Bounds are the two deadlines a run keeps: once Feed is done no job
// starts; once Hard is done the run stops waiting for the jobs in flight
// (only a draining cutoff waits past Feed). Nil contexts never end.
type Bounds struct {
	Feed, Hard context.Context
	Cutoff     Cutoff
}

// feedDone says whether no job may start any more at now. The clock
// decides, not only the context: a context's deadline timer may fire
// after another event that woke the dispatcher past the window's end
// (a vault watcher that gave up at the same moment, say), and a run
// that took that event for "nothing left" would not say the window
// ended.
func (b Bounds) feedDone(now time.Time) bool { return ended(b.Feed, now) }

// hardDone says whether the run stops waiting for jobs in flight at now.
func (b Bounds) hardDone(now time.Time) bool { return ended(b.Hard, now) }

// ended says whether ctx is done or its deadline is not after now.
func ended(ctx context.Context, now time.Time) bool {
	if ctx == nil {
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	end, ok := ctx.Deadline()
	return ok && !now.Before(end)
}

// feedEnd is the window's end, when there is one.
func (b Bounds) feedEnd() (time.Time, bool) {
	if b.Feed == nil {
		return time.Time{}, false
	}
	return b.Feed.Deadline()
}

// done returns the channel of ctx, nil (never ready) for a nil ctx.
func done(ctx context.Context) <-chan struct{} {
	if ctx == nil {
		return nil
	}
	return ctx.Done()
}

// StopReason is why a run returned before its work was done.
type StopReason string

// Stop reasons; the values are those the summary, the log and the Lua
// table have always carried.
const (
	StopNone StopReason = ""
	// StopDeadline: the change window ended, or nothing left fits in it
	// (cautious cutoff).
	StopDeadline StopReason = "deadline"
	// StopInterrupted: the run's context was cancelled.
	StopInterrupted StopReason = "interrupted"
	// StopError: an error no retry fixes stopped the starts (the copy
	// role cannot be passed, StartCopyJob is denied).
	StopError StopReason = "error"
)
