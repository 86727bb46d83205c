package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// VaultWriter is the narrow destination-account API replication uses
// (the *backup.Client satisfies it).
type VaultWriter interface {
	DescribeBackupVault(ctx context.Context, in *backup.DescribeBackupVaultInput, opts ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error)
	CreateBackupVault(ctx context.Context, in *backup.CreateBackupVaultInput, opts ...func(*backup.Options)) (*backup.CreateBackupVaultOutput, error)
	CreateLogicallyAirGappedBackupVault(ctx context.Context, in *backup.CreateLogicallyAirGappedBackupVaultInput, opts ...func(*backup.Options)) (*backup.CreateLogicallyAirGappedBackupVaultOutput, error)
	GetBackupVaultAccessPolicy(ctx context.Context, in *backup.GetBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error)
	PutBackupVaultAccessPolicy(ctx context.Context, in *backup.PutBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.PutBackupVaultAccessPolicyOutput, error)
	GetBackupVaultNotifications(ctx context.Context, in *backup.GetBackupVaultNotificationsInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultNotificationsOutput, error)
	PutBackupVaultNotifications(ctx context.Context, in *backup.PutBackupVaultNotificationsInput, opts ...func(*backup.Options)) (*backup.PutBackupVaultNotificationsOutput, error)
	PutBackupVaultLockConfiguration(ctx context.Context, in *backup.PutBackupVaultLockConfigurationInput, opts ...func(*backup.Options)) (*backup.PutBackupVaultLockConfigurationOutput, error)
	ListTags(ctx context.Context, in *backup.ListTagsInput, opts ...func(*backup.Options)) (*backup.ListTagsOutput, error)
	TagResource(ctx context.Context, in *backup.TagResourceInput, opts ...func(*backup.Options)) (*backup.TagResourceOutput, error)
}

var _ VaultWriter = (*backup.Client)(nil)

// CopyStatementSid is the Sid of the access-policy statement that lets
// the source account copy into a destination vault.
const CopyStatementSid = "ShuffleCopyFromSourceAccount"

// complianceChangeableForDays is the grace time of a compliance lock
// shuffle applies: the least AWS accepts. Until it ends the lock can
// still be removed; after it, nobody can.
const complianceChangeableForDays = 3

// Actions of a DestinationStatus.
const (
	ActionCreated        = "created"         // created in this call
	ActionExists         = "exists"          // exists and matches its source
	ActionDrift          = "drift"           // exists, differs from its source, left alone
	ActionReconciled     = "reconciled"      // exists; settings were applied in this call
	ActionSkip           = "skip"            // the vault mapping skips the source vault
	ActionBlocked        = "blocked"         // nothing (more) could be done; see Reason
	ActionWouldCreate    = "would-create"    // dry run: would be created
	ActionWouldReconcile = "would-reconcile" // dry run: settings would be applied
)

// ReplicateOptions configure ReplicateVaults.
type ReplicateOptions struct {
	SourceAccount, DestinationAccount, Region string
	// ConfirmComplianceLock is the --confirm-compliance-lock flag: apply
	// compliance locks to the vaults shuffle creates, whatever the
	// mapping says.
	ConfirmComplianceLock bool
	// DryRun decides what would happen and calls nothing that writes.
	DryRun bool
	// PollInterval and PollTimeout bound the wait for a new logically
	// air-gapped vault to become AVAILABLE (defaults 2 s and 30 min).
	PollInterval time.Duration
	PollTimeout  time.Duration
	Now          func() time.Time
}

// DestinationStatus is what replication did (or would do) for one
// source vault.
type DestinationStatus struct {
	SourceVault string   `json:"source_vault"`
	Name        string   `json:"name"`             // destination vault name
	Arn         string   `json:"arn,omitempty"`    // destination vault ARN once it exists
	Ready       bool     `json:"ready"`            // copies may be started into it
	Action      string   `json:"action"`           // see the Action constants
	Reason      string   `json:"reason,omitempty"` // why not ready, or what was left undone
	Drift       []string `json:"drift,omitempty"`
	Applied     []string `json:"applied,omitempty"` // settings applied in this call
	// WouldApply lists what a dry run would apply.
	WouldApply []string `json:"would_apply,omitempty"`

	// Wait is why it is not ready ("" when it is).
	Wait WaitReason `json:"wait,omitempty"`
}

// ReplicateVaults makes sure every mapped destination vault exists with
// its source's settings (docs/vault-replication.md). It reads every
// destination vault first. A failure of one vault (an AWS error, a
// customer-managed source key with no destination key, an unconfirmed
// compliance lock) is recorded in its status and the others go on; the
// error is nil unless ctx ends. Every vault created or changed is
// saved in the state as a destination vault, so call MapVaults again
// to see it.
func ReplicateVaults(ctx context.Context, st *state.Store, plans map[string]*VaultPlan, api VaultWriter, opt ReplicateOptions) (map[string]*DestinationStatus, error) {
	out, _, err := replicateVaults(ctx, st, plans, api, opt, false)
	return out, err
}

