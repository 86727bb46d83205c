package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// VaultReader is the narrow, read-only AWS Backup API that judging every
// vault of an account needs (the *backup.Client satisfies it).
type VaultReader interface {
	ListBackupVaults(ctx context.Context, in *backup.ListBackupVaultsInput, opts ...func(*backup.Options)) (*backup.ListBackupVaultsOutput, error)
	vaultDescriber
}

var _ VaultReader = (*backup.Client)(nil)

// vaultDescriber is what reading one vault's settings needs.
type vaultDescriber interface {
	DescribeBackupVault(ctx context.Context, in *backup.DescribeBackupVaultInput, opts ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error)
	GetBackupVaultAccessPolicy(ctx context.Context, in *backup.GetBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error)
	GetBackupVaultNotifications(ctx context.Context, in *backup.GetBackupVaultNotificationsInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultNotificationsOutput, error)
	ListTags(ctx context.Context, in *backup.ListTagsInput, opts ...func(*backup.Options)) (*backup.ListTagsOutput, error)
}

// describeVault reads a vault with every setting shuffle replicates or
// judges; nil when it does not exist. crid is its CreatorRequestId.
func describeVault(ctx context.Context, api vaultDescriber, side state.Side, name string, now time.Time) (v *state.Vault, crid string, err error) {
	d, err := api.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
	if isNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	v = &state.Vault{
		Side: side, Name: aws.ToString(d.BackupVaultName), Arn: aws.ToString(d.BackupVaultArn),
		VaultType: string(d.VaultType), VaultState: string(d.VaultState),
		EncryptionKeyArn: aws.ToString(d.EncryptionKeyArn), EncryptionKeyType: string(d.EncryptionKeyType),
		Locked: aws.ToBool(d.Locked), MinRetentionDays: d.MinRetentionDays, MaxRetentionDays: d.MaxRetentionDays,
		LockDate: utcPtr(d.LockDate), NumberOfRecoveryPoints: d.NumberOfRecoveryPoints, ListedAt: now.UTC(),
	}
	pol, err := api.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name)})
	switch {
	case err == nil:
		v.AccessPolicy = aws.ToString(pol.Policy)
	case !isNotFound(err):
		return nil, "", fmt.Errorf("GetBackupVaultAccessPolicy: %w", err)
	}
	n, err := api.GetBackupVaultNotifications(ctx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String(name)})
	switch {
	case err == nil:
		v.SNSTopicArn = aws.ToString(n.SNSTopicArn)
		for _, e := range n.BackupVaultEvents {
			v.Events = append(v.Events, string(e))
		}
	case !isNotFound(err):
		return nil, "", fmt.Errorf("GetBackupVaultNotifications: %w", err)
	}
	tp := backup.NewListTagsPaginator(api, &backup.ListTagsInput{ResourceArn: aws.String(v.Arn)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("ListTags: %w", err)
		}
		for k, val := range page.Tags {
			if v.Tags == nil {
				v.Tags = map[string]string{}
			}
			v.Tags[k] = val
		}
	}
	return v, aws.ToString(d.CreatorRequestId), nil
}

// accessSummary works out what an access policy's Allow statements
// grant, in the form the compliance policy reads.
func accessSummary(doc string) luabind.AccessSummary {
	return luabind.AccessSummary(vaultpolicy.Summarize(doc))
}

// ComplianceReport is how every vault of both accounts fares against the
// compliance policy.
type ComplianceReport struct {
	Module string `json:"module"` // e.g. policies/compliance.lua
	// PolicyHash identifies the revision of the policies directory.
	PolicyHash string            `json:"policy_hash"`
	Vaults     []VaultCompliance `json:"vaults"`
}

// VaultCompliance is one vault's results.
type VaultCompliance struct {
	Account finding.Side               `json:"account"`
	Name    string                     `json:"name"`
	Arn     string                     `json:"arn,omitempty"`
	Pass    bool                       `json:"pass"`            // every rule passed
	Error   string                     `json:"error,omitempty"` // the vault could not be read or judged
	Results []luabind.ComplianceResult `json:"results"`
}

// Blocking reports whether v has a failure that blocks: a blocking rule
// failed on a destination vault, or a destination vault could not be
// judged. Source vaults are shown for comparison and never block.
func (v VaultCompliance) Blocking() bool {
	if v.Account != finding.SideDestination {
		return false
	}
	if v.Error != "" {
		return true
	}
	for _, r := range v.Results {
		if !r.Pass && r.Severity == luabind.ComplianceBlocking {
			return true
		}
	}
	return false
}

// EvaluateCompliance reads every vault of both accounts and runs the
// compliance policy's check on each. It only reads. An account whose
// vaults cannot be listed gives an error entry, not a failed call.
func EvaluateCompliance(ctx context.Context, cfg scriptconfig.Config, pol *luabind.Policies, source, destination VaultReader, now time.Time) (*ComplianceReport, error) {
	w, err := pol.NewWorker()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	pc := pol.Config()
	r := &ComplianceReport{Module: pc.Dir + "/" + pc.Compliance + ".lua", PolicyHash: pol.Hash}
	for _, acct := range []struct {
		side  finding.Side
		sside state.Side
		id    string
		api   VaultReader
	}{{finding.SideSource, state.Source, cfg.Source.Account, source}, {finding.SideDestination, state.Destination, cfg.Destination.Account, destination}} {
		var names []string
		p := backup.NewListBackupVaultsPaginator(acct.api, &backup.ListBackupVaultsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				r.Vaults = append(r.Vaults, VaultCompliance{Account: acct.side, Name: "*", Error: "ListBackupVaults: " + finding.ErrorText(err)})
				names = nil
				break
			}
			for _, v := range out.BackupVaultList {
				names = append(names, aws.ToString(v.BackupVaultName))
			}
		}
		sort.Strings(names)
		for _, name := range names {
			vc := VaultCompliance{Account: acct.side, Name: name}
			v, _, err := describeVault(ctx, acct.api, acct.sside, name, now)
			switch {
			case err != nil:
				vc.Error = "cannot read the vault: " + finding.ErrorText(err)
			case v == nil:
				continue // deleted since it was listed
			default:
				vc.Arn = v.Arn
				vc.Results, err = w.Compliance(ctx, &luabind.ComplianceVault{
					Account: string(acct.side), AccountID: acct.id, Name: v.Name, Arn: v.Arn, VaultType: v.VaultType,
					EncryptionKeyArn: v.EncryptionKeyArn, EncryptionKeyType: v.EncryptionKeyType,
					Locked: v.Locked, LockMode: luabind.LockMode(v.Locked, v.LockDate, v.VaultType),
					MinRetentionDays: v.MinRetentionDays, MaxRetentionDays: v.MaxRetentionDays, LockDate: v.LockDate,
					Tags: v.Tags, SNSTopicArn: v.SNSTopicArn, Events: v.Events, AccessPolicy: v.AccessPolicy,
					Access:          accessSummary(v.AccessPolicy),
					SourceAccountID: cfg.Source.Account, DestinationAccountID: cfg.Destination.Account,
				})
				if err != nil {
					vc.Error = err.Error()
				}
			}
			vc.Pass = vc.Error == ""
			for _, res := range vc.Results {
				vc.Pass = vc.Pass && res.Pass
			}
			r.Vaults = append(r.Vaults, vc)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return r, nil
}
