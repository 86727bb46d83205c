package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// listVaults lists one side's vaults with their replicable settings and
// saves them, keeping the inventory bookkeeping of known vaults.
func (inv *Inventory) listVaults(ctx context.Context, api BackupReader, side state.Side) ([]*state.Vault, error) {
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
			if err := inv.vaultSettings(ctx, api, v); err != nil {
				return nil, err
			}
			if old, ok, err := inv.Store.GetVault(side, v.Name); err != nil {
				return nil, err
			} else if ok {
				v.Generation, v.InventoryDone = old.Generation, old.InventoryDone
			}
			if err := inv.Store.PutVault(v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// vaultSettings reads the access policy, notifications and tags.
func (inv *Inventory) vaultSettings(ctx context.Context, api BackupReader, v *state.Vault) error {
	pol, err := api.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.AccessPolicy = aws.ToString(pol.Policy)
	case !IsNotFound(err):
		return fmt.Errorf("GetBackupVaultAccessPolicy %s: %w", v.Name, err)
	}
	n, err := api.GetBackupVaultNotifications(ctx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.SNSTopicArn = aws.ToString(n.SNSTopicArn)
		for _, e := range n.BackupVaultEvents {
			v.Events = append(v.Events, string(e))
		}
	case !IsNotFound(err):
		return fmt.Errorf("GetBackupVaultNotifications %s: %w", v.Name, err)
	}
	tp := backup.NewListTagsPaginator(api, &backup.ListTagsInput{ResourceArn: aws.String(v.Arn)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListTags %s: %w", v.Arn, err)
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

// IsNotFound reports whether AWS Backup answered that the resource
// does not exist.
func IsNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}
