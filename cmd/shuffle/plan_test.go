package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// repoRoot is the repository root, found from this file's location.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// workspace lays out what `shuffle plan examples/migrate.lua` expects in
// its working directory: examples/, policies/ and testenv-run/ from a
// running emulator, and points the AWS config environment at it.
func workspace(t *testing.T, rps int) (*testenvtest.Env, string) {
	t.Helper()
	return workspaceWith(t, testenv.Options{RecoveryPoints: rps, CopySpeed: 1e6})
}

// workspaceWith is workspace with the emulator's options given.
func workspaceWith(t *testing.T, o testenv.Options) (*testenvtest.Env, string) {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	o.Dir = filepath.Join(dir, "testenv-run")
	env := testenvtest.Start(t, o)
	for _, sub := range []string{"examples", "policies"} {
		copyDir(t, filepath.Join(root, sub), filepath.Join(dir, sub))
	}
	t.Setenv("AWS_CONFIG_FILE", env.ConfigPath())
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", env.CredentialsPath())
	t.Setenv("AWS_PROFILE", "")
	t.Chdir(dir)
	return env, dir
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// shuffle runs the CLI in-process and returns the exit code, stdout and stderr.
func shuffle(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: os.Getenv,
		notify: func(ctx context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }}
	code := run(args, e)
	return code, out.String(), errb.String()
}

