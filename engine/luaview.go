package engine

import (
	"context"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"log/slog"
)

// The Lua-facing side of the pipeline steps: the luabind.Host methods
// the script calls run the typed steps (session_steps.go,
// session_copy.go) and turn their summaries into the tables
// docs/lua-api.md describes. This file is the one place the steps'
// summaries become Lua tables.

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

// Replicate makes the destination vaults like for like.
func (s *Session) Replicate(ctx context.Context) (map[string]any, error) {
	sum, err := s.replicate(ctx)
	if err != nil {
		return nil, err
	}
	return replicateView(sum), nil
}

// Copy copies every included recovery point (a dry run only counts).
func (s *Session) Copy(ctx context.Context, args scriptconfig.CopyArgs) (map[string]any, error) {
	sum, err := s.copy(ctx, args)
	if err != nil {
		return nil, err
	}
	return copyView(sum), nil
}

// inventoryView is the table shuffle.inventory() returns.
func inventoryView(s inventory.Summary) map[string]any {
	return map[string]any{
		"vaults": s.Vaults, "recovery_points": s.RecoveryPoints, "partitions": s.Partitions, "listed_pages": s.ListedPages,
		"new": s.New, "changed": s.Changed, "gone": s.Gone, "resumed": s.Resumed,
		"deltas": s.Deltas, "reconciled": reconciledView(s.Reconciled),
	}
}

// reconciledView is the vaults listed whole, by name, with why.
func reconciledView(rs []inventory.Reconciled) map[string]any {
	out := make(map[string]any, len(rs))
	for _, r := range rs {
		out[r.Vault] = string(r.Reason)
	}
	return out
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

// replicateView is the table shuffle.replicate() returns.
func replicateView(s ReplicateSummary) map[string]any {
	return map[string]any{
		"created": s.Created, "exists": s.Exists, "drift": s.Drift, "reconciled": s.Reconciled,
		"skip": s.Skip, "blocked": s.Blocked, "creating": s.Creating, "dry_run": s.DryRun,
	}
}

// LogValue logs the replicate step's summary as the table the script
// sees, as the step's log line always has.
func (s ReplicateSummary) LogValue() slog.Value { return slog.AnyValue(replicateView(s)) }

// copyView is the table shuffle.copy() returns.
func copyView(sum copier.Summary) map[string]any {
	return map[string]any{
		"started": sum.Started, "completed_now": sum.CompletedNow, "bytes_now": sum.BytesNow,
		"completed": sum.Completed, "bytes": sum.Bytes, "failed": sum.Failed, "running": sum.Running,
		"retrying": sum.Retrying, "queued": sum.Queued, "waiting": sum.Waiting,
		"tagged": sum.Tagged, "tag_errors": sum.TagErrors, "stopped": string(sum.Stopped),
		"failed_by_reason": sum.FailedByReason, "waiting_by_vault": sum.WaitingByVault,
		"api_calls": sum.APICalls, "elapsed_seconds": sum.Elapsed.Seconds(),
		"adopted": sum.Adopt.Completed + sum.Adopt.Running, "adopted_running": sum.Adopt.Running,
		"held": sum.Adopt.Held, "held_by_reason": sum.Adopt.HeldByReason,
	}
}
