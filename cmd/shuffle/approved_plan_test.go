package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// writeCalls are the calls to the emulator that write, by operation.
func writeCalls(env *testenvtest.Env) map[string]int64 {
	out := map[string]int64{}
	for op, n := range env.Counters().Snapshot().Calls {
		for _, p := range []string{"Create", "Put", "Start", "Tag", "Untag", "Delete", "Update"} {
			if strings.HasPrefix(op, p) && n > 0 {
				out[op] = n
			}
		}
	}
	return out
}

// editPolicy applies one edit to a policy file of the workspace (a copy
// of policies/).
func editPolicy(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s no longer contains %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The approve-then-run workflow: a plan approved, then a policy
// edited, then `run --plan` refusing with the difference (exit 5,
// nothing written to AWS); accepted with --allow-drift, the run copies
// exactly the plan's recovery points still decided as approved, each
// once, and nothing else.
func TestApprovedPlanRefusesDriftThenCopiesOnlyThePlan(t *testing.T) {
	env, _ := workspace(t, 300)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "fast.lua")

	code, out, errs := shuffle(t, "plan", script, "--state", stateDir, "--out", "approved.plan")
	if code != 0 {
		t.Fatalf("plan --out exited %d\n%s%s", code, out, errs)
	}
	approved := includedSet(t, stateDir)
	if len(approved) == 0 {
		t.Fatal("the plan includes nothing; the test needs included recovery points")
	}
	if !strings.Contains(errs, fmt.Sprintf("approved plan written to approved.plan: %d decisions, checksum sha256:", len(approved))) {
		t.Errorf("plan --out does not say what it wrote:\n%s", errs)
	}
	if f, err := approval.Read("approved.plan", nil); err != nil || lastRunPlan(t, stateDir) != f.Trailer.Checksum {
		t.Errorf("the plan's run record does not name the checksum of the file it wrote (%v)", err)
	}

	checkShow(t, "approved.plan", script, len(approved))

	checkEditedPlanRefused(t, env, script, stateDir)

	editPoliciesAfterApproval(t)
	removed, changed := checkRefusal(t, env, script, stateDir)

	// Accepting only some of it is still a refusal.
	if code, _, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "approved.plan", "--allow-drift", "added", "--skip-check"); code != exitDrift ||
		!strings.Contains(errs, "--allow-drift removed,changed,vaults") {
		t.Fatalf("--allow-drift added with removed drift: exit %d\n%s", code, errs)
	}

	checkAcceptedRun(t, env, script, stateDir, approved, removed, changed)

	// The next window resumes the same plan: nothing more to start.
	starts := env.Counters().Calls("StartCopyJob")
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "approved.plan", "--allow-drift", "all", "--skip-check"); code != 0 {
		t.Fatalf("second run --plan exited %d\n%s%s", code, out, errs)
	}
	if n := env.Counters().Calls("StartCopyJob") - starts; n != 0 {
		t.Errorf("a second run --plan started %d copy jobs, want none", n)
	}
	// The run history records the plan it followed.
	first := lastRunPlan(t, stateDir)
	if f, err := approval.Read("approved.plan", nil); err != nil || first != f.Trailer.Checksum {
		t.Fatalf("the last run record names plan %q, not approved.plan's checksum (%v)", first, err)
	}
	if code, out, errs := shuffle(t, "status", "--state", stateDir); code != 0 || !strings.Contains(out, "  it followed the approved plan with checksum "+first+", accepting drift: added,removed,changed,vaults") {
		t.Errorf("status does not say which plan the last run followed: exit %d\n%s%s", code, out, errs)
	}
	second := checkChangeOfPlan(t, env, script, stateDir, first)

	// A run without --plan on that state says so.
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check"); code != 0 ||
		!strings.Contains(errs, "the last run of this state followed an approved plan (checksum "+second) {
		t.Errorf("run without --plan: exit %d, no notice of the plan\n%s%s", code, out, errs)
	}
}

