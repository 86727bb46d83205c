package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// accountAliases reads an account's aliases back through the SDK:
// customer aliases by key ARN (sorted names without alias/), and key
// ARNs by alias name.
func accountAliases(t *testing.T, env *testenvtest.Env, profile string) (byKey map[string][]string, byAlias map[string]string) {
	t.Helper()
	c := kms.NewFromConfig(env.Config(t, profile))
	byKey, byAlias = map[string][]string{}, map[string]string{}
	p := kms.NewListAliasesPaginator(c, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("%s: ListAliases: %v", profile, err)
		}
		for _, a := range page.Aliases {
			name, arn := strings.TrimPrefix(aws.ToString(a.AliasName), "alias/"), aws.ToString(a.AliasArn)
			if a.TargetKeyId == nil || strings.HasPrefix(name, "aws/") {
				continue
			}
			key := arn[:strings.LastIndex(arn, ":alias/")] + ":key/" + aws.ToString(a.TargetKeyId)
			byKey[key] = append(byKey[key], name)
			byAlias[name] = key
		}
	}
	for _, names := range byKey {
		slices.Sort(names)
	}
	return byKey, byAlias
}

// examples/migrate.lua and the shipped policies run unchanged against
// any seed's estate: plan maps each source vault's key to the
// destination key with the same alias (resolved, nothing blocked for a
// key), and a run creates the vaults with that key and copies the
// estate. Needs testenv's KMS (ListAliases, DescribeKey).
func TestKeyAliasMappingForAnySeed(t *testing.T) {
	for _, seed := range []int64{2, 7} {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			env, _ := workspaceWith(t, testenv.Options{Seed: seed, RecoveryPoints: 120, CopySpeed: 1e6})
			srcAliases, _ := accountAliases(t, env, testenv.ProfileSource)
			_, destKeys := accountAliases(t, env, testenv.ProfileDestination)
			srcBackup := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
			dstBackup := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
			// wantKey is the destination key of the source vault's key's
			// first alias ("" for none).
			wantKey := func(vault string) (alias, key string) {
				d, err := srcBackup.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(vault)})
				if err != nil {
					t.Fatalf("source vault %s: %v", vault, err)
				}
				if as := srcAliases[aws.ToString(d.EncryptionKeyArn)]; len(as) > 0 {
					return as[0], destKeys[as[0]]
				}
				return "", ""
			}

			p := planJSON(t)
			var created []string
			for _, v := range p.Vaults {
				d := v.Destination
				if d.Action != plan.DestinationCreate {
					continue
				}
				created = append(created, d.Name)
				alias, key := wantKey(v.Name)
				if alias != "" && (d.Settings.EncryptionKey != "alias/"+alias || d.Settings.EncryptionKeyArn != key || key == "") {
					t.Errorf("plan of %s: key %q = %q; want alias/%s = %s", v.Name, d.Settings.EncryptionKey, d.Settings.EncryptionKeyArn, alias, key)
				}
				if alias == "" && d.Settings.EncryptionKey != "" {
					t.Errorf("plan of %s: key %q for a source key without a customer alias", v.Name, d.Settings.EncryptionKey)
				}
				for _, b := range d.Blocking {
					if strings.Contains(b, "alias/") || strings.Contains(b, "KMS") || strings.Contains(b, "destination key") {
						t.Errorf("plan of %s blocked for its key: %s", v.Name, b)
					}
				}
			}
			if len(created) == 0 {
				t.Fatal("the plan creates no vault; the test proves nothing")
			}

			dir := filepath.Join(t.TempDir(), "state")
			if code, out, errs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", dir, "--window", "3m"); code != 0 {
				t.Fatalf("run: exit %d\n%s%s", code, out, errs)
			}
			for _, name := range created {
				alias, key := wantKey(name)
				d, err := dstBackup.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
				if err != nil {
					t.Errorf("destination vault %s was not created: %v", name, err)
					continue
				}
				if alias != "" && aws.ToString(d.EncryptionKeyArn) != key {
					t.Errorf("destination vault %s has key %s; want %s (alias/%s)", name, aws.ToString(d.EncryptionKeyArn), key, alias)
				}
			}
			checkAllCopied(t, dir)
		})
	}
}

// The human plan lists each vault to create with its key as named and
// the ARN it resolved to, or says that it does not resolve.
func TestPlanPrintsDestinationKeys(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140"
	vault := func(name, key, resolved string, action plan.DestinationAction) plan.VaultReport {
		return plan.VaultReport{Name: name, Destination: plan.DestinationPlan{Name: name, Action: action,
			Settings: plan.DestinationSettings{EncryptionKey: key, EncryptionKeyArn: resolved}}}
	}
	p := &plan.Plan{Vaults: []plan.VaultReport{
		vault("prod-ebs-daily", "alias/backup-vault-prod", arn, plan.DestinationCreate),
		vault("dev-ebs-daily", "alias/backup-vault-nonprod", "", plan.DestinationCreate),
		vault("finance-records", "alias/backup-vault-finance", arn, plan.DestinationExists),
		vault("Default", "", "", plan.DestinationCreate),
	}}
	var out strings.Builder
	printPlan(&out, p)
	for _, want := range []string{"prod-ebs-daily: alias/backup-vault-prod = " + arn, "dev-ebs-daily: alias/backup-vault-nonprod = does not resolve (see Blocked)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output does not list %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "finance-records: ") || strings.Contains(out.String(), "Default: ") {
		t.Errorf("plan output lists a key for a vault it does not create, or without a key:\n%s", out.String())
	}
}
