package replicate

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// create makes a missing destination vault and applies its settings.
func (r *replicator) create(ctx context.Context, j *replJob) error {
	vp, s, w := j.vp, j.s, j.want
	if r.cannotCreate(j) {
		return nil
	}
	arn := r.destArn(vp.Source.Arn, vp.Mapping.Name)
	tr := vaultpolicy.Translator{SourceAccount: r.opt.SourceAccount, DestinationAccount: r.opt.DestinationAccount, SourceVault: vp.Source.Arn, DestinationVault: arn}
	pol, polNotes := r.newPolicy(vp, tr)
	if r.opt.DryRun {
		r.previewCreate(j, pol, polNotes, arn)
		return nil
	}

	tags, op, err := r.callCreate(ctx, j)
	var exists *types.AlreadyExistsException
	switch {
	case errors.As(err, &exists):
		// Created by someone else since it was read: treat it as existing.
		lv, rerr := r.read(ctx, vp.Mapping.Name)
		if rerr != nil || lv == nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.block(j, op, err)
			return nil
		}
		j.dest = lv
		j.note("the vault appeared while shuffle was creating it; it was compared as an existing vault")
		return r.existing(ctx, j)
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.block(j, op, err)
		return nil
	}
	j.wrote = true
	s.Action, s.Arn = ActionCreated, arn
	s.Applied = append(s.Applied, createLabel(w))
	if len(tags) > 0 {
		s.Applied = append(s.Applied, "tags "+strings.Join(slices.Sorted(maps.Keys(tags)), ", "))
	}
	if isLAG(w.vaultType) {
		return r.awaitCreatedLAG(ctx, j, pol, polNotes, arn)
	}
	return r.applyCreated(ctx, j, pol, polNotes, arn)
}

// cannotCreate blocks j when its vault may not or cannot be created: a
// compliance lock nobody confirmed, or an air-gapped source without
// retention bounds.
func (r *replicator) cannotCreate(j *replJob) bool {
	vp, s, w := j.vp, j.s, j.want
	switch {
	case w.needsCompliance() && !r.confirmed(vp):
		s.Action = ActionBlocked
		s.setWait(WaitComplianceLock)
		j.note("%s", complianceBlockedReason(vp))
		return true
	case isLAG(w.vaultType) && (w.min == nil || w.max == nil):
		s.Action = ActionBlocked
		s.setWait(WaitCreateFailed)
		j.note("source air-gapped vault %s reports no retention bounds; CreateLogicallyAirGappedBackupVault needs MinRetentionDays and MaxRetentionDays", vp.Source.Name)
		return true
	}
	return false
}

// previewCreate says, in a dry run, what creating j's vault would apply.
func (r *replicator) previewCreate(j *replJob, pol *vaultpolicy.Policy, polNotes []string, arn string) {
	s, w := j.s, j.want
	s.Action, s.Ready = ActionWouldCreate, false
	s.WouldApply = append(s.WouldApply, createLabel(w))
	if len(w.tags) > 0 {
		s.WouldApply = append(s.WouldApply, "tags "+strings.Join(slices.Sorted(maps.Keys(w.tags)), ", "))
	}
	s.WouldApply = append(s.WouldApply, policyLabel(pol))
	j.notes = append(j.notes, polNotes...)
	if lbl, ok := r.notifications(j, nil); ok {
		s.WouldApply = append(s.WouldApply, lbl)
	}
	if lbl := lockLabel(w); lbl != "" && !isLAG(w.vaultType) {
		s.WouldApply = append(s.WouldApply, lbl)
	}
	if !pol.AllowsCopy(r.opt.SourceAccount, arn) {
		s.setWait(WaitAccessPolicy)
		j.note("the translated source policy would deny backup:CopyIntoBackupVault to account %s", r.opt.SourceAccount)
	}
}

// callCreate calls CreateBackupVault or, for an air-gapped source,
// CreateLogicallyAirGappedBackupVault; op names the call made and tags
// are the tags it set.
func (r *replicator) callCreate(ctx context.Context, j *replJob) (tags map[string]string, op string, err error) {
	name, w := j.vp.Mapping.Name, j.want
	if len(w.tags) > 0 {
		tags = w.tags
	}
	if isLAG(w.vaultType) {
		_, err = r.api.CreateLogicallyAirGappedBackupVault(ctx, &backup.CreateLogicallyAirGappedBackupVaultInput{
			BackupVaultName: aws.String(name), BackupVaultTags: tags, CreatorRequestId: aws.String(j.crid),
			EncryptionKeyArn: optString(w.keyArn), MinRetentionDays: w.min, MaxRetentionDays: w.max,
		})
		return tags, "CreateLogicallyAirGappedBackupVault", err
	}
	_, err = r.api.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{
		BackupVaultName: aws.String(name), BackupVaultTags: tags, CreatorRequestId: aws.String(j.crid),
		EncryptionKeyArn: optString(w.keyArn),
	})
	return tags, "CreateBackupVault", err
}

