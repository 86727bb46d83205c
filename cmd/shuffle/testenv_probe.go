package main

import (
	"context"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/testenv"
)

func newTestenvProbeCmd(e *env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Check a running emulator through aws-sdk-go-v2, using only its written config files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfgFile := filepath.Join(dir, testenv.ConfigFile)
			credFile := filepath.Join(dir, testenv.CredentialsFile)
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tACCOUNT\tIDENTITY\tVAULTS\tRECOVERY POINTS")
			for _, p := range []string{testenv.ProfileSource, testenv.ProfileDestination} {
				cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigFiles([]string{cfgFile}),
					config.WithSharedCredentialsFiles([]string{credFile}), config.WithSharedConfigProfile(p))
				if err != nil {
					return fmt.Errorf("profile %s in %s: %w", p, cfgFile, err)
				}
				id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					return fmt.Errorf("profile %s: GetCallerIdentity: %w", p, err)
				}
				vaults, rps, err := countRecoveryPoints(ctx, backup.NewFromConfig(cfg))
				if err != nil {
					return fmt.Errorf("profile %s: %w", p, err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", p, aws.ToString(id.Account), aws.ToString(id.Arn), vaults, rps)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "./testenv-run", "the directory 'shuffle testenv up' wrote")
	return cmd
}

// countRecoveryPoints pages through every vault and its recovery points.
func countRecoveryPoints(ctx context.Context, c *backup.Client) (vaults, rps int, err error) {
	vp := backup.NewListBackupVaultsPaginator(c, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("ListBackupVaults: %w", err)
		}
		for _, v := range page.BackupVaultList {
			vaults++
			rp := backup.NewListRecoveryPointsByBackupVaultPaginator(c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: v.BackupVaultName})
			for rp.HasMorePages() {
				p, err := rp.NextPage(ctx)
				if err != nil {
					return 0, 0, fmt.Errorf("ListRecoveryPointsByBackupVault %s: %w", aws.ToString(v.BackupVaultName), err)
				}
				rps += len(p.RecoveryPoints)
			}
		}
	}
	return vaults, rps, nil
}