// checkAcceptedRun checks the run that accepts the drift: it copies the
// plan's RPs still included with the same decision (approved, less the
// removed and changed ones: those of prod-rds-daily got another tag),
// each once, and nothing else, and says what it held back.
func checkAcceptedRun(t *testing.T, env *testenvtest.Env, script, stateDir string, approved map[string]string, removed, changed int) {
	t.Helper()
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "approved.plan", "--allow-drift", "added,removed,changed,vaults", "--skip-check")
	if code != 0 {
		t.Fatalf("run --plan --allow-drift added,removed,changed,vaults exited %d\n%s%s", code, out, errs)
	}
	// What may be copied: the plan's RPs still included now, with the
	// same tags (not those of prod-rds-daily).
	now := includedSet(t, stateDir)
	want := map[string]string{}
	for k, arn := range approved {
		if now[k] == arn && !strings.HasPrefix(k, "prod-rds-daily|") {
			want[k] = arn
		}
	}
	if len(want) != len(approved)-removed-changed || len(want) == 0 || changed == 0 {
		t.Fatalf("%d of the plan's %d RPs are included now with the same decision; the refusal said %d removed, %d changed", len(want), len(approved), removed, changed)
	}
	checkJobs(t, env, want)
	if n := len(env.Counters().Snapshot().JobsCreated); n != len(want) {
		t.Errorf("%d copy jobs created, want %d (the plan's RPs still included)", n, len(want))
	}
	added := len(now) - len(want) // held back: added and changed
	for _, want := range []string{"drift accepted with --allow-drift added,removed,changed,vaults",
		"following the approved plan approved.plan (checksum sha256:",
		fmt.Sprintf("%d of its %d recovery points decided as approved; drift accepted (--allow-drift added,removed,changed,vaults): %d added, %d removed, %d changed, none of them copied; 1 destination vaults created as configured now, not as planned",
			len(want), len(approved), len(now)-len(want)-changed, removed, changed), fmt.Sprintf("copy: %d included recovery points not started: not in the approved plan", added)} {
		if !strings.Contains(errs, want) {
			t.Errorf("the run's output lacks %q:\n%s", want, errs)
		}
	}

}

