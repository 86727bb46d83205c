package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// runHistory opens the state in stateDir (it must not be held) and
// returns its run history, oldest first; the test fails on an empty
// one.
func runHistory(t *testing.T, stateDir string) []state.Run {
	t.Helper()
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs()
	if err != nil || len(runs) == 0 {
		t.Fatalf("run history of %s: %d runs, %v", stateDir, len(runs), err)
	}
	return runs
}

// readRunReport reads a run's JSON report (STATE/reports/run-*.json).
func readRunReport(t *testing.T, path string) engine.RunReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep engine.RunReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("run report %s: %v", path, err)
	}
	return rep
}
