package replicate

import (
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// translate is the source access policy's statements for the
// destination: as the engine decided them (vp.Access: the default rules
// and vaults.lua's access_statement), else by the default rules.
func translate(vp *plan.VaultPlan, tr vaultpolicy.Translator) ([]vaultpolicy.Statement, []string) {
	if vp.Access == nil {
		return tr.Policy(vp.Source.AccessPolicy)
	}
	out := make([]vaultpolicy.Statement, len(vp.Access.Statements))
	for i, st := range vp.Access.Statements {
		out[i] = st
	}
	return out, vp.Access.Notes
}

// Proposal is a destination vault as replication would create it, for
// the compliance policy to judge before anything is created.
type Proposal struct {
	Name, Arn, VaultType string
	// EncryptionKeyArn is the resolved destination key ("" for the
	// destination's default key); EncryptionKeyType AWS's key type
	// ("" when it cannot be known before creation).
	EncryptionKeyArn, EncryptionKeyType string
	Locked                              bool
	LockDate                            *time.Time // a compliance lock's: when it becomes irreversible
	MinRetentionDays, MaxRetentionDays  *int64
	Tags                                map[string]string
	SNSTopicArn                         string
	Events                              []string
	AccessPolicy                        string // the policy the vault would get, copy statement included
	Notes                               []string
	// Reconciled: the vault exists and reconcile = true; the proposal
	// is the vault as reconciling it would leave it.
	Reconciled bool
}

// Propose is the vault replication would create for vp, or, for an
// existing vault with reconcile = true, the vault as reconciling it
// would leave it: false when there is none to judge (the mapping skips
// it, it exists without reconcile, or it has no destination key to be
// created with, which blocks it on its own). The lock is the one
// replication applies: governance always, compliance once confirmed (an
// unconfirmed one is blocked on its own: WaitComplianceLock), an
// air-gapped vault's from creation. Notifications are replicated only
// with a mapped topic.
func Propose(vp *plan.VaultPlan, opt Options) (Proposal, bool) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	switch {
	case vp.Mapping.Skip:
		return Proposal{}, false
	case vp.Dest != nil && vp.Mapping.Reconcile:
		return proposeReconciled(vp), true
	case vp.Dest != nil || keyProblem(vp) != "":
		return Proposal{}, false
	}
	w := wantFor(vp)
	r := &replicator{opt: opt}
	arn := r.destArn(vp.Source.Arn, vp.Mapping.Name)
	p := Proposal{Name: vp.Mapping.Name, Arn: arn, VaultType: w.vaultType, EncryptionKeyArn: w.keyArn, Tags: w.tags}
	switch {
	case w.keyArn != "":
		p.EncryptionKeyType = string(types.EncryptionKeyTypeCustomerManagedKmsKey)
	case isLAG(w.vaultType):
		p.EncryptionKeyType = string(types.EncryptionKeyTypeAwsOwnedKmsKey)
	}
	if w.lock != lockNone || isLAG(w.vaultType) {
		p.Locked, p.MinRetentionDays, p.MaxRetentionDays = true, w.min, w.max
		if w.lock == lockCompliance && !isLAG(w.vaultType) {
			d := opt.Now().Add(complianceChangeableForDays * 24 * time.Hour).UTC()
			p.LockDate = &d
		}
	}
	if len(w.events) > 0 && w.topic != "" {
		p.SNSTopicArn, p.Events = w.topic, w.events
	}
	tr := vaultpolicy.Translator{SourceAccount: opt.SourceAccount, DestinationAccount: opt.DestinationAccount, SourceVault: vp.Source.Arn, DestinationVault: arn}
	pol, notes := r.newPolicy(vp, tr)
	p.AccessPolicy, p.Notes = pol.String(), notes
	return p, true
}

// proposeReconciled is an existing vault as reconcile = true would leave
// it: its missing access-policy statements added, its tags set (never
// removed), a governance lock applied to an unlocked vault, the mapped
// notifications. Its type, key and any lock it has stay as they are.
func proposeReconciled(vp *plan.VaultPlan) Proposal {
	d, w := vp.Dest, wantFor(vp)
	p := Proposal{Name: d.Name, Arn: d.Arn, VaultType: vaultType(d), EncryptionKeyArn: d.EncryptionKeyArn, EncryptionKeyType: d.EncryptionKeyType,
		Locked: d.Locked, LockDate: d.LockDate, MinRetentionDays: d.MinRetentionDays, MaxRetentionDays: d.MaxRetentionDays,
		SNSTopicArn: d.SNSTopicArn, Events: d.Events, Tags: map[string]string{}, AccessPolicy: d.AccessPolicy, Reconciled: true}
	maps.Copy(p.Tags, d.Tags)
	maps.Copy(p.Tags, w.tags)
	if lockMode(d) == lockNone && w.lock == lockGovernance && !isLAG(d.VaultType) {
		p.Locked, p.MinRetentionDays, p.MaxRetentionDays = true, w.min, w.max
	}
	if len(w.events) > 0 && w.topic != "" {
		p.SNSTopicArn, p.Events = w.topic, w.events
	}
	c := checkVault(vp, w, d)
	if !c.policyUnreadable && len(c.missing) > 0 {
		merged := c.policy.Clone()
		merged.Statements = append(merged.Statements, c.missing...)
		p.AccessPolicy = merged.String()
	}
	p.Notes = c.notes
	return p
}
