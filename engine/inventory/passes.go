package inventory

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// note adds what one partition's listing did to its vault's record of
// this run.
func (r *inventoryRun) note(vault string, res state.PageResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.listed[vault]
	if t == nil {
		t = &state.PageResult{}
		r.listed[vault] = t
	}
	t.New += res.New
	t.Changed += res.Changed
	t.Unchanged += res.Unchanged
}

// partitionJob is one partition to list.
type partitionJob struct {
	v *state.Vault
	p *state.Partition
}

// openPartitions lays out (or reloads) every vault's partitions for its
// generation, or its delta cursor, and returns those not listed to
// their end yet.
func (inv *Inventory) openPartitions(vaults []*state.Vault, gen uint64, run *inventoryRun, sum *Summary) ([]partitionJob, error) {
	var todo []partitionJob
	for _, v := range vaults {
		has, err := inv.Store.HasRPs(v.Name)
		if err != nil {
			return nil, err
		}
		run.fresh[v.Name] = !has
		g := max(gen, v.Generation)
		run.vaultGen[v.Name] = g
		all, err := inv.Store.Partitions(v.Name)
		if err != nil {
			return nil, err
		}
		var parts []*state.Partition
		var delta *state.Partition
		for _, p := range all {
			if p.Delta {
				delta = p
			} else {
				parts = append(parts, p)
			}
		}
		if m := run.mode[v.Name]; m.delta {
			if delta == nil || delta.Done || delta.Generation != g {
				delta = &state.Partition{Vault: v.Name, ID: state.DeltaPartitionID, Delta: true, After: inv.deltaFrom(v).Unix(), Generation: g}
				if err := inv.Store.PutPartitions([]*state.Partition{delta}); err != nil {
					return nil, err
				}
			}
			sum.Partitions++
			sum.Deltas++
			inv.Progress.SetExpected(v.Name, 0)
			if !delta.Done {
				todo = append(todo, partitionJob{v, delta})
			}
			continue
		} else if v.InventoryDone != g {
			sum.Reconciled = append(sum.Reconciled, Reconciled{Vault: v.Name, Reason: m.reason})
		}
		inv.Progress.SetExpected(v.Name, v.NumberOfRecoveryPoints)
		if len(parts) == 0 || parts[0].Generation != g {
			parts = inv.layout(v, g)
			if err := inv.Store.PutPartitions(parts); err != nil {
				return nil, err
			}
		}
		sum.Partitions += len(parts)
		var seen int64
		for _, p := range parts {
			seen += p.Seen
			if !p.Done {
				todo = append(todo, partitionJob{v, p})
			}
		}
		inv.Progress.AddListed(v.Name, seen)
	}
	return todo, nil
}

// closeVault ends a vault's listing. After a full listing: a
// completeness check (listing the vault whole when its partitions fell
// short), then the RPs gone, and the vault's marks. After a delta: the
// marks, and the count check; again says the vault's count disagrees
// and it is now due a full listing (its generation bumped).
func (inv *Inventory) closeVault(ctx context.Context, v *state.Vault, run *inventoryRun, sum *Summary) (again bool, err error) {
	g := run.vaultGen[v.Name]
	if run.mode[v.Name].delta {
		return inv.closeDelta(v, run, g)
	}
	if v.InventoryDone == g {
		return false, nil
	}
	full, err := inv.completeVault(ctx, v, g, run, sum)
	if err != nil {
		return false, err
	}
	cur, _, err := inv.Store.GetVault(state.Source, v.Name)
	if err != nil {
		return false, err
	}
	now := inv.Now().UTC()
	// A vault with no RP when the run began has only RPs this
	// generation listed: none can be gone, so skip the scan.
	gone := 0
	if !run.fresh[v.Name] {
		if gone, err = inv.Store.MarkGone(v.Name, g, now, cur.Marks.ReconciledAt); err != nil {
			return false, err
		}
		sum.Gone += int64(gone)
	}
	live, err := inv.liveAfterFull(v, run, now)
	if err != nil {
		return false, err
	}
	m := &cur.Marks
	for _, p := range full {
		if hw := unixTime(p.HighWater); hw.After(m.HighWater) {
			m.HighWater = hw
		}
	}
	m.OpenFrom = oldestOpen(full)
	if FullReason(m.Reconcile) == FullCount {
		// The count asked for this listing: if it found nothing to
		// change, the count was wrong, not the state.
		listed := run.listed[v.Name]
		if gone == 0 && (listed == nil || listed.New+listed.Changed == 0) {
			m.CountUnreliable = true
		}
	}
	m.CountOffset = v.NumberOfRecoveryPoints - live
	m.ReconciledAt, m.Reconcile = now, ""
	if m.CoveredAt.Before(v.ListedAt) {
		m.CoveredAt = v.ListedAt
	}
	cur.InventoryDone = g
	return false, inv.Store.PutVault(cur)
}

