package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// FullyManagedTypes are re-encrypted with the destination vault's key on
// copy, so their source key does not matter (AWS Backup "fully managed"
// resource types; ../shared/domain/aws-backup-facts.md §3).
var FullyManagedTypes = map[string]bool{
	"S3": true, "EFS": true, "DynamoDB": true, "VirtualMachine": true, "Timestream": true, "SAP HANA on Amazon EC2": true,
}

// NotCopyableTypes cannot be copied to another account at all.
var NotCopyableTypes = map[string]bool{"Redshift": true}

// Lock is the vault lock a copy must satisfy.
type Lock struct {
	Min, Max *int64
}

// eligibility rule names, recorded as "engine:<name>".
const (
	RuleGone        = "gone"
	RuleStatus      = "status"
	RuleContinuous  = "continuous"
	RuleCold        = "cold-storage"
	RuleManagedKey  = "aws-managed-key"
	RuleNotCopyable = "type-not-copyable"
	RuleRetention   = "retention-vs-lock"
	RuleVaultSkip   = "vault-skipped"
)

// IsContinuous tells a continuous (PITR) recovery point by its ARN; the
// list API has no field for it.
func IsContinuous(arn string) bool { return strings.Contains(arn, ":recovery-point:continuous:") }

// Ineligible returns the engine rule that forbids copying rp, if any.
// These hold whatever the policies say. keys answers who manages the
// RP's KMS key where its EncryptionKeyType does not settle it (nil: KMS
// was not asked, every answer is unknown).
func Ineligible(rp *state.RP, lock *Lock, now time.Time, keys KeyManagers) (rule, reason string, bad bool) {
	switch {
	case rp.Gone:
		return RuleGone, "no longer listed in the source vault", true
	case rp.Status != "COMPLETED":
		return RuleStatus, fmt.Sprintf("status is %s, not COMPLETED", rp.Status), true
	case IsContinuous(rp.Arn):
		return RuleContinuous, "continuous (PITR) backups cannot be copied on demand", true
	case rp.MoveToColdAt != nil && !rp.MoveToColdAt.After(now):
		return RuleCold, "in cold storage; cold and archive tiers cannot be copied", true
	case NotCopyableTypes[rp.ResourceType]:
		return RuleNotCopyable, fmt.Sprintf("resource type %s cannot be copied to another account", rp.ResourceType), true
	}
	if reason, bad := managedKey(rp, keys); bad {
		return RuleManagedKey, reason, true
	}
	if lock != nil {
		days := rp.DeleteAfterDays
		if days != nil && *days < 0 {
			days = nil
		}
		switch {
		case lock.Min != nil && days != nil && *days < *lock.Min:
			return RuleRetention, fmt.Sprintf("retention of %d days is below the destination vault lock minimum of %d days", *days, *lock.Min), true
		case lock.Max != nil && days == nil:
			return RuleRetention, fmt.Sprintf("kept indefinitely, above the destination vault lock maximum of %d days", *lock.Max), true
		case lock.Max != nil && *days > *lock.Max:
			return RuleRetention, fmt.Sprintf("retention of %d days is above the destination vault lock maximum of %d days", *days, *lock.Max), true
		}
	}
	return "", "", false
}

// EligibilityRules are the rules in the order Ineligible checks them;
// the vault mapping's skip comes first. query.Explain walks them to
// trace a decision.
var EligibilityRules = []string{RuleVaultSkip, RuleGone, RuleStatus, RuleContinuous, RuleCold, RuleNotCopyable, RuleManagedKey, RuleRetention}
