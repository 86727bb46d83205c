package awsclient

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// rpBuilder turns the scratch of one recovery point into the output
// RP's fields: one string for all the text and one block for what the
// pointer fields point at.
type rpBuilder struct {
	r    *rpScratch
	text string
	blk  *rpBlock
}

func (b *rpBuilder) sub(sp span) string { return b.text[sp.off:sp.end] }

func (b *rpBuilder) str(k int) *string {
	if b.r.strSet&(1<<k) == 0 {
		return nil
	}
	b.blk.str[k] = b.sub(b.r.str[k])
	return &b.blk.str[k]
}

func (b *rpBuilder) enum(k int) string {
	if b.r.strSet&(1<<k) == 0 {
		return ""
	}
	return b.sub(b.r.str[k])
}

func (b *rpBuilder) tm(k int) *time.Time {
	if b.r.timeSet&(1<<k) == 0 {
		return nil
	}
	b.blk.times[k] = b.r.times[k]
	return &b.blk.times[k]
}

func (b *rpBuilder) num(k int) *int64 {
	if b.r.intSet&(1<<k) == 0 {
		return nil
	}
	b.blk.ints[k] = b.r.ints[k]
	return &b.blk.ints[k]
}

// finish builds the output RP from the scratch.
func (d *pageDecoder) finish(out *types.RecoveryPointByBackupVault) {
	b := rpBuilder{r: &d.rp, text: string(d.text), blk: new(rpBlock)}
	*out = types.RecoveryPointByBackupVault{
		BackupSizeInBytes:         b.num(iBackupSizeInBytes),
		BackupVaultArn:            b.str(sBackupVaultArn),
		BackupVaultName:           b.str(sBackupVaultName),
		CompletionDate:            b.tm(tCompletionDate),
		CompositeMemberIdentifier: b.str(sCompositeMemberIdentifier),
		CreationDate:              b.tm(tCreationDate),
		EncryptionKeyArn:          b.str(sEncryptionKeyArn),
		EncryptionKeyType:         types.EncryptionKeyType(b.enum(sEncryptionKeyType)),
		IamRoleArn:                b.str(sIamRoleArn),
		IndexStatus:               types.IndexStatus(b.enum(sIndexStatus)),
		IndexStatusMessage:        b.str(sIndexStatusMessage),
		InitiationDate:            b.tm(tInitiationDate),
		IsEncrypted:               b.r.isEncrypted,
		IsParent:                  b.r.isParent,
		LastRestoreTime:           b.tm(tLastRestoreTime),
		ParentRecoveryPointArn:    b.str(sParentRecoveryPointArn),
		RecoveryPointArn:          b.str(sRecoveryPointArn),
		ResourceArn:               b.str(sResourceArn),
		ResourceName:              b.str(sResourceName),
		ResourceType:              b.str(sResourceType),
		SourceBackupVaultArn:      b.str(sSourceBackupVaultArn),
		Status:                    types.RecoveryPointStatus(b.enum(sStatus)),
		StatusMessage:             b.str(sStatusMessage),
		VaultType:                 types.VaultType(b.enum(sVaultType)),
	}
	b.nested(out)
}

// nested fills the RP's nested objects that the page had.
func (b *rpBuilder) nested(out *types.RecoveryPointByBackupVault) {
	r, blk := b.r, b.blk
	if r.objSet&oCreatedBy != 0 {
		blk.createdBy = types.RecoveryPointCreator{
			BackupPlanArn: b.str(sPlanArn), BackupPlanId: b.str(sPlanID), BackupPlanName: b.str(sPlanName),
			BackupPlanVersion: b.str(sPlanVersion), BackupRuleCron: b.str(sRuleCron), BackupRuleId: b.str(sRuleID),
			BackupRuleName: b.str(sRuleName), BackupRuleTimezone: b.str(sRuleTimezone),
		}
		out.CreatedBy = &blk.createdBy
	}
	if r.objSet&oLifecycle != 0 {
		blk.lifecycle = types.Lifecycle{
			DeleteAfterDays:            b.num(iDeleteAfterDays),
			DeleteAfterEvent:           types.LifecycleDeleteAfterEvent(b.enum(sDeleteAfterEvent)),
			MoveToColdStorageAfterDays: b.num(iMoveToColdStorageAfterDays),
		}
		if r.objSet&oOptIn != 0 {
			blk.optIn = r.optIn
			blk.lifecycle.OptInToArchiveForSupportedResources = &blk.optIn
		}
		out.Lifecycle = &blk.lifecycle
	}
	if r.objSet&oCalculatedLifecycle != 0 {
		blk.calculated = types.CalculatedLifecycle{DeleteAt: b.tm(tDeleteAt), MoveToColdStorageAt: b.tm(tMoveToColdStorageAt)}
		out.CalculatedLifecycle = &blk.calculated
	}
	if r.objSet&oAggregatedScanResult != 0 {
		blk.aggregated = types.AggregatedScanResult{LastComputed: b.tm(tLastComputed)}
		if r.objSet&oFailedScan != 0 {
			blk.failedScan = r.failedScan
			blk.aggregated.FailedScan = &blk.failedScan
		}
		if r.objSet&oFindings != 0 {
			f := make([]types.ScanFinding, len(r.finds))
			for i, sp := range r.finds {
				f[i] = types.ScanFinding(b.sub(sp))
			}
			blk.aggregated.Findings = f
		}
		out.AggregatedScanResult = &blk.aggregated
	}
}