func replicateVaults(ctx context.Context, st *state.Store, plans map[string]*VaultPlan, api VaultWriter, opt ReplicateOptions, deferLAG bool) (map[string]*DestinationStatus, *replicator, error) {
	if opt.SourceAccount == "" || opt.DestinationAccount == "" || opt.Region == "" {
		return nil, nil, errors.New("replicate vaults: the source account, the destination account and the region are required")
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 2 * time.Second
	}
	if opt.PollTimeout <= 0 {
		opt.PollTimeout = 30 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &replicator{st: st, api: api, opt: opt, deferLAG: deferLAG}

	names := slices.Sorted(maps.Keys(plans))
	out := make(map[string]*DestinationStatus, len(names))
	var jobs []*replJob
	for _, name := range names {
		vp := plans[name]
		s := &DestinationStatus{SourceVault: name, Name: vp.Mapping.Name}
		out[name] = s
		if vp.Mapping.Skip {
			s.Action, s.Reason, s.Wait = ActionSkip, vp.Mapping.Reason, WaitNoDestination
			if s.Reason == "" {
				s.Reason = "the vault mapping skips this vault"
			}
			continue
		}
		j := &replJob{vp: vp, s: s, want: wantFor(vp), crid: creatorRequestID(vp.Source.Arn, vp.Mapping.Name)}
		j.dest, j.readErr = r.read(ctx, vp.Mapping.Name)
		if err := ctx.Err(); err != nil {
			return out, r, err
		}
		if j.readErr == nil && j.dest == nil {
			j.keyProblem = unmappedKey(vp)
		}
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return out, r, err
		}
		if err := r.replicate(ctx, j); err != nil {
			return out, r, err
		}
		j.s.Reason = strings.Join(j.notes, "; ")
	}
	return out, r, ctx.Err()
}

// unmappedKey describes a source vault on a customer-managed key whose
// mapping names no destination key ("" when there is no problem).
func unmappedKey(vp *VaultPlan) string {
	if vp.Source.EncryptionKeyType != string(types.EncryptionKeyTypeCustomerManagedKmsKey) || vp.Mapping.EncryptionKeyArn != "" {
		return ""
	}
	return fmt.Sprintf("%s (destination %s): source key %s is customer-managed and has no destination key; map it in policies/vaults.lua M.keys ([%q] = \"<destination key ARN>\")",
		vp.Source.Name, vp.Mapping.Name, vp.Source.EncryptionKeyArn, vp.Source.EncryptionKeyArn)
}

// creatorRequestID is the CreateBackupVault idempotency id: the same
// source vault and destination name always give the same id, so a
// retried or repeated creation never makes a second vault, and shuffle
// recognizes the vaults it created.
func creatorRequestID(sourceArn, destName string) string {
	h := sha256.Sum256([]byte(sourceArn + "\x00" + destName))
	return "shuffle-" + hex.EncodeToString(h[:16])
}

type replicator struct {
	st  *state.Store
	api VaultWriter
	opt ReplicateOptions
	// deferLAG leaves an air-gapped vault that is CREATING in deferred
	// instead of waiting for it (ReplicateVaultsPending).
	deferLAG bool
	deferred []*deferredVault
}

type replJob struct {
	vp      *VaultPlan
	s       *DestinationStatus
	want    want
	crid    string
	dest    *liveVault // nil: the destination vault does not exist
	readErr error
	// keyProblem: the vault to create has no destination key for its
	// source's customer-managed key (unmappedKey).
	keyProblem string
	notes      []string // joined into s.Reason
	wrote      bool     // something was written for this vault
}

func (j *replJob) note(format string, args ...any) {
	j.notes = append(j.notes, fmt.Sprintf(format, args...))
}

// liveVault is a destination vault as read now.
type liveVault struct {
	v    *state.Vault
	crid string
}

// want is what like-for-like replication gives a destination vault.
type want struct {
	vaultType string
	keyArn    string
	lock      string // none, governance, compliance
	min, max  *int64
	tags      map[string]string
	topic     string
	events    []string
}

