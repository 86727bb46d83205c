package engine

import (
	"context"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/plan"
)

// The Lua-facing side of the pipeline steps: the luabind.Host methods
// the script calls run the typed steps (session_steps.go) and turn
// their summaries into the tables docs/lua-api.md describes. This file
// is the one place the inventory, enrich and decide steps become Lua
// tables.

// Inventory lists the source (and destination vaults) into the state.
func (s *Session) Inventory(ctx context.Context) (map[string]any, error) {
	sum, err := s.inventory(ctx)
	if err != nil {
		return nil, err
	}
	return inventoryView(sum), nil
}

// Enrich joins the metadata CSV.
func (s *Session) Enrich(ctx context.Context) (map[string]any, error) {
	sum, err := s.enrich(ctx)
	if err != nil {
		return nil, err
	}
	return enrichView(sum), nil
}

// Decide runs the engine rules and the policies.
func (s *Session) Decide(ctx context.Context) (map[string]any, error) {
	sum, err := s.decide(ctx)
	if err != nil {
		return nil, err
	}
	return decideView(sum), nil
}

// inventoryView is the table shuffle.inventory() returns.
func inventoryView(s inventory.Summary) map[string]any {
	return map[string]any{
		"vaults": s.Vaults, "recovery_points": s.RecoveryPoints, "partitions": s.Partitions, "listed_pages": s.ListedPages,
		"new": s.New, "changed": s.Changed, "gone": s.Gone, "resumed": s.Resumed,
	}
}

// enrichView is the table shuffle.enrich() returns.
func enrichView(s plan.EnrichSummary) map[string]any {
	return map[string]any{
		"matched": s.Matched, "unmatched": s.Unmatched, "conflicts": s.Conflicts, "updated": s.Updated,
		"rows": s.Rows, "resources": s.Resources, "rows_without_rps": s.RowsWithoutRPs,
	}
}

// decideView is the table shuffle.decide() returns.
func decideView(s plan.DecideSummary) map[string]any {
	return map[string]any{
		"included": s.Included, "excluded": s.Excluded, "ineligible": s.Ineligible, "failed": s.Failed,
		"redecided": s.Redecided, "kept": s.Kept,
	}
}
