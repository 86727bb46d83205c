package query

import (
	"context"
	"fmt"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// ResetTarget is what reset{what=...} clears.
type ResetTarget string

// Reset targets.
const (
	ResetDecisions ResetTarget = "decisions"
	ResetInventory ResetTarget = "inventory"
)

// ResetPreview counts what a reset would change: decisions of RPs not
// yet queued or copied (the only ones a reset clears), and for an
// inventory reset the vaults listed again.
type ResetPreview struct {
	What      ResetTarget `json:"what"`
	Vault     string      `json:"vault,omitempty"`
	Decisions int64       `json:"decisions"` // decisions that would be cleared
	Kept      int64       `json:"kept"`      // RPs queued or copied: their decisions and copy records stay
	Vaults    []string    `json:"vaults,omitempty"`
}

// PreviewReset works out what Reset would change.
func PreviewReset(ctx context.Context, st *state.Store, what ResetTarget, vault string) (*ResetPreview, error) {
	switch what {
	case ResetDecisions, ResetInventory:
	default:
		return nil, fmt.Errorf("reset what=%q: use what=\"decisions\" or what=\"inventory\" (with vault=NAME for one vault)", what)
	}
	p := &ResetPreview{What: what, Vault: vault}
	if vault != "" {
		if _, ok, err := st.GetVault(state.Source, vault); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("vault %q is not in the state", vault)
		}
		p.Vaults = []string{vault}
	} else if what == ResetInventory {
		vs, err := st.Vaults(state.Source)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			p.Vaults = append(p.Vaults, v.Name)
		}
	}
	f := Filter{}
	if vault != "" {
		f.Vaults = []string{vault}
	}
	if what == ResetInventory && vault == "" {
		return p, nil // a new generation clears no decision
	}
	err := Query(ctx, st, f, func(r Row) error {
		switch {
		case r.RP.Copy != state.CopyPending:
			p.Kept++
		case r.RP.Decision != nil:
			p.Decisions++
		}
		return nil
	})
	return p, err
}

// Reset does what PreviewReset counted, like `shuffle reset`: decisions
// clears the decisions of RPs not yet queued or copied (of one vault,
// or all); inventory with a vault lists that vault again and clears its
// decisions, and without one starts a new inventory generation. Nothing
// that records a copy is removed.
func Reset(st *state.Store, what ResetTarget, vault string) (int, error) {
	switch what {
	case ResetDecisions:
		return st.ResetDecisions(vault)
	case ResetInventory:
		if vault == "" {
			_, err := st.NewGeneration()
			return 0, err
		}
		if err := st.ResetVaultInventory(vault); err != nil {
			return 0, err
		}
		return st.ResetDecisions(vault)
	}
	return 0, fmt.Errorf("reset what=%q: use decisions or inventory", what)
}