// completeVault returns the vault's full-listing partitions of
// generation g, after listing the vault whole when they found fewer RPs
// than ListBackupVaults reported and none lists every type (some RPs are
// of a type not in ResourceTypes).
func (inv *Inventory) completeVault(ctx context.Context, v *state.Vault, g uint64, run *inventoryRun, sum *Summary) ([]*state.Partition, error) {
	parts, err := inv.Store.Partitions(v.Name)
	if err != nil {
		return nil, err
	}
	var seen int64
	catchAll := false
	var full []*state.Partition
	for _, p := range parts {
		if p.Delta {
			continue
		}
		full = append(full, p)
		seen += p.Seen
		catchAll = catchAll || p.ResourceType == ""
	}
	if catchAll || seen >= v.NumberOfRecoveryPoints {
		return full, nil
	}
	run.allDecided = false
	p := &state.Partition{Vault: v.Name, ID: state.PartitionID("", 0), Generation: g}
	if err := inv.Store.PutPartitions([]*state.Partition{p}); err != nil {
		return nil, err
	}
	n, res, err := inv.listPartition(ctx, v, p, state.PageOptions{})
	sum.ListedPages += n
	sum.New += int64(res.New)
	sum.Changed += int64(res.Changed)
	run.note(v.Name, res)
	return append(full, p), err
}

// liveAfterFull counts the vault's live RPs after its full listing (and
// keeps the count for the run's total): a vault with no RP when the run
// began holds exactly what this listing added, and needs no scan.
func (inv *Inventory) liveAfterFull(v *state.Vault, run *inventoryRun, now time.Time) (int64, error) {
	live := int64(0)
	if l := run.listed[v.Name]; run.fresh[v.Name] && l != nil {
		live = int64(l.New)
	} else {
		c, err := inv.Store.CountVault(v.Name, now, now)
		if err != nil {
			return 0, err
		}
		live = c.Live
	}
	run.live[v.Name] = live
	return live, nil
}

// closeDelta ends a vault's delta: it moves the vault's marks, and
// checks its count (countAgrees). A count that disagrees bumps the
// vault's generation, saved before the full listing that follows.
func (inv *Inventory) closeDelta(v *state.Vault, run *inventoryRun, g uint64) (bool, error) {
	parts, err := inv.Store.Partitions(v.Name)
	if err != nil {
		return false, err
	}
	var delta *state.Partition
	for _, p := range parts {
		if p.Delta && p.Generation == g && p.Done {
			delta = p
		}
	}
	cur, _, err := inv.Store.GetVault(state.Source, v.Name)
	if err != nil || delta == nil {
		return false, err
	}
	m := &cur.Marks
	if hw := unixTime(delta.HighWater); hw.After(m.HighWater) {
		m.HighWater = hw
	}
	// The delta listed every RP created since the oldest open one, so
	// it found every RP still open.
	m.OpenFrom = unixTime(delta.OpenFrom)
	m.DeltaAt, m.CoveredAt = inv.Now().UTC(), v.ListedAt
	again := false
	if !m.CountUnreliable {
		c, err := inv.Store.CountVault(v.Name, m.ReconciledAt, v.ListedAt)
		if err != nil {
			return false, err
		}
		run.live[v.Name] = c.Live
		if !countAgrees(v, c) {
			again = true
			cur.Generation = g + 1
			m.Reconcile = string(FullCount)
			v.Generation, v.Marks = cur.Generation, cur.Marks
			run.mode[v.Name] = vaultMode{reason: FullCount}
		}
	}
	if err := inv.Store.PutVault(cur); err != nil {
		return false, err
	}
	if again {
		v.InventoryDone = cur.InventoryDone
	}
	return again, nil
}

// oldestOpen is the earliest CreationDate of an RP the partitions
// listed in a status that is not final (zero: none).
func oldestOpen(parts []*state.Partition) time.Time {
	var min int64
	for _, p := range parts {
		if p.OpenFrom != 0 && (min == 0 || p.OpenFrom < min) {
			min = p.OpenFrom
		}
	}
	return unixTime(min)
}
