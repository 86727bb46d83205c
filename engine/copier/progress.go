package copier

import (
	"math"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// What the copier publishes for the UI (engine/progress): snapshots,
// the copy total, and the expected end of the jobs in flight.

// publish hands the UI a snapshot.
func (c *Copier) publish() {
	c.Progress.SetCopy(c.withTail(progress.CopySnapshot{
		InFlight: len(c.inflight) + c.pending, Cap: int(math.Floor(c.s.cap)), Started: c.sum.Started,
		Completed: c.sum.Completed, CompletedNow: c.sum.CompletedNow, Failed: c.sum.Failed, BytesNow: c.sum.BytesNow,
		Ready: c.s.readyCount(), Waiting: c.s.waiting.Len(), APICalls: c.Counts.Total(),
		BytesDone: c.sum.Bytes, MaxCap: int(math.Floor(c.s.maxCap)), Vaults: c.vaultSlots(),
	}))
}

// vaultSlots are each vault's jobs in flight and its cap (0: none known).
func (c *Copier) vaultSlots() []progress.VaultSlots {
	out := make([]progress.VaultSlots, 0, len(c.s.vaults))
	for _, v := range c.s.vaults {
		vs := progress.VaultSlots{Vault: v.name, InFlight: v.inflight}
		if !math.IsInf(v.cap, 1) {
			vs.Cap = int(math.Floor(v.cap))
		}
		out = append(out, vs)
	}
	return out
}

// count counts an event of it's copy for the metrics (progress.CountCopy).
func (c *Copier) count(ev progress.CopyEvent, it *copyItem, bytes int64) {
	c.Progress.CountCopy(ev, it.vault, it.typ, bytes)
}

// publishTotal sets the copy total from the schedule load built, and
// the RPs held for an awaited vault (copy_awaited.go).
func (c *Copier) publishTotal(chains map[string]*chain) {
	n, bytes := c.parkedTotal()
	for _, ch := range chains {
		n += int64(len(ch.items))
		for _, it := range ch.items {
			bytes += it.size
		}
	}
	c.Progress.SetCopyTotal(c.sum.Completed+c.sum.Failed+n, c.sum.Bytes+bytes)
}

// inFlightEnd is when the jobs in flight, and the RPs queued behind
// them on the same resource (one job per resource at a time), are
// expected to end: each job at its start (AWS's CreationDate, or the
// intent time before AWS answered) plus the duration the model predicts
// for its type and size, then each RP behind it for its own predicted
// duration. A job already past its prediction is expected to need half
// as long again as it has run so far (at least a second): a job that
// overruns is usually a large one, and the guess grows as it keeps
// running. Zero when nothing is in flight or the model has seen no job
// end.
func (c *Copier) inFlightEnd(now time.Time) (end time.Time, queued, overdue int) {
	for _, it := range c.inflight {
		if it.rec == nil {
			continue
		}
		start := it.rec.IntentAt
		if it.rec.StartedAt != nil {
			start = *it.rec.StartedAt
		}
		d, ok := c.model.Predict(it.typ, it.size)
		if !ok {
			return time.Time{}, 0, 0
		}
		e := start.Add(d)
		if !e.After(now) {
			overdue++
			e = now.Add(max(time.Second, now.Sub(start)/2))
		}
		if ch := it.chain; ch != nil && ch.head() == it {
			for _, next := range ch.items[ch.next+1:] {
				d, _ := c.model.Predict(next.typ, next.size)
				e = e.Add(d)
				queued++
			}
		}
		if e.After(end) {
			end = e
		}
	}
	return end, queued, overdue
}

// withTail adds the tail estimate to a snapshot when nothing is left to
// start now (so the work is bounded by what is in flight).
func (c *Copier) withTail(s progress.CopySnapshot) progress.CopySnapshot {
	if s.Ready == 0 && s.Waiting == 0 {
		s.InFlightEnd, s.InFlightQueued, s.InFlightOverdue = c.inFlightEnd(c.Now())
	}
	return s
}
