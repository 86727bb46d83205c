package preflight

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// checkVaultPolicies checks that each existing destination vault lets the
// source account copy in.
func checkVaultPolicies(ctx context.Context, cfg scriptconfig.Config, bc interface {
	VaultLister
	AccessPolicyReader
}, add func(finding.Finding)) {
	p := backup.NewListBackupVaultsPaginator(bc, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			if !isDenied(err) { // denied: the simulation names it
				add(finding.New(finding.Warning, finding.SideDestination, "vault-policy", "backup:ListBackupVaults", "could not list destination vaults: "+finding.ErrorText(err), "", "run check again"))
			}
			return
		}
		for _, v := range out.BackupVaultList {
			name, arn := aws.ToString(v.BackupVaultName), aws.ToString(v.BackupVaultArn)
			pol, err := bc.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name)})
			doc := ""
			switch {
			case err == nil:
				doc = aws.ToString(pol.Policy)
			case awsclient.IsNotFound(err):
			default:
				if !isDenied(err) {
					add(finding.New(finding.Warning, finding.SideDestination, "vault-policy", "backup:GetBackupVaultAccessPolicy", "could not read the access policy of "+name+": "+finding.ErrorText(err), "", "run check again"))
				}
				continue
			}
			vp, err := vaultpolicy.Parse(doc)
			if err == nil && vp.AllowsCopy(cfg.Source.Account, arn) {
				continue
			}
			if err == nil {
				if stmt := vp.DeniesCopy(cfg.Source.Account, arn); stmt != "" {
					// No replication setting can fix it: run holds the
					// vault's RPs back as blocked, so check blocks too.
					add(finding.New(finding.Blocking, finding.SideDestination, "vault-policy", "backup:CopyIntoBackupVault",
						"destination vault "+name+": "+vaultpolicy.CopyDeniedReason(name, stmt, cfg.Source.Account),
						"copies into this vault fail with AccessDenied whatever shuffle does; its recovery points are counted as blocked",
						"remove or narrow statement "+stmt+" of the vault's access policy"))
					continue
				}
			}
			add(finding.New(finding.Warning, finding.SideDestination, "vault-policy", "backup:CopyIntoBackupVault",
				fmt.Sprintf("destination vault %s: the access policy does not allow account %s backup:CopyIntoBackupVault", name, cfg.Source.Account),
				"copies into this vault fail with AccessDenied unless replication adds the statement (reconcile = true for the vault); until then run counts its recovery points as blocked",
				"add the statement printed by `shuffle iam-policy` (vault access policy) to the vault's access policy"))
		}
	}
}