// awaitCreatedLAG finishes an air-gapped vault just created: deferred to
// Pending.Watch, or waited for here until AVAILABLE.
func (r *replicator) awaitCreatedLAG(ctx context.Context, j *replJob, pol *vaultpolicy.Policy, polNotes []string, arn string) error {
	s := j.s
	if r.deferLAG {
		r.deferCreating(j, func(ctx context.Context) error { return r.applyCreated(ctx, j, pol, polNotes, arn) })
		return r.persist(ctx, j)
	}
	vs, err := r.waitAvailable(ctx, j.vp.Mapping.Name)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case err != nil:
		r.block(j, "DescribeBackupVault", err)
		return r.persist(ctx, j)
	case vs == string(types.VaultStateFailed):
		s.setWait(WaitCreateFailed)
		j.note("AWS failed to create the air-gapped vault (state FAILED): delete it and run again")
		return r.persist(ctx, j)
	case vs != string(types.VaultStateAvailable):
		s.setWait(WaitCreating)
		j.note("the air-gapped vault is %s after waiting %s; run again, and shuffle finishes its setup once it is AVAILABLE", orUnknown(vs), r.opt.PollTimeout)
		return r.persist(ctx, j)
	}
	return r.applyCreated(ctx, j, pol, polNotes, arn)
}

// applyCreated finishes a vault create made: its settings, then its
// state record.
func (r *replicator) applyCreated(ctx context.Context, j *replJob, pol *vaultpolicy.Policy, polNotes []string, arn string) error {
	ok := r.applyNew(ctx, j, pol, polNotes, arn)
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ok {
		j.s.Action = ActionBlocked
	}
	return r.persist(ctx, j)
}

// applyNew applies the access policy, notifications and lock to a vault
// shuffle has just created. It reports whether all went through.
func (r *replicator) applyNew(ctx context.Context, j *replJob, pol *vaultpolicy.Policy, polNotes []string, arn string) bool {
	vp, s, w := j.vp, j.s, j.want
	if err := r.putPolicy(ctx, vp.Mapping.Name, pol); err != nil {
		r.block(j, "PutBackupVaultAccessPolicy", err)
		return false
	}
	s.Applied = append(s.Applied, policyLabel(pol))
	j.notes = append(j.notes, polNotes...)
	allowed := pol.AllowsCopy(r.opt.SourceAccount, arn)
	if !allowed {
		j.note("the translated source policy denies backup:CopyIntoBackupVault to account %s; copies would fail with AccessDenied", r.opt.SourceAccount)
	}
	if lbl, ok := r.notifications(j, nil); ok {
		if err := r.putNotifications(ctx, vp.Mapping.Name, w); err != nil {
			r.block(j, "PutBackupVaultNotifications", err)
			return false
		}
		s.Applied = append(s.Applied, lbl)
	}
	if !isLAG(w.vaultType) && w.lock != lockNone {
		if err := r.putLock(ctx, vp.Mapping.Name, w); err != nil {
			r.block(j, "PutBackupVaultLockConfiguration", err)
			return false
		}
		s.Applied = append(s.Applied, lockLabel(w))
	}
	s.Ready = allowed
	if !allowed {
		s.setWait(WaitAccessPolicy)
	}
	return true
}

// newPolicy is the access policy of a vault shuffle creates: the copy
// statement plus the source policy's statements, translated.
func (r *replicator) newPolicy(vp *plan.VaultPlan, tr vaultpolicy.Translator) (*vaultpolicy.Policy, []string) {
	p := vaultpolicy.New()
	p.Statements = append(p.Statements, vaultpolicy.CopyStatement(r.opt.SourceAccount, vaultpolicy.Partition(vp.Source.Arn)))
	translated, notes := translate(vp, tr)
	p.Statements = append(p.Statements, translated...)
	return p, notes
}

// waitAvailable polls an air-gapped vault until it is AVAILABLE or
// FAILED, or until PollTimeout; it returns the last state seen.
func (r *replicator) waitAvailable(ctx context.Context, name string) (string, error) {
	deadline := time.Now().Add(r.opt.PollTimeout)
	for {
		d, err := r.api.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
		if err != nil {
			return "", err
		}
		st := string(d.VaultState)
		if st == string(types.VaultStateAvailable) || st == string(types.VaultStateFailed) || !time.Now().Before(deadline) {
			return st, nil
		}
		t := time.NewTimer(r.opt.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
}
