package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// requireCountersAgree runs `shuffle state check` and fails unless the
// state's counters equal a full scan of its records.
func requireCountersAgree(t *testing.T, stateDir, step string) {
	t.Helper()
	code, out, errs := shuffle(t, "state", "check", "--state", stateDir, "--json")
	var r state.CheckReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: state check --json: %v\n%s%s", step, err, out, errs)
	}
	if code != 0 || r.Counters != "agree" {
		t.Fatalf("%s: state check exited %d, counters %q, problems:\n%s", step, code, r.Counters, strings.Join(r.Problems, "\n"))
	}
}

// The counters equal a full scan after a plan, a policy change, a copy
// under faults, a requeue and a reset of decisions, each through the
// binary (the SIGKILL test checks them after its kills too).
func TestCountersStayExactThroughAMigration(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e6, Faults: &testenv.Faults{CopyFailRate: 0.7}})
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != 0 {
		t.Fatalf("plan exited %d: %s", code, errs)
	}
	requireCountersAgree(t, stateDir, "after the plan")
	queued := replInt(t, stateDir, `count{status="queued"}`)

	pol, err := os.ReadFile("policies/apmid.lua")
	if err != nil {
		t.Fatal(err)
	}
	narrower := strings.Replace(string(pol), "if not M.allowed[apmid] then", `if not M.allowed[apmid] or apmid < "APM0002" then`, 1)
	if narrower == string(pol) {
		t.Fatal("policies/apmid.lua no longer has the line this test edits")
	}
	if err := os.WriteFile("policies/apmid.lua", []byte(narrower), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != 0 {
		t.Fatalf("plan after the policy change exited %d: %s", code, errs)
	}
	requireCountersAgree(t, stateDir, "after a policy change")
	if n := replInt(t, stateDir, `count{status="queued"}`); n >= queued {
		t.Fatalf("after narrowing the policy %d RPs are queued, before %d: the change decided nothing", n, queued)
	}

	script := fastCopyScript(t, "counters.lua")
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir); code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	requireCountersAgree(t, stateDir, "after copying")
	if replInt(t, stateDir, `count{status="failed"}`) == 0 {
		t.Fatal("no copy failed; the requeue below proves nothing")
	}
	if code, out, errs := shuffle(t, "repl", "--state", stateDir, "-e", `requeue{status="failed", confirm=true}`); code != 0 {
		t.Fatalf("requeue exited %d\n%s%s", code, out, errs)
	}
	requireCountersAgree(t, stateDir, "after a requeue")
	if n := replInt(t, stateDir, `count{status="retry"}`); n == 0 {
		t.Fatal("the requeue moved nothing to retry")
	}
	if err := os.WriteFile("policies/apmid.lua", pol, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := shuffle(t, "repl", "--state", stateDir, "-e", `reset{what="decisions", confirm=true}`); code != 0 {
		t.Fatalf("reset exited %d\n%s%s", code, out, errs)
	}
	requireCountersAgree(t, stateDir, "after resetting decisions")
	if n := replInt(t, stateDir, `count{status="undecided"}`); n == 0 {
		t.Fatal("the reset left no RP undecided")
	}
}
