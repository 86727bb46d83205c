package replicate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// existing compares an existing destination vault with its source and,
// where allowed, brings it in line: a vault shuffle created (its
// CreatorRequestId) gets the settings it lacks; with reconcile = true
// any vault gets its tags, governance lock, access-policy statements
// and notifications brought in line.
func (r *replicator) existing(ctx context.Context, j *replJob) error {
	vp, s, w := j.vp, j.s, j.want
	ours := j.dest.crid == j.crid
	s.Arn = j.dest.v.Arn
	if isLAG(j.dest.v.VaultType) && j.dest.v.VaultState != string(types.VaultStateAvailable) {
		if settled, err := r.unavailableLAG(ctx, j); settled {
			return err
		}
	}
	c := checkVault(vp, w, j.dest.v)
	s.Drift = c.drift
	j.notes = append(j.notes, c.notes...)
	if vp.Mapping.Reconcile && vp.Proposed.Blocks() {
		// Reconciling it would leave it failing the compliance policy:
		// it is not changed, and nothing is copied into it.
		s.Action = ActionBlocked
		s.setWait(WaitCompliance)
		j.note("%s", vp.Proposed.Reason(vp.Mapping.Name))
		return nil
	}

	if w.needsCompliance() && ours && !j.dest.v.Locked && !r.confirmed(vp) {
		// shuffle created it, and its compliance lock is still missing.
		s.Action = ActionBlocked
		s.setWait(WaitComplianceLock)
		j.note("%s", complianceBlockedReason(vp))
		return nil
	}
	steps, copyOK := r.accessSteps(ctx, j, c, ours)
	if !copyOK {
		s.setWait(WaitAccessPolicy)
		r.noteCopyRefused(j, c)
	}
	steps = append(steps, r.settingSteps(ctx, j, ours)...)
	if r.opt.DryRun {
		previewReconcile(j, c, steps, copyOK)
		return nil
	}
	return r.applySteps(ctx, j, steps, copyOK, ours)
}

// unavailableLAG handles an existing air-gapped vault that is not
// AVAILABLE: one still CREATING is deferred or waited for. settled is
// true when the vault's status is final (err is then the result).
func (r *replicator) unavailableLAG(ctx context.Context, j *replJob) (settled bool, err error) {
	vp, s := j.vp, j.s
	if j.dest.v.VaultState == string(types.VaultStateCreating) && !r.opt.DryRun && r.deferLAG {
		r.deferCreating(j, func(ctx context.Context) error { return r.existing(ctx, j) })
		return true, nil
	}
	if j.dest.v.VaultState == string(types.VaultStateCreating) && !r.opt.DryRun {
		st, err := r.waitAvailable(ctx, vp.Mapping.Name)
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if err != nil {
			r.block(j, "DescribeBackupVault", err)
			return true, nil
		}
		j.dest.v.VaultState = st
	}
	if j.dest.v.VaultState != string(types.VaultStateAvailable) {
		s.Action = ActionBlocked
		s.setWait(WaitCreating)
		j.note("the air-gapped vault is %s; copies can start only once it is AVAILABLE", orUnknown(j.dest.v.VaultState))
		if j.dest.v.VaultState == string(types.VaultStateFailed) {
			s.setWait(WaitCreateFailed)
			j.note("AWS failed to create it: delete it and run again")
		}
		return true, nil
	}
	return false, nil
}

// step is one write that brings an existing vault in line.
type step struct {
	op, label string
	do        func() error
}

// accessSteps decides whether an existing vault gets its missing tags
// and access-policy statements. copyOK says whether the source account
// may copy in once the steps are applied.
func (r *replicator) accessSteps(ctx context.Context, j *replJob, c vaultCheck, ours bool) (steps []step, copyOK bool) {
	vp := j.vp
	if vp.Mapping.Reconcile && len(c.tagsToSet) > 0 {
		tags := c.tagsToSet
		steps = append(steps, step{"TagResource", "tags " + strings.Join(slices.Sorted(maps.Keys(tags)), ", "), func() error {
			_, err := r.api.TagResource(ctx, &backup.TagResourceInput{ResourceArn: aws.String(j.dest.v.Arn), Tags: tags})
			return err
		}})
	}
	copyOK = c.copyAllowed
	if len(c.missing) > 0 && (vp.Mapping.Reconcile || (ours && c.policyAbsent)) {
		merged := c.policy.Clone()
		merged.Statements = append(merged.Statements, c.missing...)
		label := fmt.Sprintf("access policy: added %s", vaultpolicy.StatementList(c.missing))
		if merged.AllowsCopy(r.opt.SourceAccount, j.dest.v.Arn) {
			copyOK = true
		}
		steps = append(steps, step{"PutBackupVaultAccessPolicy", label, func() error { return r.putPolicy(ctx, vp.Mapping.Name, merged) }})
	}
	return steps, copyOK
}

