package inventory

import (
	"fmt"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// layout splits a vault into partitions for generation g.
func (inv *Inventory) layout(v *state.Vault, g uint64) []*state.Partition {
	if v.NumberOfRecoveryPoints <= inv.SplitAbove {
		return []*state.Partition{{Vault: v.Name, ID: state.PartitionID("", 0), Generation: g}}
	}
	var out []*state.Partition
	for _, t := range ResourceTypes {
		if v.NumberOfRecoveryPoints <= 10*inv.SplitAbove {
			out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, 0), ResourceType: t, Generation: g})
			continue
		}
		// Yearly ranges back ten years, plus everything older. Bounds
		// overlap by a second so that no RP on a boundary is missed,
		// whether AWS treats the bounds as strict or not; the overlap is
		// deduplicated by ARN.
		year := inv.Now().UTC().Year()
		var before int64
		for y := year; y > year-10; y-- {
			after := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, after), ResourceType: t, After: after - 1, Before: before, Generation: g})
			before = after + 1
		}
		out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, 1), ResourceType: t, Before: before, Generation: g})
	}
	return out
}

// mayExist tells SavePageWith which RPs of partition p it must look up.
// In a vault that had no RP when the run began, an RP can be in the
// state already only if another partition listed it: partitions of
// different types never share an RP, and partitions of one type share
// only the overlap at their date bounds (layout). Elsewhere every RP is
// looked up.
func mayExist(fresh bool, p *state.Partition) func(*state.RP) bool {
	switch {
	case !fresh:
		return nil
	case p.ResourceType == "" && p.After == 0 && p.Before == 0:
		// The vault's only partition being listed: a small vault's, or
		// the catch-all of a vault whose typed partitions found nothing.
		return func(*state.RP) bool { return false }
	case p.ResourceType == "":
		return nil
	}
	near := func(t time.Time, bound int64) bool {
		d := t.Unix() - bound
		return bound != 0 && d >= -2 && d <= 2
	}
	return func(rp *state.RP) bool {
		return rp.ResourceType != p.ResourceType || near(rp.CreationDate, p.After) || near(rp.CreationDate, p.Before)
	}
}

// partitionLabel names partition p in errors.
func partitionLabel(p *state.Partition) string {
	t := p.ResourceType
	if t == "" {
		t = "all types"
	}
	if p.After != 0 || p.Before != 0 {
		return fmt.Sprintf("%s, created %d..%d", t, p.After, p.Before)
	}
	return t
}
