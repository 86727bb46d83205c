package copier

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Preview works out what Run would start, without calling AWS.
func (c *Copier) Preview(ctx context.Context) (Summary, error) {
	c.init()
	start := c.Now()
	open, _, err := c.loadRecords()
	if err != nil {
		return c.sum, err
	}
	if len(open) == 0 {
		// No job in flight, in retry or intended: nothing to schedule
		// around, so count instead of building the schedule (at a
		// million RPs that is hundreds of thousands of queue items).
		return c.sum, c.previewCount(ctx, start)
	}
	if err := c.loadRPs(ctx, open); err != nil {
		return c.sum, err
	}
	c.dirty = map[*state.CopyRecord]bool{} // nothing is written
	return c.sum, c.finishPreview(start)
}

// previewCount is Preview when no copy record is open: what loadRPs
// and countLeft would give, counted in one scan, or taken from
// c.Pending when the caller has it.
func (c *Copier) previewCount(ctx context.Context, start time.Time) error {
	var n, bytes int64
	add := func(vault string, count, size int64) {
		if t, ok := c.Targets[vault]; !ok || !t.Ready {
			c.countWaiting(vault, count)
			return
		}
		n += count
		bytes += size
	}
	if c.Pending != nil {
		for vault, p := range c.Pending {
			add(vault, p[0], p[1])
		}
	} else {
		err := c.Store.ScanRPs(func(rp *state.RP) error {
			if rp.Copy != state.CopyPending || rp.Decision == nil || rp.Decision.Outcome != state.Included {
				return nil // copied or copying (its record is final), or not included
			}
			add(rp.Vault, 1, rp.Size)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
	}
	c.sum.Queued = n
	c.Progress.SetCopyTotal(c.sum.Completed+c.sum.Failed+n, c.sum.Bytes+bytes)
	c.sum.Elapsed = c.Now().Sub(start)
	return nil
}

func (c *Copier) finishPreview(start time.Time) error {
	c.sum.Elapsed = c.Now().Sub(start)
	c.countLeft()
	return nil
}
