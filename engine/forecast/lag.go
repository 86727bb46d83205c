package forecast

import (
	"errors"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// DefaultLagAfter is the age past which an included RP not yet copied
// counts as lagging: a day, the period of most backup plans.
const DefaultLagAfter = 24 * time.Hour

// Lag is how far the migration is behind a live source: the included
// RPs created more than After ago that are not copied yet (queued,
// running, retrying, failed or held), by source vault, and the oldest
// of them. It comes from the counters, to the hour.
type Lag struct {
	After string `json:"after"` // the age threshold, e.g. "24h0m0s"
	// RecoveryPoints counts the lagging RPs.
	RecoveryPoints int64 `json:"recovery_points"`
	// Oldest is the creation hour of the oldest included RP not copied
	// (lagging or not); OldestAge its age when the status was read.
	Oldest    *time.Time `json:"oldest,omitempty"`
	OldestAge string     `json:"oldest_age,omitempty"`
	ByVault   []VaultLag `json:"by_vault"`
}

// VaultLag is one source vault's lag.
type VaultLag struct {
	Vault          string    `json:"vault"`
	RecoveryPoints int64     `json:"recovery_points"`
	Oldest         time.Time `json:"oldest"`
}

// ReadLag reads the lag from the state's counters (the time cube); it
// returns nil for a state that keeps none.
func ReadLag(st *state.Store, now time.Time, after time.Duration) (*Lag, error) {
	sum, err := st.Summary(state.CubeTime)
	if errors.Is(err, state.ErrNoSummary) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return lagFrom(sum, now, after), nil
}

// lagFrom is the lag from counters that hold the time cube.
func lagFrom(sum *state.Summary, now time.Time, after time.Duration) *Lag {
	cut := now.Add(-after).Unix() / 3600
	lag := &Lag{After: after.String(), ByVault: []VaultLag{}}
	byVault := map[string]*VaultLag{}
	var oldest int64 = -1
	for c, m := range sum.Cells {
		if c.Cube != state.CubeTime || c.Outcome != state.Included || c.Status == state.CopyCompleted || m.N == 0 {
			continue
		}
		if oldest < 0 || c.Hour < oldest {
			oldest = c.Hour
		}
		if c.Hour >= cut { // created within the threshold (to the hour)
			continue
		}
		v := byVault[c.Vault]
		if v == nil {
			v = &VaultLag{Vault: c.Vault, Oldest: hourTime(c.Hour)}
			byVault[c.Vault] = v
		}
		v.RecoveryPoints += m.N
		if h := hourTime(c.Hour); h.Before(v.Oldest) {
			v.Oldest = h
		}
		lag.RecoveryPoints += m.N
	}
	if oldest >= 0 {
		t := hourTime(oldest)
		lag.Oldest, lag.OldestAge = &t, HumanDuration(now.Sub(t))
	}
	for _, v := range byVault {
		lag.ByVault = append(lag.ByVault, *v)
	}
	sort.Slice(lag.ByVault, func(i, j int) bool { return lag.ByVault[i].Vault < lag.ByVault[j].Vault })
	return lag
}

func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }
