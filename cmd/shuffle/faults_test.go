package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// Throttles, 5xx answers and connection resets that the emulator
// injects are counted by operation in the run report, the JSON log and
// the closing lines, exactly as many as it injected; every attempt it
// received is counted, and retries are the attempts beyond each call's
// first.
func TestRunReportCountsFaultsByOperation(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e6, Faults: &testenv.Faults{
		// Rate faults on StartCopyJob (a PUT: Go's HTTP client never
		// replays it by itself, so every reset reaches shuffle) and a
		// TPS cap that throttles the completion polls.
		ThrottleRate: 0.1, ErrorRate: 0.1, ResetRate: 0.1, Operations: []string{"StartCopyJob"},
		TPS: map[string]float64{"ListCopyJobs": 2},
	}})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "faults.lua")
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check", "--progress-interval", "0")
	snap := env.Counters().Snapshot()
	if code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	injected := snap.FaultsByOperation
	if injected["StartCopyJob throttle"] == 0 || injected["StartCopyJob 5xx"] == 0 || injected["StartCopyJob reset"] == 0 || injected["ListCopyJobs throttle"] == 0 {
		t.Fatalf("the emulator injected %v; the test needs every kind", injected)
	}

	// The run report.
	reports, _ := filepath.Glob(filepath.Join(stateDir, "reports", "run-*.json"))
	if len(reports) != 1 {
		t.Fatalf("run reports: %v", reports)
	}
	rep := readRunReport(t, reports[0])
	byOp := rep.AWSCallsByOperation
	for _, op := range []string{"StartCopyJob", "ListCopyJobs"} {
		got, kinds := byOp[op], []struct {
			kind string
			n    int64
		}{{"throttle", byOp[op].Throttles}, {"5xx", byOp[op].ServerErrors}, {"reset", byOp[op].Resets}}
		for _, k := range kinds {
			if want := injected[op+" "+k.kind]; k.n != want {
				t.Errorf("report: %s %s = %d, the emulator injected %d", op, k.kind, k.n, want)
			}
		}
		if got.Attempts != snap.Calls[op] {
			t.Errorf("report: %s attempts = %d, the emulator received %d", op, got.Attempts, snap.Calls[op])
		}
		if got.Retries != got.Attempts-got.Calls || got.Calls == 0 {
			t.Errorf("report: %s calls %d, attempts %d, retries %d: want retries = attempts - calls", op, got.Calls, got.Attempts, got.Retries)
		}
	}
	// 5xx and resets of StartCopyJob are retried by the SDK (same token).
	if sc := byOp["StartCopyJob"]; sc.Retries < sc.ServerErrors+sc.Resets {
		t.Errorf("report: StartCopyJob retried %d times after %d server errors and %d resets", sc.Retries, sc.ServerErrors, sc.Resets)
	}
	for op, s := range byOp {
		if op != "StartCopyJob" && op != "ListCopyJobs" && s.Faults() != 0 {
			t.Errorf("report: %d faults on %s, where none were injected", s.Faults(), op)
		}
	}
	if tot := rep.AWSCallTotals; tot == nil || tot.Throttles != snap.Faults["throttle"] || tot.ServerErrors != snap.Faults["5xx"] || tot.Resets != snap.Faults["reset"] {
		t.Errorf("report totals %+v; the emulator injected %v", rep.AWSCallTotals, snap.Faults)
	}

	// The JSON log.
	lb, err := os.ReadFile(filepath.Join(stateDir, "shuffle.log"))
	if err != nil {
		t.Fatal(err)
	}
	var logged map[string]awsclient.OpStats
	for _, line := range strings.Split(string(lb), "\n") {
		var rec struct {
			Msg         string                       `json:"msg"`
			ByOperation map[string]awsclient.OpStats `json:"by_operation"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "aws calls" {
			logged = rec.ByOperation
		}
	}
	if logged["StartCopyJob"] != byOp["StartCopyJob"] || logged["ListCopyJobs"] != byOp["ListCopyJobs"] {
		t.Errorf("shuffle.log's aws calls record %v differs from the report %v", logged, byOp)
	}

	// The closing lines.
	for _, want := range []string{"aws: throttled ", "aws: server errors (5xx) ", "aws: connection resets ", "aws: retries "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	t.Logf("injected %v; report %+v", injected, byOp["StartCopyJob"])
	if err := env.SetFaults(testenv.Faults{}); err != nil { // the test's own listing
		t.Fatal(err)
	}
	checkJobs(t, env, includedSet(t, stateDir))
}
