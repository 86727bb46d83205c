package forecast

import (
	"context"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// StateCount counts the included RPs of one source vault and resource
// type (the copy record's when it names another) in one copy state of
// StatusStates. As a key (scan.cells) the counts are zero.
type StateCount struct {
	Vault        string `json:"vault"`
	ResourceType string `json:"resource_type"`
	State        string `json:"state"`
	// RecoveryPoints and Bytes are what Status.States and BytesByState
	// count of this vault and type.
	RecoveryPoints int64 `json:"recovery_points"`
	Bytes          int64 `json:"bytes"`
}

// ReadCounts is ReadStatus with the counts by copy state broken down by
// source vault and resource type (sorted by vault, type, state), for a
// metrics scrape: they sum to Status.States. Like ReadStatus it reads
// the counters, or scans a state that keeps none (which a caller that
// asks often should cache).
func ReadCounts(ctx context.Context, st *state.Store, now time.Time) (*Status, []StateCount, error) {
	sc := newScan(false)
	sc.cells = map[StateCount]*[2]int64{}
	s, err := readStatus(ctx, st, now, sc)
	if err != nil {
		return nil, nil, err
	}
	out := make([]StateCount, 0, len(sc.cells))
	for k, m := range sc.cells {
		k.RecoveryPoints, k.Bytes = m[0], m[1]
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Vault != b.Vault {
			return a.Vault < b.Vault
		}
		if a.ResourceType != b.ResourceType {
			return a.ResourceType < b.ResourceType
		}
		return a.State < b.State
	})
	return s, out, nil
}

// cell adds n RPs of bytes to the breakdown, when one is asked for.
func (sc *scan) cell(vault, typ, st string, n, bytes int64) {
	if sc.cells == nil || n == 0 {
		return
	}
	k := StateCount{Vault: vault, ResourceType: typ, State: st}
	m := sc.cells[k]
	if m == nil {
		m = new([2]int64)
		sc.cells[k] = m
	}
	m[0] += n
	m[1] += bytes
}