func wantFor(vp *VaultPlan) want {
	src := vp.Source
	w := want{vaultType: vaultType(src), keyArn: vp.Mapping.EncryptionKeyArn, lock: lockMode(src),
		min: src.MinRetentionDays, max: src.MaxRetentionDays, tags: vp.Mapping.Tags, topic: vp.Mapping.SNSTopicArn, events: src.Events}
	if w.tags == nil {
		w.tags = src.Tags
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
func (w want) needsCompliance() bool { return w.lock == "compliance" && !isLAG(w.vaultType) }

func (r *replicator) confirmed(vp *VaultPlan) bool {
	return r.opt.ConfirmComplianceLock || vp.Mapping.ComplianceLock
}

func complianceBlockedReason(vp *VaultPlan) string {
	return fmt.Sprintf("source vault %s has a compliance lock (retention %s days); shuffle applies one (ChangeableForDays %d, irreversible afterwards) only when asked: run with --confirm-compliance-lock or set compliance_lock = true for this vault in policies/vaults.lua. Copying into a vault that should be compliance-locked but is not would defeat the lock, so the vault is not created and nothing is copied into it",
		vp.Source.Name, retention(vp.Source.MinRetentionDays, vp.Source.MaxRetentionDays), complianceChangeableForDays)
}

func retention(min, max *int64) string {
	f := func(p *int64) string {
		if p == nil {
			return "?"
		}
		return strconv.FormatInt(*p, 10)
	}
	return f(min) + "-" + f(max)
}

// destArn is the ARN a destination vault named name has (or will have).
func (r *replicator) destArn(srcArn, name string) string {
	return "arn:" + arnPartition(srcArn) + ":backup:" + r.opt.Region + ":" + r.opt.DestinationAccount + ":backup-vault:" + name
}

func arnPartition(arn string) string {
	if f := strings.SplitN(arn, ":", 3); len(f) == 3 && f[0] == "arn" && f[1] != "" {
		return f[1]
	}
	return "aws"
}

func arnAccount(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 && f[0] == "arn" {
		return f[4]
	}
	return ""
}

// replicate handles one source vault. It returns an error only when ctx
// ends; AWS failures are recorded in the status.
func (r *replicator) replicate(ctx context.Context, j *replJob) error {
	if j.readErr != nil {
		r.block(j, "DescribeBackupVault", j.readErr)
		return ctx.Err()
	}
	if j.dest == nil && j.keyProblem != "" {
		// Only this vault waits for the key mapping; the others go on.
		j.s.Action = ActionBlocked
		j.s.setWait(WaitEncryptionKey)
		j.note("%s; nothing was created for it", j.keyProblem)
		return nil
	}
	if j.dest == nil {
		return r.create(ctx, j)
	}
	return r.existing(ctx, j)
}

// block records an AWS failure: the vault is not ready, and the reason
// names the AWS error and what to do.
func (r *replicator) block(j *replJob, op string, err error) {
	j.s.Action = ActionBlocked
	j.s.setWait(WaitAWSError)
	if strings.HasPrefix(op, "Create") {
		j.s.setWait(WaitCreateFailed)
	}
	msg := op + ": " + err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg = fmt.Sprintf("%s: %s: %s", op, ae.ErrorCode(), ae.ErrorMessage())
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			msg += fmt.Sprintf("; allow backup:%s on %s to the destination profile's role, then run again", op, r.destArn(j.vp.Source.Arn, j.vp.Mapping.Name))
		default:
			msg += "; fix the cause and run again"
		}
	} else {
		msg += "; run again"
	}
	if j.wrote || (j.dest != nil && j.dest.crid == j.crid) {
		msg += " (shuffle finishes the setup of a vault it created on the next run)"
	}
	j.note("%s", msg)
}

// read reads a destination vault with its settings; nil when it does
// not exist.
func (r *replicator) read(ctx context.Context, name string) (*liveVault, error) {
	v, crid, err := describeVault(ctx, r.api, state.Destination, name, r.opt.Now())
	if v == nil || err != nil {
		return nil, err
	}
	return &liveVault{v: v, crid: crid}, nil
}

// persist re-reads a vault shuffle wrote to and saves it in the state.
func (r *replicator) persist(ctx context.Context, j *replJob) error {
	lv, err := r.read(ctx, j.vp.Mapping.Name)
	if err != nil || lv == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.note("could not read the vault back to save it in the state (%v); the next inventory lists it", err)
		return nil
	}
	j.dest = lv
	j.s.Arn = lv.v.Arn
	if err := r.st.PutVault(lv.v); err != nil {
		return fmt.Errorf("save destination vault %s: %w", lv.v.Name, err)
	}
	return nil
}

// create makes a missing destination vault and applies its settings.
func (r *replicator) create(ctx context.Context, j *replJob) error {
	vp, s, w := j.vp, j.s, j.want
	if w.needsCompliance() && !r.confirmed(vp) {
		s.Action = ActionBlocked
		s.setWait(WaitComplianceLock)
		j.note("%s", complianceBlockedReason(vp))
		return nil
	}
	if isLAG(w.vaultType) && (w.min == nil || w.max == nil) {
		s.Action = ActionBlocked
		s.setWait(WaitCreateFailed)
		j.note("source air-gapped vault %s reports no retention bounds; CreateLogicallyAirGappedBackupVault needs MinRetentionDays and MaxRetentionDays", vp.Source.Name)
		return nil
	}
	arn := r.destArn(vp.Source.Arn, vp.Mapping.Name)
	tr := translator{srcAcct: r.opt.SourceAccount, dstAcct: r.opt.DestinationAccount, srcVault: vp.Source.Arn, dstVault: arn}
	pol, polNotes := r.newPolicy(vp, tr)
	if r.opt.DryRun {
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
		if !pol.allowsCopy(r.opt.SourceAccount, arn) {
			s.setWait(WaitAccessPolicy)
			j.note("the translated source policy would deny backup:CopyIntoBackupVault to account %s", r.opt.SourceAccount)
		}
		return nil
	}

	var tags map[string]string
	if len(w.tags) > 0 {
		tags = w.tags
	}
	var err error
	op := "CreateBackupVault"
	if isLAG(w.vaultType) {
		op = "CreateLogicallyAirGappedBackupVault"
		_, err = r.api.CreateLogicallyAirGappedBackupVault(ctx, &backup.CreateLogicallyAirGappedBackupVaultInput{
			BackupVaultName: aws.String(vp.Mapping.Name), BackupVaultTags: tags, CreatorRequestId: aws.String(j.crid),
			EncryptionKeyArn: optString(w.keyArn), MinRetentionDays: w.min, MaxRetentionDays: w.max,
		})
	} else {
		_, err = r.api.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{
			BackupVaultName: aws.String(vp.Mapping.Name), BackupVaultTags: tags, CreatorRequestId: aws.String(j.crid),
			EncryptionKeyArn: optString(w.keyArn),
		})
	}
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
		if r.deferLAG {
			r.deferCreating(j, func(ctx context.Context) error { return r.applyCreated(ctx, j, pol, polNotes, arn) })
			return r.persist(ctx, j)
		}
		vs, err := r.waitAvailable(ctx, vp.Mapping.Name)
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
	}
	return r.applyCreated(ctx, j, pol, polNotes, arn)
}

