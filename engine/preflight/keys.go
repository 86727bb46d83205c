package preflight

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
)

// RPKey is what the key checks read of one source recovery point.
type RPKey struct {
	Vault, ResourceType string
	KeyArn, KeyType     string // EncryptionKeyArn, EncryptionKeyType
	Encrypted           bool
}

// KeyRule is the engine's aws-managed-key eligibility rule, as the key
// checks apply it (the engine passes its own, so that check and plan
// decide alike).
type KeyRule interface {
	// KeyMatters: a copy of the type keeps its source key, so the key
	// must be customer-managed and shared (a type that is not fully
	// managed and can be copied at all).
	KeyMatters(resourceType string) bool
	// NeedsManager: the rule asks KMS who manages rp's key.
	NeedsManager(rp RPKey) bool
	// Refuses: the rule makes rp ineligible, given KMS's answer.
	Refuses(rp RPKey, a kmskeys.Answer) bool
}

// listRPKeys lists every source recovery point of a type whose copies
// keep their source key; false when the listing failed (a warning says so).
func listRPKeys(ctx context.Context, bc interface {
	VaultLister
	RecoveryPointLister
}, keyMatters func(string) bool, add func(finding.Finding)) ([]RPKey, bool) {
	var out []RPKey
	vp := backup.NewListBackupVaultsPaginator(bc, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			add(finding.New(finding.Warning, finding.SideSource, "encryption", "backup:ListBackupVaults", "could not list source vaults to check their recovery points' keys: "+finding.ErrorText(err), "", "run check again"))
			return out, false
		}
		for _, v := range page.BackupVaultList {
			name := aws.ToString(v.BackupVaultName)
			rp := backup.NewListRecoveryPointsByBackupVaultPaginator(bc, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name), MaxResults: aws.Int32(1000)})
			for rp.HasMorePages() {
				page, err := rp.NextPage(ctx)
				if err != nil {
					add(finding.New(finding.Warning, finding.SideSource, "encryption", "backup:ListRecoveryPointsByBackupVault", "could not list recovery points of "+name+": "+finding.ErrorText(err), "", "run check again"))
					break
				}
				for _, r := range page.RecoveryPoints {
					k := RPKey{Vault: name, ResourceType: aws.ToString(r.ResourceType), KeyArn: aws.ToString(r.EncryptionKeyArn), KeyType: string(r.EncryptionKeyType), Encrypted: r.IsEncrypted}
					if keyMatters(k.ResourceType) {
						out = append(out, k)
					}
				}
			}
		}
	}
	return out, true
}

// countManagedKeys counts, per source vault and resource type, the
// recovery points the aws-managed-key rule refuses: their cross-account
// copies would fail, so shuffle leaves them out. It returns the others
// (the ones whose keys the shared-key check reads).
func countManagedKeys(ctx context.Context, rps []RPKey, rule KeyRule, keys *kmskeys.Describer, add func(finding.Finding)) ([]RPKey, error) {
	type key struct{ vault, typ string }
	counts := map[key]int{}
	var kept []RPKey
	for _, r := range rps {
		var a kmskeys.Answer
		if rule.NeedsManager(r) {
			var err error
			if a, err = keys.Learn(ctx, r.KeyArn); err != nil {
				return nil, err
			}
		}
		if rule.Refuses(r, a) {
			counts[key{r.Vault, r.ResourceType}]++
		} else {
			kept = append(kept, r)
		}
	}
	ks := make([]key, 0, len(counts))
	for k := range counts {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		return ks[i].vault < ks[j].vault || (ks[i].vault == ks[j].vault && ks[i].typ < ks[j].typ)
	})
	for _, k := range ks {
		add(finding.New(finding.Warning, finding.SideSource, "encryption", "",
			fmt.Sprintf("vault %s: %d %s recovery points are encrypted with an AWS-managed key", k.vault, counts[k], k.typ),
			"cross-account copies of types that are not fully managed need a customer-managed key shared with the destination; shuffle leaves these out (ineligible: aws-managed-key; EncryptionKeyType says AWS_OWNED_KMS_KEY, or KMS says KeyManager AWS)",
			"back these resources up with a customer-managed KMS key shared with the destination account, or accept that they are not copied"))
	}
	if len(ks) == 0 {
		add(finding.New(finding.Info, finding.SideSource, "encryption", "", "no recovery points on AWS-managed keys that would fail to copy", "", ""))
	}
	return kept, nil
}
