package preflight

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// checkKeys counts, per source vault and resource type, the recovery
// points encrypted with an AWS-managed key on a type that is not fully
// managed: their cross-account copies would fail, so shuffle leaves them
// out (rule aws-managed-key).
func checkKeys(ctx context.Context, bc interface {
	VaultLister
	RecoveryPointLister
}, fullyManaged func(string) bool, add func(finding.Finding)) {
	type key struct{ vault, typ string }
	counts := map[key]int{}
	vp := backup.NewListBackupVaultsPaginator(bc, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			add(finding.New(finding.Warning, finding.SideSource, "encryption", "backup:ListBackupVaults", "could not list source vaults to count AWS-managed keys: "+finding.ErrorText(err), "", "run check again"))
			return
		}
		for _, v := range out.BackupVaultList {
			name := aws.ToString(v.BackupVaultName)
			rp := backup.NewListRecoveryPointsByBackupVaultPaginator(bc, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name), MaxResults: aws.Int32(1000)})
			for rp.HasMorePages() {
				page, err := rp.NextPage(ctx)
				if err != nil {
					add(finding.New(finding.Warning, finding.SideSource, "encryption", "backup:ListRecoveryPointsByBackupVault", "could not list recovery points of "+name+": "+finding.ErrorText(err), "", "run check again"))
					break
				}
				for _, r := range page.RecoveryPoints {
					typ := aws.ToString(r.ResourceType)
					if r.IsEncrypted && !fullyManaged(typ) && r.EncryptionKeyType != "CUSTOMER_MANAGED_KMS_KEY" {
						counts[key{name, typ}]++
					}
				}
			}
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].vault < keys[j].vault || (keys[i].vault == keys[j].vault && keys[i].typ < keys[j].typ)
	})
	for _, k := range keys {
		add(finding.New(finding.Warning, finding.SideSource, "encryption", "",
			fmt.Sprintf("vault %s: %d %s recovery points are encrypted with an AWS-managed key", k.vault, counts[k], k.typ),
			"cross-account copies of types that are not fully managed need a customer-managed key shared with the destination; shuffle leaves these out (ineligible: aws-managed-key)",
			"back these resources up with a customer-managed KMS key shared with the destination account, or accept that they are not copied"))
	}
	if len(keys) == 0 {
		add(finding.New(finding.Info, finding.SideSource, "encryption", "", "no recovery points on AWS-managed keys that would fail to copy", "", ""))
	}
}
