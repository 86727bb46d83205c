package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// These tests run with testenv's idempotency memory off: StartCopyJob
// answers no token with an earlier job, so only what shuffle finds in
// AWS before its first start stands between a fresh state and a second
// copy of every RP.

// noWaitScript copies with short polls and returns as soon as nothing
// more can start, leaving jobs in flight.
func noWaitScript(t *testing.T, name string) string {
	t.Helper()
	return writeScript(t, name, "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 100, poll_min = 0.01, retry_base = 0.05, wait = false })")
}

// waitJobsEnded waits until the source account has no copy job in
// CREATED or RUNNING (DescribeCopyJob per job, so it works whatever the
// job history is set to).
func waitJobsEnded(t *testing.T, env *testenvtest.Env, ids []string) {
	t.Helper()
	c := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range ids {
		for {
			out, err := c.DescribeCopyJob(context.Background(), &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
			if err != nil {
				t.Fatalf("DescribeCopyJob %s: %v", id, err)
			}
			if s := out.CopyJob.State; s != types.CopyJobStateCreated && s != types.CopyJobStateRunning {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("copy job %s still %s after 3 minutes", id, out.CopyJob.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// copyRecords reads every copy record of a state, by RP ARN.
func copyRecords(t *testing.T, dir string) map[string]*state.CopyRecord {
	t.Helper()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]*state.CopyRecord{}
	if err := st.ScanCopies(func(c *state.CopyRecord) error { out[c.Arn] = c; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// jobIDs is the job id of every record that has one.
func jobIDs(recs map[string]*state.CopyRecord) []string {
	var ids []string
	for _, r := range recs {
		if r.JobID != "" {
			ids = append(ids, r.JobID)
		}
	}
	return ids
}

// checkOneJobEach asserts that no RP got a second copy job.
func checkOneJobEach(t *testing.T, env *testenvtest.Env) {
	t.Helper()
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("%d copy jobs created for %s, want 1", n, k)
		}
	}
}

// checkAllCopied asserts that every included RP of the state has a
// completed copy record naming its destination RP.
func checkAllCopied(t *testing.T, dir string) map[string]*state.CopyRecord {
	t.Helper()
	recs := copyRecords(t, dir)
	for _, arn := range includedSet(t, dir) {
		r := recs[arn]
		if r == nil || r.State != state.CopyCompleted || r.DestRPArn == "" {
			t.Errorf("included RP %s: copy record %+v; want completed with its destination RP", arn, r)
		}
	}
	return recs
}

// A first run copies part of the included RPs and returns (no_wait); its
// jobs end. A run on an empty state dir starts no job for an RP already
// copied, and copies the rest.
func TestFreshStateStartsNoSecondCopy(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e5, IdempotencyMemory: -1})
	first := filepath.Join(t.TempDir(), "first")
	if code, out, errs := shuffle(t, "run", noWaitScript(t, "nowait.lua"), "--state", first); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	started := copyRecords(t, first)
	included := includedSet(t, first)
	if len(started) == 0 || len(started) >= len(included) {
		t.Fatalf("the first run started %d of %d included RPs; the test needs some but not all", len(started), len(included))
	}
	waitJobsEnded(t, env, jobIDs(started))
	before := map[string]int64{}
	for arn := range started {
		before[arn] = env.Counters().StartCopyCalls(arn)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	code, out, errs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", fresh, "--window", "3m")
	if code != 0 {
		t.Fatalf("run on a fresh state: exit %d\n%s%s", code, out, errs)
	}
	for arn, n := range before {
		if m := env.Counters().StartCopyCalls(arn); m != n {
			t.Errorf("RP %s, copied by the first run, got %d more StartCopyJob calls from the fresh state", arn, m-n)
		}
	}
	checkOneJobEach(t, env)
	checkAllCopied(t, fresh)
	if want := "copy: " + strconv.Itoa(len(started)) + " found in AWS and adopted (0 of them still running), 0 held"; !strings.Contains(out, want) {
		t.Errorf("closing lines do not say %q:\n%s", want, out)
	}
	if !strings.Contains(errs, "adopted from AWS ("+strconv.Itoa(len(started))+" copied already, 0 jobs still running)") {
		t.Errorf("copy summary does not report the adopted copies:\n%s", errs)
	}
}

// The same with the job history gone: only the destination vaults'
// recovery points tell what was copied.
func TestFreshStateAdoptsFromDestinationWithoutJobHistory(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e6, IdempotencyMemory: -1})
	script := fastCopyScript(t, "fast.lua")
	first := filepath.Join(t.TempDir(), "first")
	if code, out, errs := shuffle(t, "run", script, "--state", first); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	done := checkAllCopied(t, first)
	env.SetMemory(testenv.Memory{IdempotencyMemory: -1, CopyJobRetention: -1})
	starts := env.Counters().Calls("StartCopyJob")
	fresh := filepath.Join(t.TempDir(), "fresh")
	// A job started now would never be seen to end (no history): the
	// window bounds the run should that happen.
	code, out, errs := shuffle(t, "run", script, "--state", fresh, "--window", "1m")
	if code != 0 {
		t.Fatalf("run on a fresh state: exit %d\n%s%s", code, out, errs)
	}
	if n := env.Counters().Calls("StartCopyJob") - starts; n != 0 {
		t.Errorf("the fresh state called StartCopyJob %d times; every RP was copied already", n)
	}
	checkOneJobEach(t, env)
	for arn, r := range checkAllCopied(t, fresh) {
		if d := done[arn]; d != nil && d.DestRPArn != r.DestRPArn {
			t.Errorf("RP %s adopted with destination %s, but its copy is %s", arn, r.DestRPArn, d.DestRPArn)
		}
	}
	if !strings.Contains(out, "found in AWS and adopted") {
		t.Errorf("closing lines do not report the adoption:\n%s", out)
	}
}

// A run stops with jobs in flight; a fresh state tracks those jobs
// instead of starting them again, and copies the rest.
func TestFreshStateAdoptsRunningJobs(t *testing.T) {
	// The emulator's clock stands still from the first run's first
	// StartCopyJob until the fresh state has listed the jobs, so they are
	// all still in flight then, however slow the machine; then it runs
	// again.
	var frozenAt atomic.Int64 // UnixNano; 0: the clock runs
	clock := func() time.Time {
		if n := frozenAt.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Now()
	}
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 1e5, IdempotencyMemory: -1, Now: clock})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); frozenAt.Store(0) })
	go func() {
		for env.Counters().Calls("StartCopyJob") == 0 {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
		frozenAt.Store(time.Now().UnixNano())
	}()
	first := filepath.Join(t.TempDir(), "first")
	if code, out, errs := shuffle(t, "run", noWaitScript(t, "nowait.lua"), "--state", first); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	lists := env.Counters().Calls("ListCopyJobs")
	go func() {
		for env.Counters().Calls("ListCopyJobs") == lists {
			time.Sleep(5 * time.Millisecond)
		}
		frozenAt.Store(0)
	}()
	started := copyRecords(t, first)
	if len(started) == 0 {
		t.Fatal("the first run started nothing")
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	code, out, errs := shuffle(t, "run", fastCopyScript(t, "fast.lua"), "--state", fresh, "--window", "3m")
	if code != 0 {
		t.Fatalf("run on a fresh state: exit %d\n%s%s", code, out, errs)
	}
	for arn := range started {
		if n := env.Counters().StartCopyCalls(arn); n != 1 {
			t.Errorf("RP %s, started by the first run, has %d StartCopyJob calls; want that one only", arn, n)
		}
	}
	checkOneJobEach(t, env)
	recs := checkAllCopied(t, fresh)
	for arn, r := range started {
		if recs[arn] != nil && recs[arn].JobID != r.JobID {
			t.Errorf("RP %s completed by job %s, but the first run started job %s", arn, recs[arn].JobID, r.JobID)
		}
	}
	if !strings.Contains(errs, "jobs still running)") || strings.Contains(errs, " 0 jobs still running)") {
		t.Errorf("copy summary does not report running jobs adopted:\n%s", errs)
	}
}

// A process stopped between its intents and the answers (the intents are
// in the state, the jobs in AWS) two hours ago, with no token memory and
// no job history: copies already in the destination are adopted, jobs
// not finished are held, and nothing is sent again.
func TestCrashedIntentsWithoutTokenMemory(t *testing.T) {
	// Half the jobs stay CREATED for most of 2 simulated hours (65 s
	// here); the others end within a few seconds.
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 200, CopySpeed: 100, IdempotencyMemory: -1,
		Faults: &testenv.Faults{CreatedDelayRate: 0.5}})
	dir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", noWaitScript(t, "nowait.lua"), "--state", dir); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	recs := copyRecords(t, dir)
	ids := jobIDs(recs)
	if len(ids) < 4 {
		t.Fatalf("the first run started %d jobs; the test needs more", len(ids))
	}
	waitOneEnded(t, env, ids)
	// Rewind every started record to its intent, as if the process died
	// before any StartCopyJob answer was written; and let AWS forget.
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rewound []*state.CopyRecord
	jobOf := map[string]string{}
	for _, r := range recs {
		if r.JobID == "" {
			continue
		}
		jobOf[r.Arn] = r.JobID
		// The crash was two hours ago: longer than shuffle trusts AWS to
		// list every job it made (ADR 0002), so the history decides.
		r.IntentAt = r.IntentAt.Add(-2 * time.Hour)
		r.State, r.JobID, r.StartedAt, r.CompletedAt, r.DestRPArn = state.CopyIntent, "", nil, nil, ""
		r.Attempts = []state.Attempt{{N: r.Attempt, State: "INTENT", At: r.IntentAt}}
		rewound = append(rewound, r)
	}
	if err := st.PutCopies(rewound, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	env.SetMemory(testenv.Memory{IdempotencyMemory: -1, CopyJobRetention: -1})
	before := map[string]int64{}
	for _, r := range rewound {
		before[r.Arn] = env.Counters().StartCopyCalls(r.Arn)
	}
	// Other RPs of the held ones' resources wait for them (one job per
	// resource), so the window ends the run.
	code, out, errs := shuffle(t, "run", noWaitScript(t, "nowait2.lua"), "--state", dir, "--window", "15s")
	if code != 0 && code != exitWindow {
		t.Fatalf("run after the crash: exit %d\n%s%s", code, out, errs)
	}
	for arn, n := range before {
		if m := env.Counters().StartCopyCalls(arn); m != n {
			t.Errorf("RP %s, whose intent reached AWS, got %d more StartCopyJob calls", arn, m-n)
		}
	}
	checkOneJobEach(t, env)
	// With the history back, check each adoption against its real job.
	env.SetMemory(testenv.Memory{IdempotencyMemory: -1})
	c := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	after := copyRecords(t, dir)
	var adopted, held int
	for _, r := range rewound {
		a := after[r.Arn]
		j, err := c.DescribeCopyJob(context.Background(), &backup.DescribeCopyJobInput{CopyJobId: aws.String(jobOf[r.Arn])})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case a == nil:
			t.Errorf("RP %s lost its copy record", r.Arn)
		case a.State == state.CopyCompleted:
			adopted++
			if a.DestRPArn == "" || a.DestRPArn != aws.ToString(j.CopyJob.DestinationRecoveryPointArn) {
				t.Errorf("RP %s adopted with destination %q; its job made %q", r.Arn, a.DestRPArn, aws.ToString(j.CopyJob.DestinationRecoveryPointArn))
			}
		case a.State == state.CopyHeld:
			held++
			if j.CopyJob.State == types.CopyJobStateCompleted && j.CopyJob.CompletionDate.Before(time.Now().Add(-time.Minute)) {
				t.Errorf("RP %s held, but its copy was in the destination long before the run", r.Arn)
			}
		default:
			t.Errorf("RP %s is %s (%s); want completed (its copy is in the destination) or held", r.Arn, a.State, a.Reason)
		}
	}
	if adopted == 0 || held == 0 {
		t.Errorf("%d adopted and %d held; the test wants both", adopted, held)
	}
	if !strings.Contains(out, "held as possibly copied already") || !strings.Contains(errs, "outcome-unknown") {
		t.Errorf("the run does not report the held RPs:\n%s%s", out, errs)
	}
}

// waitOneEnded waits until at least one of the jobs has ended.
func waitOneEnded(t *testing.T, env *testenvtest.Env, ids []string) {
	t.Helper()
	c := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	deadline := time.Now().Add(time.Minute)
	for {
		for _, id := range ids {
			out, err := c.DescribeCopyJob(context.Background(), &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
			if err != nil {
				t.Fatalf("DescribeCopyJob %s: %v", id, err)
			}
			if s := out.CopyJob.State; s != types.CopyJobStateCreated && s != types.CopyJobStateRunning {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no copy job ended within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
