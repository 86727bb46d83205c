package engine

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Shims for callers of the pipeline code that moved to engine/inventory
// and engine/plan (issue 19). They go once the callers use the packages
// directly.

type (
	Inventory        = inventory.Inventory
	InventorySummary = inventory.Summary
	BackupReader     = inventory.BackupReader

	Aggregate           = plan.Aggregate
	BudgetStopKind      = plan.BudgetStopKind
	ConflictWarning     = plan.ConflictWarning
	Counts              = plan.Counts
	DecideSummary       = plan.DecideSummary
	Decider             = plan.Decider
	DestinationPlan     = plan.DestinationPlan
	DestinationSettings = plan.DestinationSettings
	EnrichSummary       = plan.EnrichSummary
	Lock                = plan.Lock
	Plan                = plan.Plan
	PolicyBudgetError   = plan.PolicyBudgetError
	TypeCounts          = plan.TypeCounts
	VaultPlan           = plan.VaultPlan
	VaultReport         = plan.VaultReport
	Warnings            = plan.Warnings
)

const (
	PlanSchema           = plan.PlanSchema
	StopAfterConsecutive = plan.StopAfterConsecutive
	StopAboveRate        = plan.StopAboveRate
	StopMinSample        = plan.StopMinSample
	StopConsecutive      = plan.StopConsecutive
	StopRate             = plan.StopRate

	ruleGone        = plan.RuleGone
	ruleStatus      = plan.RuleStatus
	ruleContinuous  = plan.RuleContinuous
	ruleCold        = plan.RuleCold
	ruleManagedKey  = plan.RuleManagedKey
	ruleNotCopyable = plan.RuleNotCopyable
	ruleRetention   = plan.RuleRetention
	ruleVaultSkip   = plan.RuleVaultSkip
)

var (
	FullyManagedTypes = plan.FullyManagedTypes
	NotCopyableTypes  = plan.NotCopyableTypes
)

func utcPtr(t *time.Time) *time.Time { return inventory.UTC(t) }
func isNotFound(err error) bool      { return inventory.IsNotFound(err) }
func deref(p *int64) int64           { return plan.Deref(p) }

// Wrappers of engine/plan's functions, with their old names.

func NewAggregate() *Aggregate              { return plan.NewAggregate() }
func IsContinuous(arn string) bool          { return plan.IsContinuous(arn) }
func RPInput(rp *state.RP) *luabind.RPInput { return plan.RPInput(rp) }
func Ineligible(rp *state.RP, lock *Lock, now time.Time) (rule, reason string, bad bool) {
	return plan.Ineligible(rp, lock, now)
}
func MapVaults(ctx context.Context, st *state.Store, w *luabind.Worker) (map[string]*VaultPlan, error) {
	return plan.MapVaults(ctx, st, w)
}
func RequireColumns(t *metadata.Table, p *luabind.Policies) error { return plan.RequireColumns(t, p) }
func Enrich(ctx context.Context, st *state.Store, t *metadata.Table, csvHash string) (EnrichSummary, error) {
	return plan.Enrich(ctx, st, t, csvHash)
}
func EnrichCounts(ctx context.Context, st *state.Store, t *metadata.Table) (EnrichSummary, error) {
	return plan.EnrichCounts(ctx, st, t)
}
func EnrichCached(st *state.Store, csvHash string) (EnrichSummary, bool, error) {
	return plan.EnrichCached(st, csvHash)
}
func PutEnrichCache(st *state.Store, csvHash string, sum EnrichSummary) error {
	return plan.PutEnrichCache(st, csvHash, sum)
}

// BuildPlan aggregates the state into a plan with one scan.
func BuildPlan(ctx context.Context, st *state.Store, plans map[string]*VaultPlan, table *metadata.Table, now time.Time) (*Plan, error) {
	return plan.BuildPlan(ctx, st, plans, PlanDestination, table, now)
}
