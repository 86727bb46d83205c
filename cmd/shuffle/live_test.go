package main

// A migration of a live estate through the binary: the source keeps
// backing up between windows (testenv's live mode, ticked by the test
// so that nothing depends on the machine's speed), each run picks up
// the new backups with a delta listing, and `shuffle cutover` passes as
// of the last run's start with exactly one copy per included RP, and
// not as of a later time the migration has not caught up with.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/cutover"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

func TestLiveEstateMigrationEndsWithACutover(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e6, Live: &testenv.LiveOptions{}})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "fast.lua")
	run := func(args ...string) string {
		t.Helper()
		code, out, errs := shuffle(t, append([]string{"run", script, "--state", stateDir, "--skip-check", "--snapshots", "0"}, args...)...)
		if code != 0 && code != exitWindow {
			t.Fatalf("run %v: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	// A simulated day is at least a second of real time: AWS makes no
	// two backups of one resource in the same second, and the copy
	// engine matches a copy to its source by resource and creation time.
	tick := func() testenv.LiveTickResult {
		time.Sleep(1100 * time.Millisecond)
		return env.LiveTick()
	}
	run("--window", "2s")
	made := 0
	for day := 1; day <= 3; day++ {
		res := tick()
		made += res.Created
		out := run("--window", "2s")
		if !strings.Contains(out, fmt.Sprintf("; %d new, 0 gone;", res.Created)) {
			t.Fatalf("day %d: %d backups made, the run's inventory says:\n%s", day, res.Created, out)
		}
	}
	if made == 0 {
		t.Fatal("the live estate made no backup")
	}
	// The last window runs to the end.
	made += tick().Created
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check", "--snapshots", "0"); code != 0 {
		t.Fatalf("last run: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs := shuffle(t, "cutover", script, "--state", stateDir, "--as-of", "last-run", "--json")
	var rep cutover.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("cutover --json: %v\n%s%s", err, out, errs)
	}
	if code != 0 || !rep.Ready || rep.Included == 0 || rep.Verified != rep.Included {
		t.Fatalf("cutover as of the last run: exit %d, %+v\n%s", code, rep, errs)
	}
	jobs := int64(0)
	for _, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("a recovery point was copied %d times", n)
		}
		jobs += n
	}
	if live := liveIncluded(t, stateDir); jobs != live {
		t.Errorf("%d copy jobs for %d included recovery points still in the source", jobs, live)
	}

	// A day later, before any run: the cutover lists the new backups and
	// fails, exit 4, naming them as not copied.
	day := tick()
	asOf := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	code, out, errs = shuffle(t, "cutover", script, "--state", stateDir, "--as-of", asOf)
	if code != exitUnverified || !strings.Contains(out, "not ready:") || !strings.Contains(out, "not copied") || !strings.Contains(errs, "run 'shuffle run' again") {
		t.Fatalf("cutover as of now, %d backups later: exit %d\n%s%s", day.Created, code, out, errs)
	}
	// status shows the lag: the new backups wait, but none is a day old.
	code, out, errs = shuffle(t, "status", "--state", stateDir, "--json")
	var s forecast.Status
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if s.Lag == nil || s.Lag.RecoveryPoints != 0 || s.Lag.Oldest == nil || time.Since(*s.Lag.Oldest) > 2*time.Hour {
		t.Fatalf("status lag after a day of new backups: %+v", s.Lag)
	}
}

// liveIncluded counts included RPs not gone from the source.
func liveIncluded(t *testing.T, stateDir string) int64 {
	t.Helper()
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int64
	err = st.ScanRPs(func(rp *state.RP) error {
		if rp.Decision != nil && rp.Decision.Outcome == state.Included && !rp.Gone {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Backups whose lifecycle deletes them within (simulated) seconds, in
// an estate whose copies take hours: plan says how many the projection
// would start too late and when the first goes, and status repeats it
// from what plan kept.
func TestPlanAndStatusShowRecoveryPointsAtRisk(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 1000, CopySpeed: 1, Live: &testenv.LiveOptions{Day: testenv.LiveMinDay}})
	if env.LiveTick().Created == 0 {
		t.Fatal("the live estate made no backup")
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir)
	i := strings.Index(out, "At risk: ")
	if code != 0 || i < 0 {
		t.Fatalf("plan: exit %d, no at-risk line\n%s%s", code, out, errs)
	}
	line := out[i:]
	line = line[:strings.IndexByte(line, '\n')]
	var n int
	if _, err := fmt.Sscanf(line, "At risk: %d recovery points", &n); err != nil || n <= 0 {
		t.Fatalf("plan's at-risk line %q (%v)", line, err)
	}
	// plan --json carries the same count (projected again: the same
	// state, a moment later).
	code, out, errs = shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir, "--json")
	var pj struct {
		Schema string           `json:"schema"`
		AtRisk *forecast.AtRisk `json:"at_risk"`
	}
	if err := json.Unmarshal([]byte(out), &pj); code != 0 || err != nil || pj.Schema != "shuffle.plan/v1" {
		t.Fatalf("plan --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if a := pj.AtRisk; a == nil || a.RecoveryPoints <= 0 || a.EarliestDeleteAt.IsZero() {
		t.Fatalf("plan --json at risk %+v; the text said %d", pj.AtRisk, n)
	}
	n = int(pj.AtRisk.RecoveryPoints)
	code, out, errs = shuffle(t, "status", "--state", stateDir, "--json")
	var s forecast.Status
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if a := s.AtRisk; a == nil || a.RecoveryPoints != int64(n) || a.AsOf == nil || a.EarliestDeleteAt.IsZero() {
		t.Fatalf("status at risk %+v, plan said %d", s.AtRisk, n)
	}
}