// applyCreated finishes a vault create made: its settings, then its
// state record.
func (r *replicator) applyCreated(ctx context.Context, j *replJob, pol *vaultPolicy, polNotes []string, arn string) error {
	ok := r.applyNew(ctx, j, pol, polNotes, arn)
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ok {
		j.s.Action = ActionBlocked
	}
	return r.persist(ctx, j)
}

func orUnknown(s string) string {
	if s == "" {
		return "in an unknown state"
	}
	return s
}

// applyNew applies the access policy, notifications and lock to a vault
// shuffle has just created. It reports whether all went through.
func (r *replicator) applyNew(ctx context.Context, j *replJob, pol *vaultPolicy, polNotes []string, arn string) bool {
	vp, s, w := j.vp, j.s, j.want
	if err := r.putPolicy(ctx, vp.Mapping.Name, pol); err != nil {
		r.block(j, "PutBackupVaultAccessPolicy", err)
		return false
	}
	s.Applied = append(s.Applied, policyLabel(pol))
	j.notes = append(j.notes, polNotes...)
	allowed := pol.allowsCopy(r.opt.SourceAccount, arn)
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
	if !isLAG(w.vaultType) && w.lock != "none" {
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

// notifications says whether notifications are to be put (with their
// label); it notes why not when the source has some that cannot be
// replicated. cur is the destination's current setting (nil: none).
func (r *replicator) notifications(j *replJob, cur *state.Vault) (string, bool) {
	w := j.want
	if len(w.events) == 0 {
		return "", false
	}
	if w.topic == "" {
		j.note("%s", notificationsNote(j.vp))
		return "", false
	}
	if cur != nil && cur.SNSTopicArn == w.topic && sameSet(cur.Events, w.events) {
		return "", false
	}
	return "notifications to " + w.topic + " (" + strings.Join(w.events, ", ") + ")", true
}

// notificationsNote says why a source vault's notifications are not
// replicated ("" when they are, or when it has none).
func notificationsNote(vp *VaultPlan) string {
	if len(vp.Source.Events) == 0 || vp.Mapping.SNSTopicArn != "" {
		return ""
	}
	return fmt.Sprintf("notifications not replicated: the source vault sends %s to %s, and policies/vaults.lua maps no sns_topic_arn for it (an SNS topic belongs to one account)",
		strings.Join(vp.Source.Events, ", "), orNone(vp.Source.SNSTopicArn))
}

func orNone(s string) string {
	if s == "" {
		return "(no topic)"
	}
	return s
}

func (r *replicator) putPolicy(ctx context.Context, name string, p *vaultPolicy) error {
	_, err := r.api.PutBackupVaultAccessPolicy(ctx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name), Policy: aws.String(p.String())})
	return err
}

func (r *replicator) putNotifications(ctx context.Context, name string, w want) error {
	ev := make([]types.BackupVaultEvent, len(w.events))
	for i, e := range w.events {
		ev[i] = types.BackupVaultEvent(e)
	}
	_, err := r.api.PutBackupVaultNotifications(ctx, &backup.PutBackupVaultNotificationsInput{BackupVaultName: aws.String(name), SNSTopicArn: aws.String(w.topic), BackupVaultEvents: ev})
	return err
}

// putLock applies the source's lock: governance (no ChangeableForDays)
// or compliance (ChangeableForDays 3).
func (r *replicator) putLock(ctx context.Context, name string, w want) error {
	in := &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String(name), MinRetentionDays: w.min, MaxRetentionDays: w.max}
	if w.lock == "compliance" {
		in.ChangeableForDays = aws.Int64(complianceChangeableForDays)
	}
	_, err := r.api.PutBackupVaultLockConfiguration(ctx, in)
	return err
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

