package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine"
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
		if f.Severity == engine.Blocking && f.Action == "backup:PutBackupVaultLockConfiguration" {
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
	for profile, doc := range map[string]engine.PolicyDocument{testenv.ProfileSource: p.SourceOperatorRole, testenv.ProfileDestination: p.DestinationOperatorRole} {
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
	var doc engine.PolicyDocument
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
	for profile, doc := range map[string]engine.PolicyDocument{testenv.ProfileSource: p.SourceOperatorRole, testenv.ProfileDestination: p.DestinationOperatorRole} {
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
