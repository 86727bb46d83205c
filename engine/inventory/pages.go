package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// listPartition lists one partition to its end, saving every page with
// its cursor in one transaction.
func (inv *Inventory) listPartition(ctx context.Context, v *state.Vault, p *state.Partition, o state.PageOptions) (pages int64, res state.PageResult, err error) {
	for !p.Done {
		if err := ctx.Err(); err != nil {
			return pages, res, err
		}
		in := &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(v.Name),
			MaxResults:      aws.Int32(inv.PageSize),
		}
		if p.NextToken != "" {
			in.NextToken = aws.String(p.NextToken)
		}
		if p.ResourceType != "" {
			in.ByResourceType = aws.String(p.ResourceType)
		}
		if p.After != 0 {
			in.ByCreatedAfter = aws.Time(time.Unix(p.After, 0))
		}
		if p.Before != 0 {
			in.ByCreatedBefore = aws.Time(time.Unix(p.Before, 0))
		}
		out, err := inv.Source.ListRecoveryPointsByBackupVault(ctx, in)
		if err != nil {
			return pages, res, fmt.Errorf("list recovery points of vault %s (partition %s): %w", v.Name, partitionLabel(p), err)
		}
		rps := make([]*state.RP, 0, len(out.RecoveryPoints))
		for i := range out.RecoveryPoints {
			rps = append(rps, rpFromSDK(v.Name, &out.RecoveryPoints[i]))
		}
		notePage(p, rps)
		p.NextToken = aws.ToString(out.NextToken)
		p.Done = p.NextToken == ""
		p.Pages++
		p.Seen += int64(len(rps))
		r, err := inv.Store.SavePageWith(p, rps, inv.Now().UTC(), o)
		if err != nil {
			return pages, res, fmt.Errorf("save page of vault %s: %w", v.Name, err)
		}
		pages++
		res.New += r.New
		res.Changed += r.Changed
		res.Unchanged += r.Unchanged
		inv.Progress.AddListed(v.Name, int64(len(rps)))
	}
	return pages, res, nil
}

// rpFromSDK is the state record of one RP a page listed in vault.
func rpFromSDK(vault string, r *types.RecoveryPointByBackupVault) *state.RP {
	rp := &state.RP{
		Arn: aws.ToString(r.RecoveryPointArn), Vault: vault, ResourceArn: aws.ToString(r.ResourceArn),
		ResourceType: aws.ToString(r.ResourceType), ResourceName: aws.ToString(r.ResourceName),
		Status: string(r.Status), StatusMessage: aws.ToString(r.StatusMessage),
		CreationDate: aws.ToTime(r.CreationDate).UTC(), CompletionDate: UTC(r.CompletionDate),
		Size: aws.ToInt64(r.BackupSizeInBytes), EncryptionKeyArn: aws.ToString(r.EncryptionKeyArn),
		EncryptionKeyType: string(r.EncryptionKeyType), IsEncrypted: r.IsEncrypted,
		ParentArn: aws.ToString(r.ParentRecoveryPointArn), IamRoleArn: aws.ToString(r.IamRoleArn),
	}
	if r.CreatedBy != nil {
		rp.BackupPlanID = aws.ToString(r.CreatedBy.BackupPlanId)
	}
	if lc := r.Lifecycle; lc != nil {
		rp.DeleteAfterDays, rp.ColdAfterDays = lc.DeleteAfterDays, lc.MoveToColdStorageAfterDays
	}
	if cl := r.CalculatedLifecycle; cl != nil {
		rp.DeleteAt, rp.MoveToColdAt = UTC(cl.DeleteAt), UTC(cl.MoveToColdStorageAt)
	}
	return rp
}

// UTC is *t in UTC, or nil.
func UTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
