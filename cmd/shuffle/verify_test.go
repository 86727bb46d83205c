package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

func verifyJSON(t *testing.T, stateDir string, wantCode int) *verify.Report {
	t.Helper()
	code, out, errs := shuffle(t, "verify", "examples/migrate.lua", "--state", stateDir, "--json")
	if code != wantCode {
		t.Fatalf("verify --json exited %d, want %d: %s", code, wantCode, errs)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("verify --json is not JSON: %v\n%s", err, out)
	}
	return &rep
}

// completedCopies reads the completed copy records straight from state.
func completedCopies(t *testing.T, stateDir string) []*state.CopyRecord {
	t.Helper()
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []*state.CopyRecord
	err = st.ScanCopies(func(c *state.CopyRecord) error {
		if c.State == state.CopyCompleted {
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyAfterRunThenBrokenCopyExits4(t *testing.T) {
	env, _ := workspace(t, 300)
	stateDir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", "examples/migrate.lua", "--state", stateDir); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	done := completedCopies(t, stateDir)
	if len(done) == 0 {
		t.Fatal("the run completed no copies; nothing to verify")
	}

	// Every completed copy verifies, and verify writes nothing to AWS.
	jobs := env.Counters().Calls("StartCopyJob")
	rep := verifyJSON(t, stateDir, 0)
	if !rep.OK() || rep.Completed != int64(len(done)) || rep.Verified != int64(len(done)) || len(rep.Problems) != 0 {
		t.Fatalf("verify after a clean run: completed %d verified %d missing %d mismatched %d; state has %d completed copies",
			rep.Completed, rep.Verified, rep.Missing, rep.Mismatched, len(done))
	}
	if n := env.Counters().Calls("StartCopyJob") - jobs; n != 0 {
		t.Fatalf("verify started %d copy jobs", n)
	}
	code, out, errs := shuffle(t, "verify", "examples/migrate.lua", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "VAULT") || !strings.Contains(out, "COMPLETED") || !strings.Contains(out, "completed copies verified") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}

	// Point one copy at a destination RP that does not exist (testenv has
	// no DeleteRecoveryPoint).
	broken := *done[len(done)/2]
	broken.DestRPArn += "-gone"
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCopies([]*state.CopyRecord{&broken}, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errs = shuffle(t, "verify", "examples/migrate.lua", "--state", stateDir)
	if code != exitUnverified {
		t.Fatalf("verify with a missing copy: exit %d, want %d\n%s%s", code, exitUnverified, out, errs)
	}
	if !strings.Contains(out, broken.Arn) || !strings.Contains(out, broken.DestRPArn) || !strings.Contains(errs, "1 missing") {
		t.Fatalf("verify output does not name the broken copy %s:\n%s%s", broken.Arn, out, errs)
	}
	rep = verifyJSON(t, stateDir, exitUnverified)
	if rep.Missing != 1 || rep.Verified != int64(len(done)-1) || len(rep.Problems) != 1 ||
		rep.Problems[0].SourceRPArn != broken.Arn || rep.Problems[0].Field != verify.Missing {
		t.Fatalf("verify --json after breaking one copy: %+v, problems %+v", rep, rep.Problems)
	}
	// The real destination RP is now one shuffle does not know.
	if rep.Unknown < 1 {
		t.Fatalf("the orphaned destination RP is not counted as unknown: %d", rep.Unknown)
	}
}

func TestRunWritesReports(t *testing.T) {
	workspace(t, 300)
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "run", "examples/migrate.lua", "--state", stateDir)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	m := regexp.MustCompile(`run reports: (\S+\.json), (\S+\.csv)`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("run did not print the report paths:\n%s", errs)
	}
	if filepath.Dir(m[1]) != filepath.Join(stateDir, "reports") {
		t.Fatalf("reports went to %s, want %s", filepath.Dir(m[1]), filepath.Join(stateDir, "reports"))
	}
	rep := readRunReport(t, m[1])
	f, err := os.Open(m[2])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}

	// Independent counts from state.
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rps, completed int64
	_ = st.ScanRPs(func(*state.RP) error { rps++; return nil })
	_ = st.ScanCopies(func(c *state.CopyRecord) error {
		if c.State == state.CopyCompleted {
			completed++
		}
		return nil
	})
	if rps != 300 || rep.RecoveryPoints != rps || int64(len(rows)-1) != rps {
		t.Fatalf("state has %d RPs; JSON report %d; CSV %d data rows", rps, rep.RecoveryPoints, len(rows)-1)
	}
	csvCompleted := int64(0)
	for _, r := range rows[1:] {
		if r[9] == "completed" {
			csvCompleted++
		}
	}
	if completed == 0 || rep.States["completed"] != completed || csvCompleted != completed {
		t.Fatalf("completed copies: state %d, JSON %d, CSV %d", completed, rep.States["completed"], csvCompleted)
	}
	if rep.Copy.Completed != completed {
		t.Fatalf("the copy summary in the report says %d completed, state %d", rep.Copy.Completed, completed)
	}
}