// newPolicy is the access policy of a vault shuffle creates: the copy
// statement plus the source policy's statements, translated.
func (r *replicator) newPolicy(vp *VaultPlan, tr translator) (*vaultPolicy, []string) {
	p := &vaultPolicy{top: map[string]any{"Version": "2012-10-17"}}
	p.stmts = append(p.stmts, copyStatement(r.opt.SourceAccount, arnPartition(vp.Source.Arn)))
	translated, notes := tr.policy(vp.Source.AccessPolicy)
	p.stmts = append(p.stmts, translated...)
	return p, notes
}

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
		if j.dest.v.VaultState == string(types.VaultStateCreating) && !r.opt.DryRun && r.deferLAG {
			r.deferCreating(j, func(ctx context.Context) error { return r.existing(ctx, j) })
			return nil
		}
		if j.dest.v.VaultState == string(types.VaultStateCreating) && !r.opt.DryRun {
			st, err := r.waitAvailable(ctx, vp.Mapping.Name)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				r.block(j, "DescribeBackupVault", err)
				return nil
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
			return nil
		}
	}
	c := checkVault(vp, w, j.dest.v)
	s.Drift = c.drift
	j.notes = append(j.notes, c.notes...)

	// Decide what to apply.
	type step struct {
		op, label string
		do        func() error
	}
	var steps []step
	if w.needsCompliance() && ours && !j.dest.v.Locked {
		// shuffle created it, and its compliance lock is still missing.
		if !r.confirmed(vp) {
			s.Action = ActionBlocked
			s.setWait(WaitComplianceLock)
			j.note("%s", complianceBlockedReason(vp))
			return nil
		}
	}
	if vp.Mapping.Reconcile && len(c.tagsToSet) > 0 {
		tags := c.tagsToSet
		steps = append(steps, step{"TagResource", "tags " + strings.Join(slices.Sorted(maps.Keys(tags)), ", "), func() error {
			_, err := r.api.TagResource(ctx, &backup.TagResourceInput{ResourceArn: aws.String(j.dest.v.Arn), Tags: tags})
			return err
		}})
	}
	copyOK := c.copyAllowed
	if len(c.missing) > 0 && (vp.Mapping.Reconcile || (ours && c.policyAbsent)) {
		merged := c.policy.clone()
		merged.stmts = append(merged.stmts, c.missing...)
		label := fmt.Sprintf("access policy: added %s", statementList(c.missing))
		if merged.allowsCopy(r.opt.SourceAccount, j.dest.v.Arn) {
			copyOK = true
		}
		steps = append(steps, step{"PutBackupVaultAccessPolicy", label, func() error { return r.putPolicy(ctx, vp.Mapping.Name, merged) }})
	}
	if !copyOK {
		s.setWait(WaitAccessPolicy)
		switch {
		case c.denied != "":
			j.note("%s", copyDeniedReason(vp.Mapping.Name, c.denied, r.opt.SourceAccount))
		case c.policyUnreadable:
			j.note("copies would fail with AccessDenied until the access policy of %s allows account %s backup:CopyIntoBackupVault", vp.Mapping.Name, r.opt.SourceAccount)
		case c.copyClash:
			j.note("the access policy already has a statement %s that does not allow account %s backup:CopyIntoBackupVault; fix or remove it (shuffle does not replace statements); until then copies fail with AccessDenied", CopyStatementSid, r.opt.SourceAccount)
		default:
			j.note("the access policy of %s does not allow account %s backup:CopyIntoBackupVault, so copies would fail with AccessDenied: set reconcile = true for this vault in policies/vaults.lua, or add the statement %s",
				vp.Mapping.Name, r.opt.SourceAccount, copyStatementJSON(r.opt.SourceAccount, arnPartition(vp.Source.Arn)))
		}
	}
	if lbl, ok := r.notifications(j, j.dest.v); ok {
		absent := j.dest.v.SNSTopicArn == ""
		if vp.Mapping.Reconcile || (ours && absent) {
			steps = append(steps, step{"PutBackupVaultNotifications", lbl, func() error { return r.putNotifications(ctx, vp.Mapping.Name, w) }})
		}
	}
	d := j.dest.v
	if !isLAG(w.vaultType) && !isLAG(d.VaultType) {
		dm := lockMode(d)
		switch {
		case w.lock == "governance" && dm == "none" && (ours || vp.Mapping.Reconcile),
			w.lock == "governance" && dm == "governance" && vp.Mapping.Reconcile && !sameRetention(d, w):
			steps = append(steps, step{"PutBackupVaultLockConfiguration", lockLabel(w), func() error { return r.putLock(ctx, vp.Mapping.Name, w) }})
		case w.lock == "compliance" && dm == "none" && ours:
			// confirmed above
			steps = append(steps, step{"PutBackupVaultLockConfiguration", lockLabel(w), func() error { return r.putLock(ctx, vp.Mapping.Name, w) }})
		case w.lock == "compliance" && dm != "compliance":
			j.note("the source vault is compliance-locked and %s is not; shuffle applies a compliance lock only to an unlocked vault it created itself, never by reconcile: apply it by hand if it is wanted (put-backup-vault-lock-configuration with --changeable-for-days 3)", vp.Mapping.Name)
		case dm == "compliance" && (w.lock != "compliance" || !sameRetention(d, w)):
			j.note("the destination compliance lock differs from the source's and is left alone (shuffle never weakens or changes a compliance lock)")
		case w.lock == "none" && dm != "none":
			j.note("the destination is locked and its source is not; the lock is left alone (shuffle never removes a lock)")
		case w.lock == "governance" && dm == "governance" && !sameRetention(d, w):
			// drift only; reconcile = true applies it
		}
	}

	if r.opt.DryRun {
		for _, st := range steps {
			s.WouldApply = append(s.WouldApply, st.label)
		}
		s.Ready = c.copyAllowed
		switch {
		case len(steps) > 0:
			s.Action = ActionWouldReconcile
		case len(s.Drift) > 0:
			s.Action = ActionDrift
		default:
			s.Action = ActionExists
		}
		if len(steps) > 0 && !c.copyAllowed && copyOK {
			j.note("not ready until the access policy is reconciled")
		}
		return nil
	}
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
	switch {
	case len(steps) > 0:
		s.Action = ActionReconciled
		if ours && !vp.Mapping.Reconcile {
			j.note("finished the setup of a vault shuffle created earlier")
		}
	case len(s.Drift) > 0:
		s.Action = ActionDrift
	default:
		s.Action = ActionExists
	}
	if j.wrote {
		return r.persist(ctx, j)
	}
	return nil
}