// checkShow checks what show prints of the plan at path: its summary,
// and with --decisions one line per decision.
func checkShow(t *testing.T, path, script string, decisions int) {
	t.Helper()
	code, out, errs := shuffle(t, "show", path)
	if code != 0 {
		t.Fatalf("show exited %d: %s", code, errs)
	}
	for _, want := range []string{"Approved plan " + path + " (shuffle.approved-plan/v1)", "from " + script, "policy hash:",
		"copies:      from account 111111111111 to 222222222222 in us-east-1",
		"fingerprint sha256 ", "(verified)", fmt.Sprintf("decisions:   %d recovery points to copy", decisions),
		"Vaults to create:", "Plan report:", "TOTAL"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = shuffle(t, "show", path, "--decisions")
	_, list, _ := strings.Cut(out, "\nDecisions (")
	if n := strings.Count(list, "\n") - 1; code != 0 || n != decisions {
		t.Errorf("show --decisions exited %d and names %d recovery points, want at least %d:\n%s", code, n, decisions, out)
	}

}

// checkEditedPlanRefused checks that show and run refuse an edited copy
// of approved.plan (one decision's destination changed, recompressed),
// before anything runs.
func checkEditedPlanRefused(t *testing.T, env *testenvtest.Env, script, stateDir string) {
	t.Helper()
	editPlanFile(t, "approved.plan", "edited.plan", `"destination_vault":"`, `"destination_vault":"x`)
	for _, args := range [][]string{{"show", "edited.plan"}, {"run", script, "--state", stateDir, "--plan", "edited.plan", "--skip-check"}} {
		code, out, errs := shuffle(t, args...)
		if code != exitUsage || !strings.Contains(errs, "edited.plan: approved plan was edited after shuffle wrote it (checksum sha256:") ||
			!strings.Contains(errs, "make a new plan with shuffle plan --out") {
			t.Errorf("%v on an edited plan: exit %d, want %d with the checksum error\n%s%s", args[0], code, exitUsage, out, errs)
		}
	}
	if n := env.Counters().Calls("StartCopyJob"); n != 0 {
		t.Fatalf("StartCopyJob called %d times with an edited plan", n)
	}

}

// editPoliciesAfterApproval changes the security team's policies after
// the approval: Order Management leaves the wave, Inventory Service
// joins it; one vault to create gets other tags; the copies of one
// vault get one more tag.
func editPoliciesAfterApproval(t *testing.T) {
	t.Helper()
	editPolicy(t, "policies/apmid.lua", `  "APM0001871", -- Order Management`, `  "APM0002045", -- Inventory Service`)
	editPolicy(t, "policies/vaults.lua", `    tags = vault.tags,`, `    tags = vault.name == "prod-ebs-weekly" and { Wave = "1" } or vault.tags,`)
	editPolicy(t, "policies/tags.lua", `    ["shuffle:source-vault"] = rp.vault,
  }`, `    ["shuffle:source-vault"] = rp.vault,
  }
  if rp.vault == "prod-rds-daily" then tags["Wave"] = "1" end`)
}

// checkRefusal checks that run --plan approved.plan, after the policy
// edits, stops with the difference (exit 5) and writes nothing to AWS;
// it returns the counts of removed and changed RPs it reported.
func checkRefusal(t *testing.T, env *testenvtest.Env, script, stateDir string) (removed, changed int) {
	t.Helper()
	writes := writeCalls(env)
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "approved.plan", "--skip-check")
	if code != exitDrift {
		t.Fatalf("run --plan after a policy edit exited %d, want %d\n%s%s", code, exitDrift, out, errs)
	}
	for _, want := range []string{"the decisions differ from the approved plan approved.plan", "nothing was written to AWS",
		"note: the policies changed since the plan was approved", "added: ", "removed: ", "decided excluded by policy:apmid",
		"changed: ", "(vault prod-rds-daily): tags Wave=1 added", "vaults: 1 destination vaults",
		"for source vault prod-ebs-weekly: prod-ebs-weekly is to be created now with type BACKUP_VAULT; key alias/backup-vault-prod", "tags Wave=1; the plan: prod-ebs-weekly with",
		"--allow-drift added,removed,changed,vaults"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, errs)
		}
	}
	if got := writeCalls(env); fmt.Sprint(got) != fmt.Sprint(writes) {
		t.Errorf("the refused run wrote to AWS: calls %v, before %v", got, writes)
	}
	if n := len(env.Counters().Snapshot().JobsCreated); n != 0 {
		t.Errorf("the refused run created %d copy jobs", n)
	}
	return countOf(t, errs, "removed"), countOf(t, errs, "changed")

}

// lastRunPlan is the approved plan's checksum the state's last run
// record names.
func lastRunPlan(t *testing.T, stateDir string) string {
	t.Helper()
	runs := runHistory(t, stateDir)
	return runs[len(runs)-1].Flags[approval.RunFlag]
}

// checkChangeOfPlan approves a second plan for the policies as they are
// now; the run that follows it says it follows another plan than the
// last run (which followed first). It returns the second's checksum.
func checkChangeOfPlan(t *testing.T, env *testenvtest.Env, script, stateDir, first string) string {
	t.Helper()
	if code, out, errs := shuffle(t, "plan", script, "--state", stateDir, "--out", "second.plan"); code != 0 {
		t.Fatalf("second plan --out exited %d\n%s%s", code, out, errs)
	}
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "second.plan", "--skip-check"); code != 0 ||
		!strings.Contains(errs, "this run follows another approved plan (checksum ") || !strings.Contains(errs, "than the last run did ("+first+"): 0 copy jobs started before are still tracked") {
		t.Errorf("run with a second plan: exit %d, no notice of the change of plan\n%s%s", code, out, errs)
	}
	if n := len(env.Counters().Snapshot().JobsCreated); n != len(includedSet(t, stateDir)) {
		t.Errorf("after the second plan's run, %d copy jobs for %d included RPs", n, len(includedSet(t, stateDir)))
	}
	second := lastRunPlan(t, stateDir)
	if second == "" || second == first {
		t.Fatalf("the second plan's run record names plan %q", second)
	}
	return second
}

