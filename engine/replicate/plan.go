package replicate

import (
	"fmt"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// The destination side of the plan report: what replication would do
// to each source vault's destination, with the same rules as
// Vaults (plan.Aggregate.Plan asks for it per vault).

// lock is a vault's lock as replication compares it; its values are
// the strings the plan report shows.
type lock string

const (
	lockNone       lock = "none"
	lockGovernance lock = "governance"
	lockCompliance lock = "compliance" // has a lock date: irreversible once it passes
)

// lockMode is v's lock.
func lockMode(v *state.Vault) lock {
	switch {
	case !v.Locked:
		return lockNone
	case v.LockDate != nil:
		return lockCompliance
	default:
		return lockGovernance
	}
}

// PlanDestination compares the destination vault (if any) with what
// like-for-like replication would create, with the same rules as
// Vaults.
func PlanDestination(vp *plan.VaultPlan) plan.DestinationPlan {
	src := vp.Source
	w := wantFor(vp)
	want := plan.DestinationSettings{
		VaultType: src.VaultType, EncryptionKey: vp.Mapping.EncryptionKey, EncryptionKeyArn: vp.Key.Arn, LockMode: string(w.lock),
		MinRetentionDays: w.min, MaxRetentionDays: w.max,
		SNSTopicArn: vp.Mapping.SNSTopicArn, Events: src.Events, Tags: w.tags, Lock: lockSummary(w),
	}
	dp := plan.DestinationPlan{Name: vp.Mapping.Name, Settings: want}
	switch {
	case vp.Mapping.Skip:
		dp.Action, dp.Reason = plan.DestinationSkip, vp.Mapping.Reason
		return dp
	case vp.Dest == nil:
		dp.Action = plan.DestinationCreate
		if p := keyProblem(vp); p != "" {
			dp.Blocking = append(dp.Blocking, p)
		}
		if vp.Proposed.Blocks() {
			dp.ComplianceBlocked = true
			dp.Blocking = append(dp.Blocking, vp.Proposed.Reason(vp.Mapping.Name))
		}
		if w.needsCompliance() && !vp.Mapping.ComplianceLock {
			dp.LockNeedsConfirmation = true
			dp.Blocking = append(dp.Blocking, complianceBlockedReason(vp))
		}
		tr := vaultpolicy.Translator{SourceAccount: vaultpolicy.Account(src.Arn), SourceVault: src.Arn}
		_, dp.Notes = translate(vp, tr)
	default:
		c := checkVault(vp, w, vp.Dest)
		dp.Drift, dp.Notes = c.drift, c.notes
		if !c.copyAllowed {
			dp.AccessPolicyMissing = true
			if c.denied != "" {
				dp.Blocking = append(dp.Blocking, vaultpolicy.CopyDeniedReason(vp.Dest.Name, c.denied, vaultpolicy.Account(src.Arn)))
			} else if !vp.Mapping.Reconcile || c.copyClash || c.policyUnreadable {
				dp.Blocking = append(dp.Blocking, fmt.Sprintf("the access policy of %s does not allow account %s backup:CopyIntoBackupVault, so copies would fail with AccessDenied: set reconcile = true for this vault in policies/vaults.lua, or add the statement %s",
					vp.Dest.Name, vaultpolicy.Account(src.Arn), vaultpolicy.CopyStatementJSON(vaultpolicy.Account(src.Arn), vaultpolicy.Partition(src.Arn))))
			}
		}
		if isLAG(vp.Dest.VaultType) && vp.Dest.VaultState != "" && vp.Dest.VaultState != "AVAILABLE" {
			dp.Blocking = append(dp.Blocking, "the air-gapped vault is "+vp.Dest.VaultState+"; copies can start only once it is AVAILABLE")
		}
		if vp.Mapping.Reconcile && vp.Proposed.Blocks() {
			dp.ComplianceBlocked = true
			dp.Blocking = append(dp.Blocking, vp.Proposed.Reason(vp.Mapping.Name))
		}
		dp.Action = plan.DestinationExists
		if len(dp.Drift) > 0 {
			dp.Action = plan.DestinationDrift
		}
	}
	if n := notificationsNote(vp); n != "" {
		dp.Notes = append(dp.Notes, n)
	}
	if vp.Key.Arn != "" && vp.Key.Problem != "" && dp.Action == plan.DestinationCreate {
		dp.Notes = append(dp.Notes, vp.Key.Problem)
	}
	return dp
}

// lockSummary describes the lock a destination vault gets.
func lockSummary(w want) string {
	switch {
	case isLAG(w.vaultType):
		return "air-gapped: compliance lock with retention " + retention(w.min, w.max) + " days, set at creation"
	case w.lock == lockCompliance:
		return fmt.Sprintf("compliance, retention %s days, ChangeableForDays %d (irreversible after that)", retention(w.min, w.max), complianceChangeableForDays)
	case w.lock == lockGovernance:
		return "governance, retention " + retention(w.min, w.max) + " days"
	}
	return "none"
}

func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