func sameRetention(d *state.Vault, w want) bool {
	return deref(d.MinRetentionDays) == deref(w.min) && deref(d.MaxRetentionDays) == deref(w.max)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func createLabel(w want) string {
	key := "the default key"
	if w.keyArn != "" {
		key = "key " + w.keyArn
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
	case w.lock == "none":
		return ""
	case isLAG(w.vaultType):
		return "air-gapped compliance lock " + retention(w.min, w.max) + " days (set at creation)"
	case w.lock == "compliance":
		return fmt.Sprintf("compliance lock %s days, changeable for %d days", retention(w.min, w.max), complianceChangeableForDays)
	default:
		return "governance lock " + retention(w.min, w.max) + " days"
	}
}

func policyLabel(p *vaultPolicy) string {
	return "access policy (" + statementList(p.stmts) + ")"
}

// statementList names statements by Sid (or position).
func statementList(stmts []map[string]any) string {
	names := make([]string, len(stmts))
	for i, st := range stmts {
		names[i] = statementName(st, i)
	}
	return strings.Join(names, ", ")
}

func statementName(st map[string]any, i int) string {
	if sid, _ := st["Sid"].(string); sid != "" {
		return sid
	}
	return "statement " + strconv.Itoa(i+1)
}

// ---- comparing an existing destination vault ----

// vaultCheck is how an existing destination vault compares with what
// like-for-like replication wants.
type vaultCheck struct {
	drift            []string
	notes            []string
	policy           *vaultPolicy     // the destination's policy (empty when it has none)
	copyAllowed      bool             // the policy allows the source account CopyIntoBackupVault
	copyClash        bool             // a statement with CopyStatementSid exists but does not allow it
	denied           string           // the statement that explicitly denies it ("" when none)
	policyAbsent     bool             // the destination has no access policy at all
	policyUnreadable bool             // the destination's access policy does not parse
	missing          []map[string]any // statements to add: the copy statement, translated source statements
	tagsToSet        map[string]string
}

// checkVault compares destination vault d with what replication wants
// for vp. Accounts and ARNs come from the vaults' own ARNs.
func checkVault(vp *VaultPlan, w want, d *state.Vault) vaultCheck {
	var c vaultCheck
	if vaultType(d) != w.vaultType {
		c.drift = append(c.drift, "vault type "+d.VaultType+", source "+w.vaultType)
	}
	if lockMode(d) != w.lock {
		c.drift = append(c.drift, "lock "+lockMode(d)+", source "+w.lock)
	}
	if !sameRetention(d, w) {
		c.drift = append(c.drift, "lock retention differs from the source")
	}
	if !sameTags(d.Tags, w.tags) {
		c.drift = append(c.drift, "tags differ from the source")
		c.tagsToSet = map[string]string{}
		var extra []string
		for k, v := range w.tags {
			if dv, ok := d.Tags[k]; !ok || dv != v {
				c.tagsToSet[k] = v
			}
		}
		for k := range d.Tags {
			if _, ok := w.tags[k]; !ok {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			c.notes = append(c.notes, "tag keys the source lacks are left on the destination (shuffle never untags): "+strings.Join(extra, ", "))
		}
	}

	srcAcct, dstAcct := arnAccount(vp.Source.Arn), arnAccount(d.Arn)
	pol, err := parseVaultPolicy(d.AccessPolicy)
	if err != nil {
		c.notes = append(c.notes, "the destination access policy cannot be read ("+err.Error()+"); it is left alone")
		c.policy, c.policyUnreadable = &vaultPolicy{top: map[string]any{"Version": "2012-10-17"}}, true
		c.drift = append(c.drift, "access policy does not allow account "+srcAcct+" backup:CopyIntoBackupVault")
		return c
	}
	c.policy = pol
	c.policyAbsent = len(pol.stmts) == 0
	c.copyAllowed = pol.allowsCopy(srcAcct, d.Arn)
	c.denied = pol.deniesCopy(srcAcct, d.Arn)
	have := map[string]bool{}
	sids := map[string]string{}
	for _, st := range pol.stmts {
		have[canonical(st)] = true
		if sid, _ := st["Sid"].(string); sid != "" {
			sids[sid] = canonical(st)
		}
	}
	if !c.copyAllowed {
		c.drift = append(c.drift, "access policy does not allow account "+srcAcct+" backup:CopyIntoBackupVault")
		if _, clash := sids[CopyStatementSid]; clash {
			c.copyClash = true
		} else {
			c.missing = append(c.missing, copyStatement(srcAcct, arnPartition(vp.Source.Arn)))
		}
	}
	tr := translator{srcAcct: srcAcct, dstAcct: dstAcct, srcVault: vp.Source.Arn, dstVault: d.Arn}
	translated, notes := tr.policy(vp.Source.AccessPolicy)
	c.notes = append(c.notes, notes...)
	var lacking []string
	for i, st := range translated {
		if have[canonical(st)] {
			continue
		}
		name := statementName(st, i)
		if sid, _ := st["Sid"].(string); sid != "" && sids[sid] != "" {
			c.notes = append(c.notes, "the destination access policy has its own statement "+sid+", which differs from the source's; it is left alone")
			lacking = append(lacking, name)
			continue
		}
		lacking = append(lacking, name)
		c.missing = append(c.missing, st)
	}
	if len(lacking) > 0 {
		c.drift = append(c.drift, "access policy lacks statements of the source vault's policy: "+strings.Join(lacking, ", "))
	}

	if len(w.events) > 0 && w.topic != "" && (d.SNSTopicArn != w.topic || !sameSet(d.Events, w.events)) {
		c.drift = append(c.drift, "notifications differ from the source (want "+w.topic+": "+strings.Join(w.events, ", ")+")")
	}
	return c
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

// ---- access policies ----

// vaultPolicy is a parsed backup vault access policy. Statements keep
// every element as decoded (numbers as json.Number), so what shuffle
// does not rewrite is written back as it was.
type vaultPolicy struct {
	top   map[string]any // every element but Statement
	stmts []map[string]any
}

func parseVaultPolicy(s string) (*vaultPolicy, error) {
	p := &vaultPolicy{top: map[string]any{"Version": "2012-10-17"}}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	switch st := top["Statement"].(type) {
	case nil:
	case map[string]any:
		p.stmts = []map[string]any{st}
	case []any:
		for i, x := range st {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("statement %d is not an object", i+1)
			}
			p.stmts = append(p.stmts, m)
		}
	default:
		return nil, errors.New("Statement is neither an object nor a list")
	}
	delete(top, "Statement")
	p.top = top
	return p, nil
}

func (p *vaultPolicy) clone() *vaultPolicy {
	return &vaultPolicy{top: maps.Clone(p.top), stmts: slices.Clone(p.stmts)}
}

// String renders the policy as JSON.
func (p *vaultPolicy) String() string {
	top := maps.Clone(p.top)
	if top == nil {
		top = map[string]any{}
	}
	if top["Version"] == nil {
		top["Version"] = "2012-10-17"
	}
	st := make([]any, len(p.stmts))
	for i, s := range p.stmts {
		st[i] = s
	}
	top["Statement"] = st
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(top) // maps of strings, lists and json.Number always encode
	return strings.TrimSpace(b.String())
}

// allowsCopy reports whether the policy lets account acct copy into the
// vault vaultArn: an Allow of backup:CopyIntoBackupVault to the account
// (its id, its root or "*") and no Deny of it. Statements with a
// Condition or NotAction/NotResource/NotPrincipal are not counted either
// way, since shuffle cannot evaluate them.
func (p *vaultPolicy) allowsCopy(acct, vaultArn string) bool {
	allowed := false
	for _, st := range p.stmts {
		if !copyApplies(st, acct, vaultArn) {
			continue
		}
		switch st["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func copyApplies(st map[string]any, acct, vaultArn string) bool {
	for _, k := range []string{"Condition", "NotAction", "NotResource", "NotPrincipal"} {
		if _, ok := st[k]; ok {
			return false
		}
	}
	if !anyGlob(strs(st["Action"]), "backup:CopyIntoBackupVault", true) || !anyGlob(strs(st["Resource"]), vaultArn, false) {
		return false
	}
	switch pr := st["Principal"].(type) {
	case string:
		return pr == "*"
	case map[string]any:
		for typ, v := range pr {
			if !strings.EqualFold(typ, "AWS") {
				continue
			}
			for _, s := range strs(v) {
				if s == "*" || s == acct {
					return true
				}
				if f := strings.SplitN(s, ":", 6); len(f) == 6 && f[0] == "arn" && f[2] == "iam" && f[4] == acct && f[5] == "root" {
					return true
				}
			}
		}
	}
	return false
}

// strs reads a policy element that is a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if glob(p, s, fold) {
			return true
		}
	}
	return false
}

// glob matches IAM wildcards: * is any run of characters, ? one.
func glob(p, s string, fold bool) bool {
	if fold {
		p, s = strings.ToLower(p), strings.ToLower(s)
	}
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:], false) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

