package copier

import (
	"context"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Requeue: failed (or held) copies go back to the queue, into the live
// schedule while Run runs, else into the state for the next run.

type requeueReq struct {
	keys []state.CopyKey
	resp chan requeueRes
}

type requeueRes struct {
	n   int
	err error
}

// EnableRequeue lets Requeue hand failed copies to this copier while it
// runs. Call it before Run, and before sharing the copier.
func (c *Copier) EnableRequeue() {
	c.requeueCh = make(chan requeueReq)
	c.loopDone = make(chan struct{})
}

// Requeue moves failed copies back to the queue. While the dispatcher
// runs it does so itself, adding them to the live schedule so they start
// without a restart; once Run has returned (or when requeues were never
// enabled) it writes the state for the next run. It is safe to call from
// any goroutine.
func (c *Copier) Requeue(ctx context.Context, keys []state.CopyKey) (int, error) {
	if c.requeueCh != nil {
		req := requeueReq{keys: keys, resp: make(chan requeueRes, 1)}
		select {
		case c.requeueCh <- req:
			select {
			case r := <-req.resp:
				return r.n, r.err
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		case <-c.loopDone:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	moved, err := c.Store.RequeueCopies(keys, now())
	return len(moved), err
}

// requeue (the dispatcher goroutine) moves failed records back to retry,
// due now, and schedules them like load would.
func (c *Copier) requeue(keys []state.CopyKey) (int, error) {
	now := c.Now()
	n := 0
	for _, k := range keys {
		rec, ok, err := c.Store.GetCopy(k.Vault, k.Arn)
		if err != nil {
			return n, err
		}
		if !ok || (rec.State != state.CopyFailed && rec.State != state.CopyHeld) {
			continue
		}
		rp, ok, err := c.Store.GetRP(k.Vault, k.Arn)
		if err != nil {
			return n, err
		}
		if !ok {
			continue // an orphan record: nothing to copy it from
		}
		if c.Only != nil && !c.Only(rp.Arn) {
			continue // not in the approved plan the run follows
		}
		c.reopen(rec, now)
		n++
		c.reschedule(rp, rec, now)
		if c.Log != nil {
			c.Log.Info("copy requeued", "vault", rp.Vault, "rp", rp.Arn, "attempt", rec.Attempt)
		}
	}
	return n, c.flush(nil)
}

// reopen moves a failed or held record back to retry and takes it out
// of the summary's counts.
func (c *Copier) reopen(rec *state.CopyRecord, now time.Time) {
	fk, held := rec.FailureKey(), rec.State == state.CopyHeld
	rec.Requeue(now)
	c.dirty[rec] = true
	if held {
		c.releaseHeld(rec)
		return
	}
	c.sum.Failed--
	if c.sum.FailedByReason[fk]--; c.sum.FailedByReason[fk] <= 0 {
		delete(c.sum.FailedByReason, fk)
	}
}

// reschedule adds a requeued RP to its chain, or parks it until its
// vault is ready.
func (c *Copier) reschedule(rp *state.RP, rec *state.CopyRecord, now time.Time) {
	t, ok := c.Targets[rp.Vault]
	if !ok || !t.Ready {
		c.countWaiting(rp.Vault, 1) // started once its vault is ready
		c.park(rp, rec)
		return
	}
	destArn := t.Arn
	if rec.DestVaultArn != "" {
		destArn = rec.DestVaultArn
	}
	v, made := c.vaultFor(rp.Vault, destArn)
	if made {
		sort.Slice(c.s.vaults, func(i, j int) bool { return c.s.vaults[i].name < c.s.vaults[j].name })
	}
	it := newCopyItem(rp, rec, v)
	ch := c.chainFor(rp.ResourceArn)
	it.chain = ch
	ch.items = append(ch.items, it)
	ch.remaining += it.est
	ch.sortRest()
	if !ch.busy {
		c.s.park(ch, now)
	}
}
