package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	enginepreflight "github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/testenv"
)

func TestCheckCLIDefaultProfilesPass(t *testing.T) {
	workspace(t, 50)
	code, out, errs := shuffle(t, "check", "examples/migrate.lua")
	if code != exitOK {
		t.Fatalf("check exited %d:\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "OK: no blocking findings") {
		t.Fatalf("check output:\n%s", out)
	}
}

func TestCheckCLIReadOnlySourceBlocks(t *testing.T) {
	workspace(t, 50)
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--source-profile", "source-readonly")
	if code != exitBlocking {
		t.Fatalf("check exited %d, want %d:\n%s\n%s", code, exitBlocking, out, errs)
	}
	for _, a := range []string{"backup:StartCopyJob", "iam:PassRole"} {
		if !strings.Contains(out, a) {
			t.Errorf("output does not name %s:\n%s", a, out)
		}
	}
}

func TestCheckCLINoLockDestinationBlocksJSON(t *testing.T) {
	workspace(t, 50)
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--destination-profile", "destination-nolock", "--json")
	if code != exitBlocking {
		t.Fatalf("check exited %d, want %d:\n%s\n%s", code, exitBlocking, out, errs)
	}
	var r engine.CheckReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, out)
	}
	found := false
	for _, f := range r.Findings {
		if f.Severity == finding.Blocking && f.Action == "backup:PutBackupVaultLockConfiguration" {
			found = true
		}
	}
	if r.Schema != engine.CheckSchema || !found {
		t.Fatalf("no blocking finding names backup:PutBackupVaultLockConfiguration:\n%s", out)
	}
}