func copyStatement(srcAcct, partition string) map[string]any {
	return map[string]any{
		"Sid": CopyStatementSid, "Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:" + partition + ":iam::" + srcAcct + ":root"},
		"Action":    "backup:CopyIntoBackupVault", "Resource": "*",
	}
}

func copyStatementJSON(srcAcct, partition string) string {
	b, _ := json.Marshal(copyStatement(srcAcct, partition))
	return string(b)
}

// canonical renders a statement for comparison: one-element lists as
// their element, string lists sorted.
func canonical(st map[string]any) string {
	b, _ := json.Marshal(normalize(st))
	return string(b)
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(x) == 1 {
			return normalize(x[0])
		}
		out := make([]any, len(x))
		allStr := true
		for i, e := range x {
			out[i] = normalize(e)
			_, ok := out[i].(string)
			allStr = allStr && ok
		}
		if allStr {
			sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
		}
		return out
	}
	return v
}

// translator moves a source vault policy's statements to the
// destination vault.
type translator struct {
	srcAcct, dstAcct   string
	srcVault, dstVault string // vault ARNs
}

// policy translates every statement of a source vault policy. Notes say
// which statements were dropped, and why, and which principals were
// rewritten.
func (t translator) policy(src string) ([]map[string]any, []string) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	p, err := parseVaultPolicy(src)
	if err != nil {
		return nil, []string{"the source access policy cannot be read (" + err.Error() + "); none of its statements were replicated"}
	}
	var out []map[string]any
	var notes, rewritten []string
	for i, st := range p.stmts {
		if sid, _ := st["Sid"].(string); sid == CopyStatementSid {
			continue // shuffle adds its own
		}
		ts, rw, why := t.statement(st)
		if why != "" {
			notes = append(notes, "source access-policy statement "+statementName(st, i)+" not replicated: "+why)
			continue
		}
		rewritten = append(rewritten, rw...)
		out = append(out, ts)
	}
	if len(rewritten) > 0 {
		sort.Strings(rewritten)
		rewritten = slices.Compact(rewritten)
		to := "account " + t.dstAcct
		if t.dstAcct == "" {
			to = "the destination account"
		}
		notes = append(notes, "access-policy principals in account "+t.srcAcct+" are rewritten to "+to+
			" (this assumes same-named principals exist there): "+strings.Join(rewritten, ", "))
	}
	return out, notes
}

