package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/compliance"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// shippedCompliance loads the repository's policies with its compliance
// module, as examples/migrate.lua configures them.
func shippedCompliance(t *testing.T, dir string) *luabind.Policies {
	t.Helper()
	p, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags", Compliance: "compliance"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func complianceCheck(t *testing.T, env *testenvtest.Env, pol *luabind.Policies) *CheckReport {
	t.Helper()
	r, err := Check(context.Background(), CheckInput{Config: preflightConfig(), Source: env.Config(t, testenv.ProfileSource),
		Destination: env.Config(t, testenv.ProfileDestination), SkipEncryption: true, Compliance: pol})
	if err != nil {
		t.Fatal(err)
	}
	if r.Compliance == nil {
		t.Fatalf("no compliance report:\n%s", dumpFindings(r))
	}
	return r
}

func vaultResult(t *testing.T, r *compliance.Report, side finding.Side, vault, rule string) luabind.ComplianceResult {
	t.Helper()
	for _, v := range r.Vaults {
		if v.Account != side || v.Name != vault || v.Proposed {
			continue
		}
		for _, res := range v.Results {
			if res.Rule == rule {
				return res
			}
		}
		t.Fatalf("%s vault %s has no result for %s: %+v", side, vault, rule, v)
	}
	t.Fatalf("no %s vault %s in the compliance report", side, vault)
	return luabind.ComplianceResult{}
}

func proposedResult(t *testing.T, proposed map[string]compliance.Vault, vault, rule string) luabind.ComplianceResult {
	t.Helper()
	for _, res := range proposed[vault].Results {
		if res.Rule == rule {
			return res
		}
	}
	t.Fatalf("proposed vault %s has no result for %s", vault, rule)
	return luabind.ComplianceResult{}
}

func listVaultNames(t *testing.T, bc *backup.Client) []string {
	t.Helper()
	out, err := bc.ListBackupVaults(context.Background(), &backup.ListBackupVaultsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range out.BackupVaultList {
		names = append(names, aws.ToString(v.BackupVaultName))
	}
	return names
}

// TestComplianceOfTestenvVaults judges testenv's vaults by the shipped
// policies/compliance.lua, then breaks two destination vaults and checks
// that both are flagged, with what differs.
func TestComplianceOfTestenvVaults(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 30})
	pol := shippedCompliance(t, "../policies")
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))

	r := complianceCheck(t, env, pol)
	existing, proposed := 0, map[string]compliance.Vault{}
	for _, v := range r.Compliance.Vaults {
		if v.Proposed {
			proposed[v.Name] = v
		} else {
			existing++
		}
	}
	if want := len(listVaultNames(t, src)) + len(listVaultNames(t, dst)); existing != want {
		t.Fatalf("%d vaults judged, want every vault of both accounts (%d)", existing, want)
	}
	// Every destination vault a run would create is judged as it would
	// be created: one per source vault whose destination does not exist.
	if want := len(listVaultNames(t, src)) - len(listVaultNames(t, dst)); len(proposed) != want {
		t.Fatalf("%d proposed vaults judged, want %d", len(proposed), want)
	}
	// Its source is unlocked; vaults.lua gives a production vault the
	// governance lock compliance.lua requires, so it would comply.
	if v := proposed["prod-ebs-weekly"]; v.Blocking() || v.SourceVault != "prod-ebs-weekly" {
		t.Errorf("proposed prod-ebs-weekly: %+v", v)
	}
	if res := proposedResult(t, proposed, "prod-ebs-weekly", "vault-lock"); !res.Pass || res.Actual != "locked, MinRetentionDays 7" {
		t.Errorf("proposed prod-ebs-weekly vault-lock: %+v", res)
	}
	for name, v := range proposed {
		if v.Blocking() {
			t.Errorf("fresh testenv: proposed vault %s fails a blocking rule: %+v", name, v.Results)
		}
	}
	// Its source admits Principal "*" under an organization condition;
	// the default translation does not copy that statement.
	for _, res := range proposed["prod-ebs-daily"].Results {
		if res.Rule == "access-restricted" && !res.Pass {
			t.Errorf(`proposed prod-ebs-daily: %+v; the statement admitting Principal "*" was copied`, res)
		}
	}
	if v := proposed["legal-hold-airgapped"]; v.Blocking() {
		t.Errorf("proposed air-gapped vault (AWS-owned key, compliance lock from creation): %+v", v)
	}
	if r.Compliance.Module != "../policies/compliance.lua" || r.Compliance.PolicyHash != pol.Hash {
		t.Errorf("module %q hash %q", r.Compliance.Module, r.Compliance.PolicyHash)
	}
	// The pre-existing destination vault matches its source: locked
	// (governance, 30 days), CMK, copy-in from the source account only;
	// it has no notifications, which is only a warning.
	for rule, want := range map[string]string{"vault-lock": "locked, MinRetentionDays 30", "lock-mode": "governance",
		"cmk-encryption": "CUSTOMER_MANAGED_KMS_KEY", "access-restricted": "grants 111111111111"} {
		if res := vaultResult(t, r.Compliance, finding.SideDestination, "prod-rds-monthly", rule); !res.Pass || res.Actual != want {
			t.Errorf("destination prod-rds-monthly %s = %+v, want a pass with actual %q", rule, res, want)
		}
	}
	if res := vaultResult(t, r.Compliance, finding.SideDestination, "prod-rds-monthly", "copy-failure-alerts"); res.Pass || res.Severity != luabind.ComplianceWarning {
		t.Errorf("copy-failure-alerts = %+v, want a warning", res)
	}
	// Source vaults are judged too, but never block.
	// An air-gapped vault may keep AWS's own key (compliance.lua).
	if res := vaultResult(t, r.Compliance, finding.SideSource, "legal-hold-airgapped", "cmk-encryption"); !res.Pass || res.Actual != "AWS_OWNED_KMS_KEY" {
		t.Errorf("source legal-hold-airgapped cmk-encryption = %+v", res)
	}
	if res := vaultResult(t, r.Compliance, finding.SideSource, "prod-ebs-daily", "access-restricted"); res.Pass || res.Actual != `grants Principal "*"` {
		t.Errorf("source prod-ebs-daily (organization-wide copy-in) access-restricted = %+v", res)
	}
	if r.Blocking() {
		t.Fatalf("fresh testenv: compliance blocks:\n%s", dumpFindings(r))
	}

	// Break two destination vaults.
	ctx := context.Background()
	foreign := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","333333333333"]},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`
	if _, err := dst.PutBackupVaultAccessPolicy(ctx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-rds-monthly"), Policy: aws.String(foreign)}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("prod-unlocked"),
		BackupVaultTags: map[string]string{"Environment": "prod"}}); err != nil {
		t.Fatal(err)
	}
	r = complianceCheck(t, env, pol)
	if res := vaultResult(t, r.Compliance, finding.SideDestination, "prod-rds-monthly", "access-restricted"); res.Pass || res.Actual != "grants 333333333333" || res.Severity != luabind.ComplianceBlocking {
		t.Errorf("foreign account: access-restricted = %+v", res)
	}
	if res := vaultResult(t, r.Compliance, finding.SideDestination, "prod-unlocked", "vault-lock"); res.Pass || res.Actual != "not locked" {
		t.Errorf("unlocked vault: vault-lock = %+v", res)
	}
	if !r.Blocking() {
		t.Fatalf("broken destination vaults do not block:\n%s", dumpFindings(r))
	}
	flagged := map[string]bool{}
	for _, f := range r.Findings {
		if f.Check == "compliance" && f.Severity == finding.Blocking {
			for _, name := range []string{"prod-rds-monthly", "prod-unlocked"} {
				if strings.Contains(f.What, "destination vault "+name+" fails") {
					flagged[name] = true
				}
			}
		}
	}
	if len(flagged) != 2 {
		t.Fatalf("blocking findings name %v, want both broken vaults:\n%s", flagged, dumpFindings(r))
	}
}

