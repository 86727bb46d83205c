package replicate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// want is what like-for-like replication gives a destination vault.
type want struct {
	vaultType string
	keyNamed  string // the destination key as the mapping named it
	keyArn    string // the key ARN it resolved to
	lock      lock
	min, max  *int64
	tags      map[string]string
	topic     string
	events    []string
}

func wantFor(vp *plan.VaultPlan) want {
	src := vp.Source
	w := want{vaultType: vaultType(src), keyNamed: vp.Mapping.EncryptionKey, keyArn: vp.Key.Arn, lock: lockMode(src),
		min: src.MinRetentionDays, max: src.MaxRetentionDays, tags: vp.Mapping.Tags, topic: vp.Mapping.SNSTopicArn, events: src.Events}
	if w.tags == nil {
		w.tags = src.Tags
	}
	if l := vp.Mapping.Lock; l != nil && w.lock == lockNone && !isLAG(w.vaultType) {
		// The security team's lock for a vault whose source has none
		// (vaults.lua lock): governance, with the mapping's bounds.
		w.lock, w.min, w.max = lockGovernance, l.MinRetentionDays, l.MaxRetentionDays
	}
	return w
}

func vaultType(v *state.Vault) string {
	if v.VaultType == "" {
		return string(types.VaultTypeBackupVault)
	}
	return v.VaultType
}

func isLAG(t string) bool { return t == string(types.VaultTypeLogicallyAirGappedBackupVault) }

// needsCompliance says whether creating the vault means applying a
// compliance lock (air-gapped vaults carry theirs from creation).
func (w want) needsCompliance() bool { return w.lock == lockCompliance && !isLAG(w.vaultType) }

func (r *replicator) confirmed(vp *plan.VaultPlan) bool {
	return r.opt.ConfirmComplianceLock || vp.Mapping.ComplianceLock
}

func complianceBlockedReason(vp *plan.VaultPlan) string {
	return fmt.Sprintf("source vault %s has a compliance lock (retention %s days); shuffle applies one (ChangeableForDays %d, irreversible afterwards) only when asked: run with --confirm-compliance-lock or set compliance_lock = true for this vault in policies/vaults.lua. Copying into a vault that should be compliance-locked but is not would defeat the lock, so the vault is not created and nothing is copied into it",
		vp.Source.Name, retention(vp.Source.MinRetentionDays, vp.Source.MaxRetentionDays), complianceChangeableForDays)
}

func retention(min, max *int64) string {
	switch {
	case min != nil && max == nil:
		return "at least " + strconv.FormatInt(*min, 10)
	case min == nil && max != nil:
		return "at most " + strconv.FormatInt(*max, 10)
	}
	f := func(p *int64) string {
		if p == nil {
			return "?"
		}
		return strconv.FormatInt(*p, 10)
	}
	return f(min) + "-" + f(max)
}

func sameRetention(d *state.Vault, w want) bool {
	return plan.Deref(d.MinRetentionDays) == plan.Deref(w.min) && plan.Deref(d.MaxRetentionDays) == plan.Deref(w.max)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func orUnknown(s string) string {
	if s == "" {
		return "in an unknown state"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(no topic)"
	}
	return s
}

func createLabel(w want) string {
	key := "the default key"
	if w.keyArn != "" {
		key = "key " + w.keyArn
		if w.keyNamed != w.keyArn {
			key = "key " + w.keyNamed + " = " + w.keyArn
		}
	} else if isLAG(w.vaultType) {
		key = "an AWS-owned key"
	}
	if isLAG(w.vaultType) {
		return fmt.Sprintf("air-gapped vault (%s), compliance lock with retention %s days set at creation", key, retention(w.min, w.max))
	}
	return "vault (" + key + ")"
}

func lockLabel(w want) string {
	switch {
	case w.lock == lockNone:
		return ""
	case isLAG(w.vaultType):
		return "air-gapped compliance lock " + retention(w.min, w.max) + " days (set at creation)"
	case w.lock == lockCompliance:
		return fmt.Sprintf("compliance lock %s days, changeable for %d days", retention(w.min, w.max), complianceChangeableForDays)
	default:
		return "governance lock " + retention(w.min, w.max) + " days"
	}
}

func policyLabel(p *vaultpolicy.Policy) string {
	return "access policy (" + vaultpolicy.StatementList(p.Statements) + ")"
}