// TestIAMPolicyCLIGeneratedPoliciesPassCheck loads the printed policies
// into the testenv principals and runs check through the CLI.
func TestIAMPolicyCLIGeneratedPoliciesPassCheck(t *testing.T) {
	env, _ := workspace(t, 50)
	code, out, errs := shuffle(t, "iam-policy", "examples/migrate.lua")
	if code != exitOK {
		t.Fatalf("iam-policy exited %d: %s", code, errs)
	}
	var p IAMPolicies
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("iam-policy output is not JSON: %v\n%s", err, out)
	}
	if len(p.DestinationVaultAccessPolicy.Statement) != 1 || p.DestinationVaultAccessPolicy.Statement[0].Action[0] != "backup:CopyIntoBackupVault" {
		t.Fatalf("vault access policy: %+v", p.DestinationVaultAccessPolicy)
	}
	for profile, doc := range map[string]enginepreflight.PolicyDocument{testenv.ProfileSource: p.SourceOperatorRole, testenv.ProfileDestination: p.DestinationOperatorRole} {
		b, _ := json.Marshal(doc)
		if err := env.SetPolicies(profile, []string{string(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errs := shuffle(t, "check", "examples/migrate.lua"); code != exitOK {
		t.Fatalf("check with the generated policies exited %d:\n%s\n%s", code, out, errs)
	}
	// One document alone, for put-role-policy.
	code, out, _ = shuffle(t, "iam-policy", "examples/migrate.lua", "--only", "source")
	var doc enginepreflight.PolicyDocument
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Statement) == 0 {
		t.Fatalf("iam-policy --only source exited %d:\n%s", code, out)
	}
}

func TestCheckCLIMissingScriptIsUsageError(t *testing.T) {
	workspace(t, 10)
	if code, _, _ := shuffle(t, "check", "nope.lua"); code != exitUsage {
		t.Fatalf("check nope.lua exited %d, want %d", code, exitUsage)
	}
}

// TestIAMPolicyCLIGeneratedPoliciesRunSucceeds: with only the generated
// policies on the testenv principals, a full `shuffle run` copies
// everything it includes, with no failure.
func TestIAMPolicyCLIGeneratedPoliciesRunSucceeds(t *testing.T) {
	env, _ := workspace(t, 200)
	code, out, errs := shuffle(t, "iam-policy", "examples/migrate.lua")
	if code != exitOK {
		t.Fatalf("iam-policy exited %d: %s", code, errs)
	}
	var p IAMPolicies
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	for profile, doc := range map[string]enginepreflight.PolicyDocument{testenv.ProfileSource: p.SourceOperatorRole, testenv.ProfileDestination: p.DestinationOperatorRole} {
		b, _ := json.Marshal(doc)
		if err := env.SetPolicies(profile, []string{string(b)}); err != nil {
			t.Fatal(err)
		}
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "fast.lua")
	code, out, errs = shuffle(t, "run", script, "--state", stateDir)
	if code != exitOK {
		t.Fatalf("run with the generated policies exited %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, " 0 failed") || strings.Contains(out, "0 completed in this run") {
		t.Fatalf("run with the generated policies copied nothing or had failures:\n%s", out)
	}
	if testing.Verbose() {
		t.Log(out)
	}
}

// TestCheckCLIComplianceBeforeAndAfterRun: before the run the two
// pre-existing destination vaults meet every blocking rule of the
// shipped policies/compliance.lua, and check passes. After the run,
// the vaults shuffle created like-for-like from unlocked production
// source vaults fail vault-lock: check exits 3, and the table shows the
// same failure on the source vault of the same name.
func TestCheckCLIComplianceBeforeAndAfterRun(t *testing.T) {
	workspace(t, 60)
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--skip-encryption")
	if code != exitOK {
		t.Fatalf("check before the run exited %d:\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"COMPLIANCE (policies/compliance.lua)", "destination vault prod-rds-monthly: FAIL (warnings only)",
		"source vault prod-ebs-daily: FAIL (a source vault: shown for comparison, never blocks)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check before the run: no %q in:\n%s", want, out)
		}
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", stateDir); code != exitOK {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	// After the run, check agrees with it: the vaults the run created
	// were judged before creation and comply. prod-ebs-weekly, unlocked
	// at the source, got the governance lock vaults.lua asks for; its
	// table shows the source's own failure alongside.
	code, out, errs = shuffle(t, "check", "examples/migrate.lua", "--skip-encryption")
	if code != exitOK {
		t.Fatalf("check after the run exited %d, want %d:\n%s\n%s", code, exitOK, out, errs)
	}
	i := strings.Index(out, "destination vault prod-ebs-weekly: FAIL (warnings only)")
	if i < 0 {
		t.Fatalf("prod-ebs-weekly not created compliant by the run:\n%s", out)
	}
	block := out[i:]
	block = block[:strings.Index(block, "\n\n")]
	if !regexp.MustCompile(`(?m)^  vault-lock +pass +locked, MinRetentionDays >= 7 +locked, MinRetentionDays 7 +FAIL: not locked`).MatchString(block) {
		t.Fatalf("no vault-lock row passing on the destination with the source's own failure:\n%s", block)
	}
	if strings.Contains(out, "NOT COMPLIANT:") || strings.Contains(out, "BLOCKED:") || strings.Contains(out, "HELD:") || !strings.Contains(out, "OK: no blocking findings") {
		t.Errorf("summary lines:\n%s", out)
	}
	// --json carries the same verdicts; --skip-compliance leaves them out.
	_, out, _ = shuffle(t, "check", "examples/migrate.lua", "--skip-encryption", "--json")
	var r engine.CheckReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Compliance == nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	found := false
	for _, v := range r.Compliance.Vaults {
		if v.Account == finding.SideDestination && v.Name == "prod-ebs-weekly" && !v.Proposed && !v.Blocking() {
			found = true
		}
		if v.Account == finding.SideDestination && v.Blocking() {
			t.Errorf("--json: destination vault %s (proposed %v) fails a blocking rule after the run", v.Name, v.Proposed)
		}
	}
	if !found {
		t.Errorf("--json: prod-ebs-weekly not an existing, compliant vault:\n%s", out)
	}
	if code, out, _ := shuffle(t, "check", "examples/migrate.lua", "--skip-encryption", "--skip-compliance"); code != exitOK || strings.Contains(out, "COMPLIANCE") {
		t.Errorf("--skip-compliance exited %d:\n%s", code, out)
	}
}

// TestCheckCLIBrokenCompliancePolicy: a syntax error in compliance.lua is
// a usage error naming the file and line.
func TestCheckCLIBrokenCompliancePolicy(t *testing.T) {
	workspace(t, 10)
	if err := os.WriteFile("policies/compliance.lua", []byte("local M = {}\nfunction M.check(v)\n  return {\nend\nreturn M\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--skip-encryption")
	if code != exitUsage || !strings.Contains(errs, "compliance.lua:4") {
		t.Fatalf("check with a broken compliance.lua exited %d:\n%s\n%s", code, out, errs)
	}
}