// statement translates one statement; why is set when it cannot be.
func (t translator) statement(st map[string]any) (out map[string]any, rewritten []string, why string) {
	out = deepCopy(st).(map[string]any)
	if c, ok := out["Condition"]; ok && mentions(c, t.srcAcct) {
		return nil, nil, "its Condition names the source account " + t.srcAcct + ", whose meaning on the destination shuffle cannot know"
	}
	for _, k := range []string{"Resource", "NotResource"} {
		v, ok := out[k]
		if !ok {
			continue
		}
		nv, bad := mapStrings(v, func(s string) (string, bool) { return t.resource(s) })
		if bad != "" {
			return nil, nil, "its " + k + " " + bad + " names something that does not exist in the destination account"
		}
		out[k] = nv
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		v, ok := out[k]
		if !ok {
			continue
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			continue // "*"
		}
		for typ, vals := range m {
			nv, _ := mapStrings(vals, func(s string) (string, bool) {
				n := t.principal(s)
				if n != s {
					rewritten = append(rewritten, s)
				}
				return n, true
			})
			m[typ] = nv
		}
	}
	return out, rewritten, ""
}

// resource maps a Resource value to the destination.
func (t translator) resource(r string) (string, bool) {
	if r == "*" {
		return r, true
	}
	f := strings.SplitN(r, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return r, false
	}
	if f[4] != t.srcAcct {
		// Another account: only a pattern over accounts still means
		// something on the destination vault.
		return r, strings.Contains(f[4], "*")
	}
	res := f[5]
	switch {
	case r == t.srcVault:
		return t.dstVault, true
	case strings.HasPrefix(res, "backup-vault:") && glob(r, t.srcVault, false):
		return t.dstVault, true
	case res == "*" || res == "recovery-point:*":
		f[4] = t.dstAcct
		return strings.Join(f, ":"), true
	}
	return r, false
}

// principal rewrites a principal in the source account to the
// destination account.
func (t translator) principal(p string) string {
	if p == t.srcAcct {
		return t.dstAcct
	}
	if f := strings.SplitN(p, ":", 6); len(f) == 6 && f[0] == "arn" && f[4] == t.srcAcct {
		f[4] = t.dstAcct
		return strings.Join(f, ":")
	}
	return p
}

// mapStrings applies fn to a string or each string of a list; bad is
// the first value fn refused.
func mapStrings(v any, fn func(string) (string, bool)) (any, string) {
	switch x := v.(type) {
	case string:
		n, ok := fn(x)
		if !ok {
			return v, x
		}
		return n, ""
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			s, isStr := e.(string)
			if !isStr {
				out[i] = e
				continue
			}
			n, ok := fn(s)
			if !ok {
				return v, s
			}
			out[i] = n
		}
		return out, ""
	}
	return v, ""
}

// mentions reports whether any string in v contains s.
func mentions(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, s) || mentions(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
