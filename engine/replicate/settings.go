package replicate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

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
func notificationsNote(vp *plan.VaultPlan) string {
	if len(vp.Source.Events) == 0 || vp.Mapping.SNSTopicArn != "" {
		return ""
	}
	return fmt.Sprintf("notifications not replicated: the source vault sends %s to %s, and policies/vaults.lua maps no sns_topic_arn for it (an SNS topic belongs to one account)",
		strings.Join(vp.Source.Events, ", "), orNone(vp.Source.SNSTopicArn))
}

func (r *replicator) putPolicy(ctx context.Context, name string, p *vaultpolicy.Policy) error {
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
	if w.lock == lockCompliance {
		in.ChangeableForDays = aws.Int64(complianceChangeableForDays)
	}
	_, err := r.api.PutBackupVaultLockConfiguration(ctx, in)
	return err
}