// TestComplianceBrokenPolicyIsAFailedCheck: a runtime error in check is
// reported per vault with file and line, and blocks for destination
// vaults.
func TestComplianceBrokenPolicyIsAFailedCheck(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 10})
	dir := t.TempDir()
	for name, src := range map[string]string{
		"apmid.lua":      `return { decide = function(rp) return "include", "ok" end }`,
		"compliance.lua": "local M = {}\nfunction M.check(v)\n  return { { rule = 'x', pass = v.no_such.field } }\nend\nreturn M\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pol, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"apmid"}, Compliance: "compliance"})
	if err != nil {
		t.Fatal(err)
	}
	r := complianceCheck(t, env, pol)
	for _, v := range r.Compliance.Vaults {
		if v.Pass || !strings.Contains(v.Error, "compliance.lua:3") {
			t.Fatalf("vault %s: pass=%v error=%q, want a failure naming compliance.lua:3", v.Name, v.Pass, v.Error)
		}
	}
	if !r.Blocking() {
		t.Fatal("a compliance policy that fails on destination vaults does not block")
	}
}

// An existing destination vault that fails the policy but that
// reconcile = true would bring in line is a warning (the run fixes it),
// with its reconciled form shown as proposed; without reconcile it
// blocks.
func TestComplianceExistingVaultReconcileFixes(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	if _, err := dst.CreateBackupVault(context.Background(), &backup.CreateBackupVaultInput{BackupVaultName: aws.String("prod-ebs-weekly"),
		EncryptionKeyArn: aws.String("arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140") /* alias/backup-vault-prod */, BackupVaultTags: map[string]string{"Environment": "prod"}}); err != nil {
		t.Fatal(err)
	}
	for _, reconcile := range []bool{true, false} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("../policies")); err != nil {
			t.Fatal(err)
		}
		if reconcile {
			p := filepath.Join(dir, "vaults.lua")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), "reconcile = false,", "reconcile = true,", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := complianceCheck(t, env, shippedCompliance(t, dir))
		if res := vaultResult(t, r.Compliance, finding.SideDestination, "prod-ebs-weekly", "vault-lock"); res.Pass {
			t.Fatalf("reconcile %v: the unlocked prod vault passes vault-lock: %+v", reconcile, res)
		}
		var proposed *compliance.Vault
		for i, v := range r.Compliance.Vaults {
			if v.Proposed && v.Name == "prod-ebs-weekly" {
				proposed = &r.Compliance.Vaults[i]
			}
		}
		if reconcile && (proposed == nil || !proposed.Reconcile || proposed.Blocking()) {
			t.Errorf("reconcile: the reconciled prod-ebs-weekly (governance lock) should pass: %+v", proposed)
		}
		if !reconcile && proposed != nil {
			t.Errorf("no reconcile: an existing vault was proposed: %+v", proposed)
		}
		if r.Blocking() == reconcile {
			t.Errorf("reconcile %v: blocking %v\n%s", reconcile, r.Blocking(), dumpFindings(r))
		}
	}
}
