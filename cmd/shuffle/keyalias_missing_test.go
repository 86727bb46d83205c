package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// A destination account without the alias a vault maps to holds back
// only the vaults mapped to it: plan names each such vault and the
// alias and reports the rest, and a run creates and copies every other
// vault while those wait, with nothing created or copied for them.
// The alias is deleted through the real KMS API, as an operator's
// mistake would leave it.
func TestMissingDestinationAliasHoldsBackOnlyItsVaults(t *testing.T) {
	const alias = "alias/backup-vault-nonprod" // dev-ebs-daily and staging-mixed
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e6})
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DeleteAlias","Resource":"*"}]}`
	dest := testenv.ProfileDestination
	if err := env.SetPolicies(dest, []string{testenv.DefaultPolicies[dest], admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := kms.NewFromConfig(env.Config(t, dest)).DeleteAlias(context.Background(), &kms.DeleteAliasInput{AliasName: aws.String(alias)}); err != nil {
		t.Fatalf("DeleteAlias %s: %v", alias, err)
	}
	if err := env.SetPolicies(dest, []string{testenv.DefaultPolicies[dest]}); err != nil {
		t.Fatal(err)
	}

	code, out, errs := shuffle(t, "plan", "examples/migrate.lua", "--json")
	if code != 0 {
		t.Fatalf("plan exited %d; a missing alias must not stop it:\n%s", code, errs)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan --json: %v", err)
	}
	held := map[string]bool{}
	for _, v := range p.Vaults {
		d := v.Destination
		blockedForKey := false
		for _, b := range d.Blocking {
			if strings.Contains(b, alias) {
				blockedForKey = true
				if !strings.Contains(b, v.Name) {
					t.Errorf("plan of %s: the reason does not name the vault: %s", v.Name, b)
				}
			}
		}
		if d.Settings.EncryptionKey == alias && d.Action == plan.DestinationCreate {
			if !blockedForKey {
				t.Errorf("plan of %s maps to the missing %s but is not held back for it: %+v", v.Name, alias, d.Blocking)
			}
			held[v.Name] = true
		} else if blockedForKey {
			t.Errorf("plan of %s is held back for %s, which it does not map to", v.Name, alias)
		}
	}
	if !held["dev-ebs-daily"] || !held["staging-mixed"] {
		t.Fatalf("vaults held back for %s: %v; want dev-ebs-daily and staging-mixed", alias, held)
	}

	dir := filepath.Join(t.TempDir(), "state")
	code, rout, rerrs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", dir, "--window", "3m")
	t.Logf("run exit %d\n%s%s", code, rout, rerrs)
	if code != 0 && code != exitWindow {
		t.Fatalf("run: exit %d\n%s%s", code, rout, rerrs)
	}
	for name := range held {
		if !strings.Contains(rout+rerrs, name+" (encryption-key)") || !strings.Contains(rout+rerrs, alias+" does not exist") {
			t.Errorf("run's closing lines do not say that %s is blocked for %s", name, alias)
		}
	}
	dst := backup.NewFromConfig(env.Config(t, dest))
	for name := range held {
		if _, err := dst.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)}); err == nil {
			t.Errorf("destination vault %s was created although its key alias does not resolve", name)
		}
	}
	recs := copyRecords(t, dir)
	copied, waiting := 0, 0
	for key, arn := range includedSet(t, dir) {
		vault := key[:strings.Index(key, "|")]
		r := recs[arn]
		switch {
		case held[vault]:
			waiting++
			if r != nil && r.JobID != "" {
				t.Errorf("RP %s of held-back vault %s has a copy job %s", arn, vault, r.JobID)
			}
		case r == nil || r.State != state.CopyCompleted:
			t.Errorf("RP %s of %s: copy record %+v; want completed", arn, vault, r)
		default:
			copied++
		}
	}
	if copied == 0 || waiting == 0 {
		t.Fatalf("copied %d, held back %d: the test needs both", copied, waiting)
	}
	t.Logf("copied %d, held back %d", copied, waiting)
}
