package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
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

// complianceChangeableForDays is the grace time of a compliance lock
// shuffle applies: the least AWS accepts. Until it ends the lock can
// still be removed; after it, nobody can.
const complianceChangeableForDays = 3

// VaultAction is what replication did (or would do) to one destination
// vault: DestinationStatus.Action. Its values are the JSON and Lua
// strings; code compares the constants.
type VaultAction string

// Actions of a DestinationStatus.
const (
	ActionCreated        VaultAction = "created"         // created in this call
	ActionExists         VaultAction = "exists"          // exists and matches its source
	ActionDrift          VaultAction = "drift"           // exists, differs from its source, left alone
	ActionReconciled     VaultAction = "reconciled"      // exists; settings were applied in this call
	ActionSkip           VaultAction = "skip"            // the vault mapping skips the source vault
	ActionBlocked        VaultAction = "blocked"         // nothing (more) could be done; see Reason
	ActionWouldCreate    VaultAction = "would-create"    // dry run: would be created
	ActionWouldReconcile VaultAction = "would-reconcile" // dry run: settings would be applied
)

// Options configure Vaults.
type Options struct {
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
	SourceVault string      `json:"source_vault"`
	Name        string      `json:"name"`             // destination vault name
	Arn         string      `json:"arn,omitempty"`    // destination vault ARN once it exists
	Ready       bool        `json:"ready"`            // copies may be started into it
	Action      VaultAction `json:"action"`           // see the Action constants
	Reason      string      `json:"reason,omitempty"` // why not ready, or what was left undone
	Drift       []string    `json:"drift,omitempty"`
	Applied     []string    `json:"applied,omitempty"` // settings applied in this call
	// WouldApply lists what a dry run would apply.
	WouldApply []string `json:"would_apply,omitempty"`

	// Wait is why it is not ready ("" when it is).
	Wait WaitReason `json:"wait,omitempty"`
}

// Vaults makes sure every mapped destination vault exists with
// its source's settings (docs/vault-replication.md). It reads every
// destination vault first. A failure of one vault (an AWS error, a
// customer-managed source key with no destination key, an unconfirmed
// compliance lock) is recorded in its status and the others go on; the
// error is nil unless ctx ends. Every vault created or changed is
// saved in the state as a destination vault, so call MapVaults again
// to see it.
func Vaults(ctx context.Context, st *state.Store, plans map[string]*plan.VaultPlan, api VaultWriter, opt Options) (map[string]*DestinationStatus, error) {
	out, _, err := run(ctx, st, plans, api, opt, false)
	return out, err
}

func run(ctx context.Context, st *state.Store, plans map[string]*plan.VaultPlan, api VaultWriter, opt Options, deferLAG bool) (map[string]*DestinationStatus, *replicator, error) {
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
			j.keyProblem = keyProblem(vp)
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
	opt Options
	// deferLAG leaves an air-gapped vault that is CREATING in deferred
	// instead of waiting for it (VaultsPending).
	deferLAG bool
	deferred []*deferredVault
}

type replJob struct {
	vp      *plan.VaultPlan
	s       *DestinationStatus
	want    want
	crid    string
	dest    *liveVault // nil: the destination vault does not exist
	readErr error
	// keyProblem: the vault to create has no destination key it may be
	// created with (keyProblem).
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

// destArn is the ARN a destination vault named name has (or will have).
func (r *replicator) destArn(srcArn, name string) string {
	return "arn:" + vaultpolicy.Partition(srcArn) + ":backup:" + r.opt.Region + ":" + r.opt.DestinationAccount + ":backup-vault:" + name
}

// replicate handles one source vault. It returns an error only when ctx
// ends; AWS failures are recorded in the status.
func (r *replicator) replicate(ctx context.Context, j *replJob) error {
	if j.readErr != nil {
		r.block(j, "DescribeBackupVault", j.readErr)
		return ctx.Err()
	}
	if j.dest == nil && j.vp.Proposed.Blocks() {
		// The vault as it would be created fails the compliance policy:
		// it is not created, and only its recovery points wait.
		j.s.Action = ActionBlocked
		j.s.setWait(WaitCompliance)
		j.note("%s", j.vp.Proposed.Reason(j.vp.Mapping.Name))
		return nil
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
	if c := awsclient.Classify(err); c.Code != "" {
		msg = fmt.Sprintf("%s: %s: %s", op, c.Code, c.Message)
		if c.Denied() {
			msg += fmt.Sprintf("; allow backup:%s on %s to the destination profile's role, then run again", op, r.destArn(j.vp.Source.Arn, j.vp.Mapping.Name))
		} else {
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
	v, crid, err := inventory.DescribeVault(ctx, r.api, state.Destination, name, r.opt.Now())
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
	// Its settings were just read: the inventory need not read them
	// again before the reconciliation period is over.
	lv.v.Marks.ReconciledAt = r.opt.Now().UTC()
	if err := r.st.PutVault(lv.v); err != nil {
		return fmt.Errorf("save destination vault %s: %w", lv.v.Name, err)
	}
	return nil
}

// create makes a missing destination vault and applies its settings.
