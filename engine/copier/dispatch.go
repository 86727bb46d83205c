package copier

import (
	"context"
	"time"
)

// The dispatcher: one goroutine owns the schedule and every record in
// flight, fills free slots, and waits for the next event (a start's
// answer, a poll, a tag, a vault that settled, a requeue, a deadline, a
// retry coming due). Everything else happens in the files named after it.

// dispatch is the dispatcher's own state for one Run.
type dispatch struct {
	c         *Copier
	b         Bounds
	starts    *startPool
	tags      *tagPool
	pollCh    chan pollRes
	polling   bool
	nextPoll  time.Time
	lastStale time.Time
	stopped   StopReason
}

// loop is the dispatcher.
func (c *Copier) loop(ctx context.Context, b Bounds, tagQueue []tagReq) error {
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	starts := c.startStarters(callCtx)
	defer starts.stop(c, cancelCalls)
	tags, err := c.startTaggers(callCtx)
	if err != nil {
		return err
	}
	for _, r := range tagQueue {
		tags.queue(r)
	}
	defer tags.stop(c)
	// Intents left by an earlier process go first, with their own tokens.
	for _, it := range c.intents {
		c.send(starts, it)
	}
	c.intents = nil
	d := &dispatch{c: c, b: b, starts: starts, tags: tags, pollCh: make(chan pollRes, 1),
		nextPoll: c.Now(), lastStale: c.Now()}
	for {
		now := c.Now()
		nextDue, err := d.step(now)
		if err != nil {
			return err
		}
		if done, err := d.done(); done {
			return err
		}
		if len(c.inflight) > 0 && !d.polling && !now.Before(d.nextPoll) {
			d.polling = true
			c.poll(callCtx, d.pollCh)
		}
		if err := d.wait(ctx, d.timeout(now, nextDue)); err != nil {
			return err
		}
	}
}

// step does what is due now: the stale check, retries coming due, the
// stop conditions, starts in the free slots and tags; then it commits
// and publishes. It returns when the next retry comes due.
func (d *dispatch) step(now time.Time) (time.Time, error) {
	c := d.c
	// Ask about jobs not seen to end; what it finds frees slots the
	// fill below can use at once.
	if len(c.inflight) > 0 && now.Sub(d.lastStale) > c.staleAfter()/4 {
		d.lastStale = now
		c.checkStale(now)
	}
	nextDue := c.s.promote(now)
	if d.stopped == StopNone && d.b.feedDone(now) {
		d.stopped = StopDeadline
	}
	if c.fatal != nil && d.stopped == StopNone {
		d.stopped = StopError
	}
	if d.stopped == StopNone {
		if err := c.fill(now, d.b, d.starts); err != nil {
			return nextDue, err
		}
	}
	if n := len(c.inflight) + c.pending; n > c.sum.PeakInFlight {
		c.sum.PeakInFlight = n
	}
	d.tags.hand()
	if err := c.flush(nil); err != nil {
		return nextDue, err
	}
	c.publish()
	return nextDue, nil
}

// done says whether the run is over, and with what error: stopped and
// idle (a draining cutoff also waits for the jobs in flight until the
// hard deadline), or nothing left to start or wait for.
func (d *dispatch) done() (bool, error) {
	c := d.c
	if c.pending != 0 || d.polling || !d.tags.idle() {
		return false, nil
	}
	nothingLeft := c.s.readyCount() == 0 && c.s.waiting.Len() == 0 && len(c.parked) == 0
	switch {
	case d.stopped != StopNone && (c.Opts.NoWait || len(c.inflight) == 0 || d.stopped != StopDeadline || d.b.hardDone(c.Now())):
		c.sum.Stopped = d.stopped
		return true, c.fatal
	case d.stopped == StopNone && len(c.inflight) == 0 && nothingLeft:
		if len(c.cutoff) > 0 {
			c.sum.Stopped = StopDeadline // nothing left fits in the window
		}
		return true, nil
	case d.stopped == StopNone && c.Opts.NoWait && nothingLeft:
		return true, nil
	}
	return false, nil
}

// timeout is how long to wait for an event at most: until the next
// poll, stale check or retry.
func (d *dispatch) timeout(now, nextDue time.Time) time.Duration {
	c := d.c
	wait := time.Hour
	if len(c.inflight) > 0 && !d.polling {
		wait = max(0, d.nextPoll.Sub(now))
	}
	if len(c.inflight) > 0 {
		wait = min(wait, max(0, d.lastStale.Add(c.staleAfter()/4).Sub(now)+time.Millisecond))
	}
	if !nextDue.IsZero() {
		wait = min(wait, max(0, nextDue.Sub(now)))
	}
	return wait
}

// wait handles the next event, or returns after the timeout. The
// window's end wakes it while it may still start jobs, the hard
// deadline while it drains.
func (d *dispatch) wait(ctx context.Context, timeout time.Duration) error {
	c := d.c
	var feed, hard <-chan struct{}
	if d.stopped == StopNone {
		feed = done(d.b.Feed)
	}
	if d.stopped == StopDeadline && d.b.Cutoff == CutoffDrain {
		hard = done(d.b.Hard)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		c.sum.Stopped = StopInterrupted
		return ctx.Err()
	case r := <-d.starts.out:
		c.started(r)
		d.drainStarts()
	case r := <-d.pollCh:
		d.polling = false
		next, err := c.polled(r, d.tags.queue)
		if err != nil {
			return err
		}
		d.nextPoll = next
	case u, ok := <-c.VaultUpdates:
		c.vaultUpdate(u, ok, c.Now())
	case r := <-d.tags.out:
		d.tags.pending--
		c.tagged(r)
	case req := <-c.requeueCh:
		n, err := c.requeue(req.keys)
		req.resp <- requeueRes{n: n, err: err}
		return err
	case <-feed:
	case <-hard:
	case <-timer.C:
	}
	return nil
}

// drainStarts applies the start answers already in.
func (d *dispatch) drainStarts() {
	for {
		select {
		case r := <-d.starts.out:
			d.c.started(r)
		default:
			return
		}
	}
}
