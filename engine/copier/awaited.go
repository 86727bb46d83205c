package copier

import (
	"container/heap"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/estimate"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The copier's side of vaults that become ready during a run: the RPs of an awaited vault are parked out of the
// schedule, counted as waiting, until the vault settles; then they join
// the schedule (ready) or stay waiting with the reason it gave.

// VaultUpdate is how an awaited vault settled: ready, or given up on for
// this run. The caller watches the vaults and sends them on
// Copier.VaultUpdates.
type VaultUpdate struct {
	Vault    string        // source vault name
	Target   Target        // where its copies go now; Ready says whether they may start
	DestName string        // the destination vault's name, for the log
	After    time.Duration // since the watch started
}

// parkedRP is an RP of an awaited vault, and its copy record when it has
// one (a retry).
type parkedRP struct {
	rp  state.RP
	rec *state.CopyRecord
}

// newCopyItem is the schedule item of rp, copied into v.
func newCopyItem(rp *state.RP, rec *state.CopyRecord, v *vaultSched) *copyItem {
	it := &copyItem{
		vault: rp.Vault, arn: rp.Arn, created: rp.CreationDate.UnixNano(), size: rp.Size, typ: rp.ResourceType,
		deleteAft: -1, coldAft: -1, est: estimate.Prior(rp.ResourceType, rp.Size), dest: v, rec: rec,
	}
	if rp.DeleteAfterDays != nil {
		it.deleteAft = *rp.DeleteAfterDays
	}
	if rp.DeleteAt != nil {
		it.expires = rp.DeleteAt.UnixNano()
	}
	if rp.Decision != nil {
		it.priority = rp.Decision.Priority
	}
	if rp.ColdAfterDays != nil {
		it.coldAft = *rp.ColdAfterDays
	}
	return it
}

// countWaiting counts n RPs of vault as waiting for their destination,
// with the vault's reason.
func (c *Copier) countWaiting(vault string, n int64) {
	reason, why := "no destination for this vault", WaitNoDestination
	if t, ok := c.Targets[vault]; ok {
		reason, why = t.Reason, t.Wait
	}
	if u, ok := c.settled[vault]; ok {
		reason, why = u.Target.Reason, u.Target.Wait
	}
	c.sum.Waiting += n
	c.sum.WaitingByVault[vault] += n
	c.sum.WaitingReasons[vault] = reason
	c.sum.WaitingWhy[vault] = why
}

// hold keeps rp for the same run when its vault is awaited.
func (c *Copier) park(rp *state.RP, rec *state.CopyRecord) {
	if t, ok := c.Targets[rp.Vault]; !ok || !t.Awaited || c.VaultUpdates == nil {
		return
	}
	if _, done := c.settled[rp.Vault]; done {
		return
	}
	c.parked[rp.Vault] = append(c.parked[rp.Vault], parkedRP{rp: *rp, rec: rec})
}

// vaultUpdate takes one settled vault from VaultUpdates (ok false: the
// channel is closed, and whatever is still parked waits for the next run).
func (c *Copier) vaultUpdate(u VaultUpdate, ok bool, now time.Time) {
	if !ok {
		c.VaultUpdates = nil
		for v := range c.parked {
			c.dropParked(v)
		}
		return
	}
	c.settled[u.Vault] = u
	log := c.logger()
	if !u.Target.Ready {
		c.dropParked(u.Vault)
		if n := c.sum.WaitingByVault[u.Vault]; n > 0 {
			c.sum.WaitingReasons[u.Vault], c.sum.WaitingWhy[u.Vault] = u.Target.Reason, u.Target.Wait
		}
		log.Warn("vault not ready", "source_vault", u.Vault, "destination_vault", u.DestName, "wait", string(u.Target.Wait), "reason", u.Target.Reason)
		return
	}
	n := c.releaseVault(u.Vault, u.Target, now)
	if c.sum.VaultsReady == nil {
		c.sum.VaultsReady = map[string]time.Duration{}
	}
	c.sum.VaultsReady[u.Vault] = u.After
	log.Info("vault ready", "source_vault", u.Vault, "destination_vault", u.DestName, "arn", u.Target.Arn,
		"after", u.After.Round(time.Millisecond).String(), "recovery_points", n)
}

// releaseVault moves the parked RPs of a vault that became ready into the
// schedule and returns how many.
func (c *Copier) releaseVault(vault string, t Target, now time.Time) int {
	parked := c.parked[vault]
	delete(c.parked, vault)
	if len(parked) == 0 {
		return 0
	}
	v, _ := c.vaultFor(vault, t.Arn)
	touched := map[*chain]bool{}
	for _, h := range parked {
		ch := c.chainFor(h.rp.ResourceArn)
		if !touched[ch] {
			// Out of the heaps before its order key changes.
			if ch.heapIdx >= 0 {
				heap.Remove(&ch.inVault.ready, ch.heapIdx)
			}
			if ch.waitIdx >= 0 {
				heap.Remove(&c.s.waiting, ch.waitIdx)
			}
			touched[ch] = true
		}
		it := newCopyItem(&h.rp, h.rec, v)
		it.chain = ch
		ch.items = append(ch.items, it)
		ch.remaining += it.est
	}
	for ch := range touched {
		ch.sortRest()
		if head := ch.head(); !ch.busy && head != nil && head.rec != nil && head.rec.State == state.CopyRetry && head.rec.NextAt != nil {
			ch.notBefore = *head.rec.NextAt
		}
		c.s.park(ch, now)
	}
	c.sum.Waiting -= int64(len(parked))
	if c.sum.WaitingByVault[vault] -= int64(len(parked)); c.sum.WaitingByVault[vault] <= 0 {
		delete(c.sum.WaitingByVault, vault)
		delete(c.sum.WaitingReasons, vault)
		delete(c.sum.WaitingWhy, vault)
	}
	return len(parked)
}

// parkedTotal counts the parked RPs and their bytes: they are in the copy
// total from the start, as the run means to copy them.
func (c *Copier) parkedTotal() (n, bytes int64) {
	for _, hs := range c.parked {
		n += int64(len(hs))
		for _, h := range hs {
			bytes += h.rp.Size
		}
	}
	return n, bytes
}

// dropParked lets go of a vault's parked RPs (it will not be ready in this
// run): they leave the copy total and stay counted as waiting.
func (c *Copier) dropParked(vault string) {
	var bytes int64
	for _, h := range c.parked[vault] {
		bytes += h.rp.Size
	}
	c.Progress.AddCopyTotal(-int64(len(c.parked[vault])), -bytes)
	delete(c.parked, vault)
}
