package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/testenv"
)

func destVaultExists(t *testing.T, dst *backup.Client, name string) bool {
	t.Helper()
	_, err := dst.DescribeBackupVault(context.Background(), &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("describe destination vault %s: %v", name, err)
	}
	return true
}

func checkJSON(t *testing.T) (int, *engine.CheckReport) {
	t.Helper()
	code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--skip-encryption", "--json")
	var r engine.CheckReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Compliance == nil {
		t.Fatalf("check --json: %v\n%s%s", err, out, errs)
	}
	return code, &r
}

// A source vault whose replica would fail the compliance policy (its
// access policy admits Principal "*" under an organization condition,
// and vaults.lua keeps that statement) is held before anything is
// created: plan shows it blocked,
// check reports it, run creates no such vault and starts no copy into
// it while the other vaults copy, and check after the run finds no
// blocking failure on the vaults shuffle created.
func TestProposedNonCompliantVaultIsHeldBeforeCreation(t *testing.T) {
	const held = "prod-ebs-daily"
	env, _ := workspace(t, 80)
	editPolicy(t, "policies/vaults.lua", "M.access_exceptions = {}", `M.access_exceptions = { ["prod-ebs-daily"] = { AllowOrgCopyIn = "keep" } }`)
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "fast.lua")

	// plan: blocked, with the rules.
	p := planJSON(t, "--state", stateDir)
	found := false
	for _, v := range p.Vaults {
		if v.Name != held {
			continue
		}
		found = true
		d := v.Destination
		all := strings.Join(d.Blocking, "\n")
		if !d.ComplianceBlocked || !strings.Contains(all, "compliance: destination vault prod-ebs-daily as shuffle would create it fails policies/compliance.lua") ||
			!strings.Contains(all, `access-restricted (expected grants only accounts 111111111111 and 222222222222, actual grants Principal "*")`) {
			t.Errorf("plan of %s: %+v", held, d)
		}
	}
	if !found {
		t.Fatalf("plan has no vault %s", held)
	}
	code, out, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir)
	if code != exitOK || !strings.Contains(out, "Blocked: destination vault prod-ebs-daily: compliance: ") {
		t.Errorf("plan (text) exited %d:\n%s%s", code, out, errs)
	}

	// check: reported as proposed, held, not a blocking finding.
	code, out, errs = shuffle(t, "check", "examples/migrate.lua", "--skip-encryption")
	if code != exitOK {
		t.Fatalf("check before the run exited %d:\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"destination vault prod-ebs-daily (proposed: as shuffle would create it from source vault prod-ebs-daily): FAIL (blocking rule: shuffle does not create it",
		"HELD: ", "OK: no blocking findings"} {
		if !strings.Contains(out, want) {
			t.Errorf("check before the run: no %q in:\n%s", want, out)
		}
	}
	if _, r := checkJSON(t); !hasProposed(r, held, true) {
		t.Errorf("check --json: no proposed, blocking %s", held)
	}

	// run: the vault is not created and nothing is copied into it; the
	// other vaults copy. Its event stream says compliance-blocked.
	code, out, errs = shuffle(t, "run", script, "--state", stateDir, "--json")
	if code != exitOK {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "prod-ebs-daily (compliance): compliance: destination vault prod-ebs-daily") {
		t.Errorf("run does not say why %s is held:\n%s%s", held, out, errs)
	}
	var blocked []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct {
			Kind  string `json:"kind"`
			Vault *struct {
				SourceVault string `json:"source_vault"`
				Reason      string `json:"reason"`
			} `json:"vault"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("run --json line %q: %v", line, err)
		}
		if e.Kind == "compliance-blocked" && e.Vault != nil && strings.Contains(e.Vault.Reason, "access-restricted") {
			blocked = append(blocked, e.Vault.SourceVault)
		}
	}
	if len(blocked) != 1 || blocked[0] != held {
		t.Errorf("compliance-blocked events for %q; want exactly one, for %s, with the failed rule\n%s", blocked, held, out)
	}
	if destVaultExists(t, dst, held) {
		t.Errorf("run created the non-compliant vault %s", held)
	}
	jobs := jobsByDestination(t, src)
	others := 0
	for v, n := range jobs {
		if v != held {
			others += n
		}
	}
	if jobs[held] != 0 || others == 0 {
		t.Errorf("copy jobs by destination %v: want none into %s and some into the others", jobs, held)
	}

	// check after the run: nothing shuffle created fails a blocking rule.
	code, r := checkJSON(t)
	if code != exitOK {
		t.Errorf("check after the run exited %d", code)
	}
	for _, v := range r.Compliance.Vaults {
		if v.Account == finding.SideDestination && !v.Proposed && v.Blocking() {
			t.Errorf("check after the run: destination vault %s fails a blocking rule: %+v", v.Name, v.Results)
		}
	}
	if !hasProposed(r, held, true) {
		t.Errorf("check after the run: %s is not reported as held", held)
	}
}

func hasProposed(r *engine.CheckReport, name string, blocking bool) bool {
	for _, v := range r.Compliance.Vaults {
		if v.Proposed && v.Name == name && v.Blocking() == blocking {
			return true
		}
	}
	return false
}

// With on_proposed_failure = "stop-run" a proposed vault that fails
// stops the run in its pre-flight, exit 3, before anything is written.
func TestProposedFailureStopRunStopsBeforeAnythingIsWritten(t *testing.T) {
	env, _ := workspace(t, 40)
	editPolicy(t, "policies/compliance.lua", `M.on_proposed_failure = "block-vault"`, `M.on_proposed_failure = "stop-run"`)
	editPolicy(t, "policies/vaults.lua", "M.access_exceptions = {}", `M.access_exceptions = { ["prod-ebs-daily"] = { AllowOrgCopyIn = "keep" } }`)
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", stateDir)
	if code != exitBlocking {
		t.Fatalf("run exited %d, want %d\n%s%s", code, exitBlocking, out, errs)
	}
	if !strings.Contains(errs, `on_proposed_failure = "stop-run"`) || !strings.Contains(errs, "prod-ebs-daily (proposed") {
		t.Errorf("the stop does not say why:\n%s", errs)
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("the stopped run created the state directory (stat: %v)", err)
	}
	for _, op := range []string{"CreateBackupVault", "CreateLogicallyAirGappedBackupVault", "PutBackupVaultAccessPolicy", "StartCopyJob"} {
		if n := env.Counters().Calls(op); n != 0 {
			t.Errorf("%s was called %d times by a run the pre-flight stopped", op, n)
		}
	}
	if code, _ := checkJSON(t); code != exitBlocking {
		t.Errorf("check with stop-run exited %d, want %d", code, exitBlocking)
	}
}