// editPlanFile writes to dst the approved plan src with its first old
// replaced by new, compressed again: an edit made with ordinary tools.
func editPlanFile(t *testing.T, src, dst, old, new string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(text, []byte(old)) {
		t.Fatalf("%s: %v, or no %q in it", src, err, old)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Replace(text, []byte(old), []byte(new), 1))
	zw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// countOf is the count a drift report gives for kind ("  removed: 12 recovery points").
func countOf(t *testing.T, report, kind string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + kind + `: (\d+) recovery points`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no %s count in:\n%s", kind, report)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// Windows: a run that follows a plan ends its window with work left
// (exit 10), having started only the plan's RPs. A second plan is
// approved while copies of the first are in flight; the next window
// follows it, says so, tracks the first plan's jobs to their end and
// starts only what the second plan approves; nothing is copied twice.
func TestApprovedPlanAcrossWindowsAndAChangeOfPlan(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 5e4})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "window.lua")
	if code, out, errs := shuffle(t, "plan", script, "--state", stateDir, "--out", "a.plan"); code != 0 {
		t.Fatalf("plan --out a.plan exited %d\n%s%s", code, out, errs)
	}
	planA := includedSet(t, stateDir)
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--plan", "a.plan", "--skip-check", "--window", "4s")
	if code != exitWindow {
		t.Fatalf("first window: exit %d, want %d\n%s%s", code, exitWindow, out, errs)
	}
	inA := map[string]bool{}
	for _, arn := range planA {
		inA[arn] = true
	}
	firstWindow := map[string]bool{}
	for _, j := range allCopyJobs(t, env) {
		firstWindow[j.rp] = true
		if !inA[j.rp] {
			t.Errorf("the first window started a copy of %s, which plan a does not include", j.rp)
		}
	}
	if len(firstWindow) == 0 {
		t.Fatalf("the first window started none of plan a's %d copies", len(planA))
	}

	// Order Management leaves the wave; plan b is approved.
	editPolicy(t, "policies/apmid.lua", `  "APM0001871", -- Order Management`, `  -- "APM0001871", -- Order Management`)
	if code, out, errs := shuffle(t, "plan", script, "--state", stateDir, "--out", "b.plan"); code != 0 {
		t.Fatalf("plan --out b.plan exited %d\n%s%s", code, out, errs)
	}
	planB := includedSet(t, stateDir)
	code, out, errs = shuffle(t, "run", script, "--state", stateDir, "--plan", "b.plan", "--skip-check")
	if code != 0 {
		t.Fatalf("the next window, with plan b: exit %d\n%s%s", code, out, errs)
	}
	if !regexp.MustCompile(`this run follows another approved plan \(checksum sha256:[0-9a-f]+\) than the last run did \(sha256:[0-9a-f]+\): \d+ copy jobs started before are still tracked to their end; only recovery points this plan approves are started`).MatchString(errs) {
		t.Errorf("the run with plan b does not say it follows another plan:\n%s", errs)
	}
	// Copied: plan b's RPs, and the first window's jobs of plan a; each
	// once.
	want := map[string]string{}
	for k, arn := range planB {
		want[k] = arn
	}
	for k, arn := range planA {
		if firstWindow[arn] {
			want[k] = arn
		}
	}
	checkJobs(t, env, want)
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("%d copy jobs for %s, want 1", n, k)
		}
	}
}
