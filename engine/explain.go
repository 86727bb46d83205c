package engine

import (
	"context"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// EligibilityRules are the engine's rules in the order Ineligible checks
// them; the vault mapping's skip comes first. query.Explain walks them.
var EligibilityRules = []string{ruleVaultSkip, ruleGone, ruleStatus, ruleContinuous, ruleCold, ruleNotCopyable, ruleManagedKey, ruleRetention}

// Explain traces the stored decision of one RP through the engine's
// rules (query.Explain with EligibilityRules).
func Explain(ctx context.Context, st *state.Store, arn string) (*query.Explanation, error) {
	return query.Explain(ctx, st, arn, EligibilityRules)
}
