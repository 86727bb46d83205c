package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// listVaults lists one side's vaults and saves them, keeping the
// inventory bookkeeping of known vaults. For the source side (run set)
// it decides how each vault is listed (modeFor); the access policy,
// notifications and tags are read again only for a vault listed whole
// (on the destination side: new, or not read for ReconcileEvery), and
// carried over otherwise, so a delta costs one call per vault.
func (inv *Inventory) listVaults(ctx context.Context, api BackupReader, side state.Side, gen uint64, run *inventoryRun) ([]*state.Vault, error) {
	var out []*state.Vault
	p := backup.NewListBackupVaultsPaginator(api, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListBackupVaults: %w", err)
		}
		for _, m := range page.BackupVaultList {
			v := &state.Vault{
				Side: side, Name: aws.ToString(m.BackupVaultName), Arn: aws.ToString(m.BackupVaultArn),
				VaultType: string(m.VaultType), VaultState: string(m.VaultState),
				EncryptionKeyArn: aws.ToString(m.EncryptionKeyArn), EncryptionKeyType: string(m.EncryptionKeyType),
				Locked: aws.ToBool(m.Locked), MinRetentionDays: m.MinRetentionDays, MaxRetentionDays: m.MaxRetentionDays,
				LockDate: UTC(m.LockDate), NumberOfRecoveryPoints: m.NumberOfRecoveryPoints, ListedAt: inv.Now().UTC(),
			}
			if err := inv.saveVault(ctx, api, v, gen, run); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// saveVault completes v from its stored record (bookkeeping, marks, and
// settings when they are not read again) and saves it.
func (inv *Inventory) saveVault(ctx context.Context, api BackupReader, v *state.Vault, gen uint64, run *inventoryRun) error {
	old, ok, err := inv.Store.GetVault(v.Side, v.Name)
	if err != nil {
		return err
	}
	if !ok {
		old = nil
	} else {
		v.Generation, v.InventoryDone, v.Marks = old.Generation, old.InventoryDone, old.Marks
	}
	read := old == nil
	if run != nil {
		m, err := inv.modeFor(v, old, gen, inv.Delta.RunTime)
		if err != nil {
			return err
		}
		run.mode[v.Name] = m
		read = read || !m.delta
	} else if !read {
		read = inv.Delta.ReconcileEvery < 0 || !inv.Now().Before(old.Marks.ReconciledAt.Add(inv.Delta.ReconcileEvery))
	}
	if read {
		if err := inv.vaultSettings(ctx, api, v); err != nil {
			return err
		}
		if run == nil {
			v.Marks.ReconciledAt = inv.Now().UTC()
		}
	} else {
		v.AccessPolicy, v.SNSTopicArn, v.Events, v.Tags = old.AccessPolicy, old.SNSTopicArn, old.Events, old.Tags
	}
	return inv.Store.PutVault(v)
}

// vaultSettings reads the access policy, notifications and tags, its
// errors naming the vault.
func (inv *Inventory) vaultSettings(ctx context.Context, api BackupReader, v *state.Vault) error {
	return readSettings(ctx, api, v, true)
}

// SettingsReader is what reading one vault's settings needs (the
// *backup.Client satisfies it).
type SettingsReader interface {
	DescribeBackupVault(ctx context.Context, in *backup.DescribeBackupVaultInput, opts ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error)
	settingsReader
}

// settingsReader reads the settings DescribeBackupVault does not give.
type settingsReader interface {
	GetBackupVaultAccessPolicy(ctx context.Context, in *backup.GetBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error)
	GetBackupVaultNotifications(ctx context.Context, in *backup.GetBackupVaultNotificationsInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultNotificationsOutput, error)
	ListTags(ctx context.Context, in *backup.ListTagsInput, opts ...func(*backup.Options)) (*backup.ListTagsOutput, error)
}

var _ SettingsReader = (*backup.Client)(nil)

// DescribeVault reads one vault with every setting shuffle replicates
// or judges; nil when it does not exist. crid is its CreatorRequestId.
// It only reads, and saves nothing.
func DescribeVault(ctx context.Context, api SettingsReader, side state.Side, name string, now time.Time) (v *state.Vault, crid string, err error) {
	d, err := api.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
	if awsclient.IsNotFound(err) {
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
		LockDate: UTC(d.LockDate), NumberOfRecoveryPoints: d.NumberOfRecoveryPoints, ListedAt: now.UTC(),
	}
	if err := readSettings(ctx, api, v, false); err != nil {
		return nil, "", err
	}
	return v, aws.ToString(d.CreatorRequestId), nil
}

// readSettings reads v's access policy, notifications and tags. named
// says whether its errors name the vault (the inventory's do; a single
// vault's reader's say only the call).
func readSettings(ctx context.Context, api settingsReader, v *state.Vault, named bool) error {
	ref := func(id string) string {
		if named {
			return " " + id
		}
		return ""
	}
	pol, err := api.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.AccessPolicy = aws.ToString(pol.Policy)
	case !awsclient.IsNotFound(err):
		return fmt.Errorf("GetBackupVaultAccessPolicy%s: %w", ref(v.Name), err)
	}
	n, err := api.GetBackupVaultNotifications(ctx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.SNSTopicArn = aws.ToString(n.SNSTopicArn)
		for _, e := range n.BackupVaultEvents {
			v.Events = append(v.Events, string(e))
		}
	case !awsclient.IsNotFound(err):
		return fmt.Errorf("GetBackupVaultNotifications%s: %w", ref(v.Name), err)
	}
	tp := backup.NewListTagsPaginator(api, &backup.ListTagsInput{ResourceArn: aws.String(v.Arn)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListTags%s: %w", ref(v.Arn), err)
		}
		for k, val := range page.Tags {
			if v.Tags == nil {
				v.Tags = map[string]string{}
			}
			v.Tags[k] = val
		}
	}
	return nil
}