func planJSON(t *testing.T, args ...string) *plan.Plan {
	t.Helper()
	code, out, errs := shuffle(t, append([]string{"plan", "examples/migrate.lua", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("shuffle plan exited %d: %s", code, errs)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan --json is not JSON: %v\n%s", err, out)
	}
	return &p
}

func TestPlanCountsEqualWhatTheAWSCLIListsAndResumes(t *testing.T) {
	env, dir := workspace(t, 1500)
	policies0 := env.Counters().Calls("GetBackupVaultAccessPolicy")
	p := planJSON(t)
	firstPolicies := env.Counters().Calls("GetBackupVaultAccessPolicy") - policies0
	if p.Schema != plan.PlanSchema || p.Totals.RecoveryPoints == 0 {
		t.Fatalf("unexpected plan: schema %q, %d RPs", p.Schema, p.Totals.RecoveryPoints)
	}
	if got := p.Totals.Included + p.Totals.Excluded + p.Totals.Ineligible; got != p.Totals.RecoveryPoints {
		t.Fatalf("included+excluded+ineligible = %d, want every RP (%d) decided", got, p.Totals.RecoveryPoints)
	}
	var sumVaults int64
	for _, v := range p.Vaults {
		sumVaults += v.RecoveryPoints
	}
	if sumVaults != p.Totals.RecoveryPoints {
		t.Fatalf("per-vault counts add up to %d, totals say %d", sumVaults, p.Totals.RecoveryPoints)
	}
	if len(p.Warnings.Conflicts) == 0 || p.Warnings.RPsWithoutMetadata == 0 {
		t.Fatalf("testenv's metadata has conflicts and missing rows; the plan warns of %d conflicts, %d RPs without metadata",
			len(p.Warnings.Conflicts), p.Warnings.RPsWithoutMetadata)
	}

	// The AWS CLI, on the same files, must list exactly as many RPs.
	if _, err := exec.LookPath("aws"); err != nil {
		t.Log("SKIP part: the AWS CLI is not on PATH; not comparing with it")
	} else {
		cli := func(args ...string) string {
			cmd := exec.Command("aws", append([]string{"--profile", "source", "--output", "text"}, args...)...)
			cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+env.ConfigPath(), "AWS_SHARED_CREDENTIALS_FILE="+env.CredentialsPath(), "HOME="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		var total int64
		for _, v := range strings.Fields(cli("backup", "list-backup-vaults", "--query", "BackupVaultList[].BackupVaultName")) {
			n, err := strconv.ParseInt(cli("backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", v, "--query", "length(RecoveryPoints)"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if total != p.Totals.RecoveryPoints {
			t.Fatalf("shuffle plan counts %d RPs, the AWS CLI lists %d", p.Totals.RecoveryPoints, total)
		}
	}

	// A second plan lists each vault only from its newest RP (one page
	// each here, nothing new), reads no vault's settings again, and
	// decides nothing again.
	calls := env.Counters().Calls("ListRecoveryPointsByBackupVault")
	policies := env.Counters().Calls("GetBackupVaultAccessPolicy")
	p2 := planJSON(t)
	if n := env.Counters().Calls("ListRecoveryPointsByBackupVault") - calls; n != int64(p2.Inventory.Vaults) || p2.Inventory.ListedPages != n || p2.Inventory.Deltas != p2.Inventory.Vaults || p2.Inventory.New != 0 {
		t.Fatalf("second plan listed %d pages (%d calls), %+v; want one delta page per vault", p2.Inventory.ListedPages, n, p2.Inventory)
	}
	// (The vault replication's dry run reads the destination vaults it
	// compares in both plans; the inventory reads no setting again.)
	if n := env.Counters().Calls("GetBackupVaultAccessPolicy") - policies; n > firstPolicies-int64(p2.Inventory.Vaults) {
		t.Fatalf("second plan read %d access policies, the first %d: the %d source vaults' settings were read again", n, firstPolicies, p2.Inventory.Vaults)
	}
	if p2.Totals.Included != p.Totals.Included || p2.Totals.Excluded != p.Totals.Excluded {
		t.Fatalf("resumed plan changed the decisions: %+v vs %+v", p2.Totals, p.Totals)
	}
}

func TestPlanHumanOutputAndOutFile(t *testing.T) {
	workspace(t, 300)
	code, out, errs := shuffle(t, "plan", "examples/migrate.lua", "--out", "plan.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"VAULT", "TOTAL", "Excluded, by reason:", "Ineligible, by reason:", "create", "Warnings:"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	// The plan creates nothing: the script's replicate line says what a
	// run would create.
	if !regexp.MustCompile(`(?m)^replicate: [1-9][0-9]* to create, `).MatchString(out) {
		t.Errorf("plan's replicate line does not say \"to create\":\n%s", out)
	}
	// --out writes the approved-plan file, whose header holds the report.
	f, err := approval.Read("plan.json", nil)
	if err != nil || f.Report == nil || f.Report.Schema != plan.PlanSchema || f.Trailer.Decisions != f.Report.Totals.Included {
		t.Fatalf("--out wrote no approved plan with the report: %v", err)
	}
}

// writeScript writes a variant of examples/migrate.lua with one edit.
func writeScript(t *testing.T, name, old, new string) string {
	t.Helper()
	b, err := os.ReadFile("examples/migrate.lua")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("examples/migrate.lua no longer contains %q", old)
	}
	p := filepath.Join("examples", name)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanBadInputRefusesWithoutTouchingState(t *testing.T) {
	workspace(t, 200)
	cases := []struct {
		name, old, new string
		wantCode       int
		wantErr        []string
	}{
		{"syntax.lua", "local shuffle = require(\"shuffle\")", "local shuffle = require(\"shuffle\"", 2, []string{"syntax.lua:"}},
		{"runtime.lua", "local inv = shuffle.inventory()", "local inv = shuffle.inventory()\nlocal x = nil + 1", 2, []string{"runtime.lua:"}},
		{"profile.lua", `profile = "source"`, `profile = "no-such-profile"`, 2, []string{`"no-such-profile"`, "known profiles", "source"}},
		{"account.lua", `account = "111111111111"`, `account = "333333333333"`, 2, []string{"111111111111", "333333333333"}},
		{"region.lua", `destination = { profile = "destination", account = "222222222222", region = "us-east-1" }`,
			`destination = { profile = "destination", account = "222222222222", region = "eu-west-1" }`, 2, []string{"us-east-1", "eu-west-1", "one region"}},
		{"csv.lua", `metadata = "testenv-run/metadata.csv"`, `metadata = "bad.csv"`, 2, []string{"bad.csv:3:"}},
		{"nocsv.lua", `metadata = "testenv-run/metadata.csv"`, `metadata = "missing.csv"`, 2, []string{"missing.csv"}},
	}
	if err := os.WriteFile("bad.csv", []byte("resourceArn,APMID\narn:aws:s3:::a,APM1\narn:aws:s3:::b,\"APM2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := writeScript(t, c.name, c.old, c.new)
			stateDir := filepath.Join(t.TempDir(), "state")
			code, _, errs := shuffle(t, "plan", script, "--state", stateDir)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.wantCode, errs)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("error lacks %q: %s", w, errs)
				}
			}
			if c.name != "runtime.lua" {
				if _, err := os.Stat(stateDir); err == nil {
					t.Errorf("state directory was created despite bad input")
				}
			}
		})
	}
	// --source-profile overrides the script (and is checked the same way).
	code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", filepath.Join(t.TempDir(), "s"), "--source-profile", "destination")
	if code != 2 || !strings.Contains(errs, "222222222222") {
		t.Fatalf("--source-profile destination: exit %d, %s", code, errs)
	}
}

func TestPolicyChangeRedecidesOnlyUncopiedRPs(t *testing.T) {
	workspace(t, 600)
	stateDir := filepath.Join(t.TempDir(), "state")
	first := planJSON(t, "--state", stateDir)

	// Pretend some included RPs were already copied.
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	copied := map[string]string{}
	b := st.NewBatch(state.EpochDecision)
	_ = st.ScanRPs(func(rp *state.RP) error {
		if len(copied) < 10 && rp.Decision != nil && rp.Decision.Outcome == state.Included {
			rp.Copy = "copied"
			copied[rp.Arn] = rp.Decision.Reason
			return b.Put(rp)
		}
		return nil
	})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if len(copied) == 0 {
		t.Fatal("no included RP to mark as copied")
	}

	// The security team now allows nothing: a new policy revision.
	pol, _ := os.ReadFile("policies/apmid.lua")
	changed := strings.Replace(string(pol), "if not M.allowed[apmid] then", "if true then", 1)
	if changed == string(pol) {
		t.Fatal("policies/apmid.lua no longer has the line this test edits")
	}
	if err := os.WriteFile("policies/apmid.lua", []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	second := planJSON(t, "--state", stateDir)
	if second.PolicyHash == first.PolicyHash {
		t.Fatal("the policy hash did not change with the policy")
	}
	if second.Totals.Included != int64(len(copied)) {
		t.Fatalf("after allowing nothing, %d RPs are included; want only the %d already copied", second.Totals.Included, len(copied))
	}
	st, err = state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.ScanRPs(func(rp *state.RP) error {
		if reason, ok := copied[rp.Arn]; ok {
			if rp.Decision.Outcome != state.Included || rp.Decision.Reason != reason {
				t.Errorf("copied RP %s was re-decided: %+v", rp.Arn, rp.Decision)
			}
		}
		return nil
	})
}

func TestPolicyReturningInvalidValueIsARecordedFailure(t *testing.T) {
	workspace(t, 200)
	pol, _ := os.ReadFile("policies/apmid.lua")
	bad := strings.Replace(string(pol), `return "include", "APMID " .. apmid .. " is allowed"`, `return 42`, 1)
	if err := os.WriteFile("policies/apmid.lua", []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	p := planJSON(t)
	if p.Totals.Failed == 0 || p.Totals.Included != 0 {
		t.Fatalf("a policy returning 42 must fail its decisions and include nothing: %+v", p.Totals)
	}
	found := false
	for reason := range p.Totals.ExcludedByReason {
		if strings.Contains(reason, "apmid") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no exclusion reason names the failing policy: %v", p.Totals.ExcludedByReason)
	}
}

func TestResetCommands(t *testing.T) {
	env, _ := workspace(t, 500)
	stateDir := filepath.Join(t.TempDir(), "state")
	first := planJSON(t, "--state", stateDir)

	// reset decisions: the next plan decides every RP again, same result.
	code, out, errs := shuffle(t, "reset", "decisions", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "cleared") {
		t.Fatalf("reset decisions: exit %d: %s%s", code, out, errs)
	}
	again := planJSON(t, "--state", stateDir)
	if again.Totals.Included != first.Totals.Included || again.Totals.Undecided != 0 {
		t.Fatalf("after reset decisions: %+v, first %+v", again.Totals, first.Totals)
	}

	// reset vault NAME: only that vault is listed again.
	vault := first.Vaults[0].Name
	if code, _, errs := shuffle(t, "reset", "vault", vault, "--state", stateDir); code != 0 {
		t.Fatalf("reset vault: exit %d: %s", code, errs)
	}
	before := env.Counters().Calls("ListRecoveryPointsByBackupVault")
	p := planJSON(t, "--state", stateDir)
	listed := env.Counters().Calls("ListRecoveryPointsByBackupVault") - before
	if listed == 0 || p.Inventory.ListedPages != listed || p.Totals.RecoveryPoints != first.Totals.RecoveryPoints {
		t.Fatalf("reset vault %s: listed %d pages (summary %d), %d RPs (first %d)", vault, listed, p.Inventory.ListedPages, p.Totals.RecoveryPoints, first.Totals.RecoveryPoints)
	}
	if int(listed) > len(first.Vaults) {
		t.Fatalf("reset vault listed %d pages; only vault %s should have been listed again", listed, vault)
	}

	// reset inventory: every vault is listed again; nothing is duplicated.
	if code, _, errs := shuffle(t, "reset", "inventory", "--state", stateDir); code != 0 {
		t.Fatalf("reset inventory: exit %d: %s", code, errs)
	}
	p = planJSON(t, "--state", stateDir)
	if p.Inventory.ListedPages < int64(len(first.Vaults)) || p.Totals.RecoveryPoints != first.Totals.RecoveryPoints || p.Inventory.New != 0 {
		t.Fatalf("reset inventory: %+v; want every vault listed again, %d RPs, none new", p.Inventory, first.Totals.RecoveryPoints)
	}

	// Bad targets are usage errors.
	for _, args := range [][]string{{"reset"}, {"reset", "everything"}, {"reset", "vault"}, {"reset", "vault", "no-such-vault", "--state", stateDir}} {
		if code, _, errs := shuffle(t, args...); code != 2 || errs == "" {
			t.Errorf("shuffle %v: exit %d (%s), want 2 with a message", args, code, errs)
		}
	}
}

func TestRunScriptResumesAndRecordsHistory(t *testing.T) {
	workspace(t, 300)
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "run", "examples/migrate.lua", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "inventory: ") || !strings.Contains(out, "decide: ") {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = shuffle(t, "run", "examples/migrate.lua", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "14 pages listed; 0 new, 0 gone; 14 vaults listed from their newest, 0 whole") || !strings.Contains(out, "0 decided in this run") {
		t.Fatalf("second run must list only each vault's delta (one page each, nothing new) and decide nothing: exit %d\n%s%s", code, out, errs)
	}
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs()
	if err != nil || len(runs) != 2 || runs[0].Command != "run" || runs[1].End.IsZero() {
		t.Fatalf("run history: %+v, %v; want two finished runs", runs, err)
	}
}

// enrich() without decide(): the join that would ride on the decide pass
// is written when the script ends.
func TestRunEnrichWithoutDecidePersistsMetadata(t *testing.T) {
	workspace(t, 300)
	script := writeScript(t, "nodecide.lua", "local d = shuffle.decide()", "local d = {included=0, excluded=0, failed=0, ineligible=0, redecided=0}")
	// Stop before replicate and copy, which would decide.
	b, _ := os.ReadFile(script)
	if i := strings.Index(string(b), "-- 4. Replicate"); i < 0 {
		t.Fatal("examples/migrate.lua has no step 4 (replicate) any more")
	} else if err := os.WriteFile(script, b[:i], 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var enriched, withMeta, decided int
	_ = st.ScanRPs(func(rp *state.RP) error {
		if rp.Enriched {
			enriched++
		}
		if rp.Meta != nil && rp.Meta.Fields["apmid"] != "" {
			withMeta++
		}
		if rp.Decision != nil {
			decided++
		}
		return nil
	})
	if enriched != 300 || withMeta == 0 || decided != 0 {
		t.Fatalf("after enrich without decide: %d enriched (want 300), %d with an APMID, %d decided (want 0)", enriched, withMeta, decided)
	}
}

// Editing the metadata CSV between runs re-joins and re-decides: the
// caches key on the file's contents.
func TestEditedMetadataIsJoinedAgain(t *testing.T) {
	workspace(t, 600)
	stateDir := filepath.Join(t.TempDir(), "state")
	first := planJSON(t, "--state", stateDir)
	csv, err := os.ReadFile("testenv-run/metadata.csv")
	if err != nil {
		t.Fatal(err)
	}
	// APM0002045 is not in apmid.lua's allow set; APM0001234 is.
	edited := strings.ReplaceAll(string(csv), "APM0002045", "APM0001234")
	if edited == string(csv) {
		t.Fatal("testenv's metadata no longer contains APM0002045")
	}
	if err := os.WriteFile("testenv-run/metadata.csv", []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	second := planJSON(t, "--state", stateDir)
	if second.Totals.Included <= first.Totals.Included {
		t.Fatalf("after allowing the RPs of APM0002045 through the CSV, included went %d -> %d", first.Totals.Included, second.Totals.Included)
	}
	for reason := range second.Totals.ExcludedByReason {
		if strings.Contains(reason, "APM0002045") {
			t.Fatalf("a decision still names the old APMID: %q", reason)
		}
	}
}