// settingSteps decides whether an existing vault gets the source's
// notifications and lock, each where it is allowed; where not, it notes
// why.
func (r *replicator) settingSteps(ctx context.Context, j *replJob, ours bool) (steps []step) {
	vp, w := j.vp, j.want
	if lbl, ok := r.notifications(j, j.dest.v); ok {
		absent := j.dest.v.SNSTopicArn == ""
		if vp.Mapping.Reconcile || (ours && absent) {
			steps = append(steps, step{"PutBackupVaultNotifications", lbl, func() error { return r.putNotifications(ctx, vp.Mapping.Name, w) }})
		}
	}
	if st, ok := r.lockStep(ctx, j, ours); ok {
		steps = append(steps, st)
	}
	return steps
}

// lockStep decides whether an existing vault gets the source's lock:
// a governance lock where shuffle may apply it, a compliance lock only
// to an unlocked vault shuffle created (confirmed before). Where it
// does not, it notes why.
func (r *replicator) lockStep(ctx context.Context, j *replJob, ours bool) (step, bool) {
	vp, w, d := j.vp, j.want, j.dest.v
	if isLAG(w.vaultType) || isLAG(d.VaultType) {
		return step{}, false
	}
	put := step{"PutBackupVaultLockConfiguration", lockLabel(w), func() error { return r.putLock(ctx, vp.Mapping.Name, w) }}
	dm := lockMode(d)
	switch {
	case w.lock == lockGovernance && dm == lockNone && (ours || vp.Mapping.Reconcile),
		w.lock == lockGovernance && dm == lockGovernance && vp.Mapping.Reconcile && !sameRetention(d, w):
		return put, true
	case w.lock == lockCompliance && dm == lockNone && ours:
		// confirmed in existing
		return put, true
	case w.lock == lockCompliance && dm != lockCompliance:
		j.note("the source vault is compliance-locked and %s is not; shuffle applies a compliance lock only to an unlocked vault it created itself, never by reconcile: apply it by hand if it is wanted (put-backup-vault-lock-configuration with --changeable-for-days 3)", vp.Mapping.Name)
	case dm == lockCompliance && (w.lock != lockCompliance || !sameRetention(d, w)):
		j.note("the destination compliance lock differs from the source's and is left alone (shuffle never weakens or changes a compliance lock)")
	case w.lock == lockNone && dm != lockNone:
		j.note("the destination is locked and its source is not; the lock is left alone (shuffle never removes a lock)")
	case w.lock == lockGovernance && dm == lockGovernance && !sameRetention(d, w):
		// drift only; reconcile = true applies it
	}
	return step{}, false
}

// noteCopyRefused says why the source account may not copy into an
// existing vault, and what fixes it.
func (r *replicator) noteCopyRefused(j *replJob, c vaultCheck) {
	vp, acct := j.vp, r.opt.SourceAccount
	switch {
	case c.denied != "":
		j.note("%s", vaultpolicy.CopyDeniedReason(vp.Mapping.Name, c.denied, acct))
	case c.policyUnreadable:
		j.note("copies would fail with AccessDenied until the access policy of %s allows account %s backup:CopyIntoBackupVault", vp.Mapping.Name, acct)
	case c.copyClash:
		j.note("the access policy already has a statement %s that does not allow account %s backup:CopyIntoBackupVault; fix or remove it (shuffle does not replace statements); until then copies fail with AccessDenied", vaultpolicy.CopyStatementSid, acct)
	default:
		j.note("the access policy of %s does not allow account %s backup:CopyIntoBackupVault, so copies would fail with AccessDenied: set reconcile = true for this vault in policies/vaults.lua, or add the statement %s",
			vp.Mapping.Name, acct, vaultpolicy.CopyStatementJSON(acct, vaultpolicy.Partition(vp.Source.Arn)))
	}
}

// previewReconcile says, in a dry run, what reconciling an existing
// vault would apply.
func previewReconcile(j *replJob, c vaultCheck, steps []step, copyOK bool) {
	s := j.s
	for _, st := range steps {
		s.WouldApply = append(s.WouldApply, st.label)
	}
	s.Ready = c.copyAllowed
	s.Action = existingAction(len(steps) > 0, len(s.Drift) > 0, ActionWouldReconcile)
	if len(steps) > 0 && !c.copyAllowed && copyOK {
		j.note("not ready until the access policy is reconciled")
	}
}

// applySteps applies the steps in order, stopping at the first that
// fails, and saves the vault in the state when anything was written.
func (r *replicator) applySteps(ctx context.Context, j *replJob, steps []step, copyOK, ours bool) error {
	s := j.s
	for _, st := range steps {
		if err := st.do(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.block(j, st.op, err)
			if j.wrote {
				return r.persist(ctx, j)
			}
			return nil
		}
		j.wrote = true
		s.Applied = append(s.Applied, st.label)
	}
	s.Ready = copyOK
	if !copyOK {
		s.setWait(WaitAccessPolicy)
	}
	s.Action = existingAction(len(steps) > 0, len(s.Drift) > 0, ActionReconciled)
	if len(steps) > 0 && ours && !j.vp.Mapping.Reconcile {
		j.note("finished the setup of a vault shuffle created earlier")
	}
	if j.wrote {
		return r.persist(ctx, j)
	}
	return nil
}

// existingAction is the action for an existing vault: changed (when
// there were steps), drift, or exists.
func existingAction(changed, drift bool, changedAction VaultAction) VaultAction {
	switch {
	case changed:
		return changedAction
	case drift:
		return ActionDrift
	}
	return ActionExists
}
