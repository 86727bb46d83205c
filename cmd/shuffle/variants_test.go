package main

// Each testenv variant (an answer AWS leaves undocumented), and all of
// them at once, against plan and the whole copy job through the real
// binary: every RP inventoried; nothing refused that the default
// variant copies; exactly one completed job per included RP; no quota
// exceeded; RPs of unknown types decided by the policies, never skipped
// in silence; and, with forget-tokens, a resume after the tokens lapsed
// still copies each RP once. Each case is compared with a run on the
// default variant of the same seed, made in the test.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// variantRPs is the estate of every case: small, so a case takes seconds.
const variantRPs = 400

// variantWorkspace is one case's emulator and working directory, run
// through the shuffle binary in a subprocess so that cases can run side
// by side (the in-process helpers change the process's directory).
type variantWorkspace struct {
	env     *testenvtest.Env
	dir     string
	state   string
	failing float64 // the copy_fail_rate injected
}

func newVariantWorkspace(t *testing.T, o testenv.Options) *variantWorkspace {
	t.Helper()
	dir := t.TempDir()
	o.Dir = filepath.Join(dir, "testenv-run")
	if o.RecoveryPoints == 0 {
		o.RecoveryPoints = variantRPs
	}
	if o.CopySpeed == 0 {
		o.CopySpeed = 1e6
	}
	w := &variantWorkspace{env: testenvtest.Start(t, o), dir: dir, state: filepath.Join(dir, "state")}
	if o.Faults != nil {
		w.failing = o.Faults.CopyFailRate
	}
	root := repoRoot(t)
	for _, sub := range []string{"examples", "policies"} {
		copyDir(t, filepath.Join(root, sub), filepath.Join(dir, sub))
	}
	b, err := os.ReadFile(filepath.Join(dir, "examples", "migrate.lua"))
	if err != nil {
		t.Fatal(err)
	}
	const old = "shuffle.copy({ max_in_flight = 100 })"
	if !strings.Contains(string(b), old) {
		t.Fatalf("examples/migrate.lua no longer contains %q", old)
	}
	fast := strings.Replace(string(b), old, "shuffle.copy({ max_in_flight = 100, poll_min = 0.01, retry_base = 0.05, busy_backoff = 0.5, max_attempts = 6 })", 1)
	if err := os.WriteFile(filepath.Join(dir, "examples", "variant.lua"), []byte(fast), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// shuffle runs the binary in the workspace and returns its exit code
// and output.
func (w *variantWorkspace) shuffle(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin, err := exec.LookPath("shuffle")
	if err != nil {
		t.Skip("the shuffle test command is not on PATH (testscript sets it up in TestMain)")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+w.env.ConfigPath(), "AWS_SHARED_CREDENTIALS_FILE="+w.env.CredentialsPath(), "AWS_PROFILE=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("shuffle %v: %v", args, err)
	}
	return 0, string(out)
}

// plan runs `shuffle plan --json` on the case's state.
func (w *variantWorkspace) plan(t *testing.T) *plan.Plan {
	t.Helper()
	code, out := w.shuffle(t, "plan", "examples/variant.lua", "--json", "--state", w.state)
	if code != 0 {
		t.Fatalf("plan exited %d\n%s", code, out)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	return &p
}

// run runs `shuffle run` on the case's state, with extra flags.
func (w *variantWorkspace) run(t *testing.T, flags ...string) (int, string) {
	t.Helper()
	return w.shuffle(t, append([]string{"run", "examples/variant.lua", "--state", w.state}, flags...)...)
}

// variantOutcome is what a finished case left in the state.
type variantOutcome struct {
	listed   int                  // source RPs, as the SDK lists them
	rps      map[string]*state.RP // the state's RPs by ARN
	included map[string]bool      // included RP ARNs
	copies   map[string]string    // copy state by RP ARN
	snap     testenv.CountersSnapshot
}

func (w *variantWorkspace) outcome(t *testing.T) *variantOutcome {
	t.Helper()
	o := &variantOutcome{rps: map[string]*state.RP{}, included: map[string]bool{}, copies: map[string]string{}, snap: w.env.Counters().Snapshot()}
	c := backup.NewFromConfig(w.env.Config(t, testenv.ProfileSource))
	vaults, err := c.ListBackupVaults(context.Background(), &backup.ListBackupVaultsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vaults.BackupVaultList {
		p := backup.NewListRecoveryPointsByBackupVaultPaginator(c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: v.BackupVaultName})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			o.listed += len(page.RecoveryPoints)
		}
	}
	st, err := state.Open(w.state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.ScanRPs(func(rp *state.RP) error {
		o.rps[rp.Arn] = rp
		if rp.Decision != nil && rp.Decision.Outcome == state.Included {
			o.included[rp.Arn] = true
		}
		return nil
	})
	_ = st.ScanCopies(func(c *state.CopyRecord) error {
		o.copies[c.Arn] = c.State
		if c.State != state.CopyCompleted {
			o.copies[c.Arn] += " (" + c.Reason + ")"
		}
		return nil
	})
	return o
}

// variantBaseline is the default variant's outcome on the same seed.
type variantBaseline struct {
	included map[string]bool
	refused  int64 // quota refusals of the default run
}

func TestVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs")
	}
	base := runVariantCase(t, testenv.Options{})
	b := &variantBaseline{included: base.included, refused: quotaRefusals(base.snap)}
	t.Logf("default variant: %d RPs, %d included, %d quota refusals", len(base.rps), len(base.included), b.refused)
	if len(base.included) == 0 {
		t.Fatal("the default variant includes nothing; the comparison proves nothing")
	}
	for _, v := range append(append([]string{}, testenv.AllVariants...), testenv.VariantAll) {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			switch v {
			case testenv.VariantForgetTokens:
				variantForgetTokensResume(t, b)
			case testenv.VariantOtherTexts:
				variantOtherTexts(t)
			default:
				checkVariantOutcome(t, v, runVariantCase(t, testenv.Options{Variants: []string{v}}), b)
			}
		})
	}
}

// runVariantCase starts a case on the given variants, plans and runs it
// to the end, checks the jobs, and returns its outcome.
func runVariantCase(t *testing.T, opts testenv.Options) *variantOutcome {
	t.Helper()
	w := newVariantWorkspace(t, opts)
	p := w.plan(t)
	code, out := w.run(t)
	if code != 0 {
		t.Fatalf("run on %v exited %d\n%s", opts.Variants, code, out)
	}
	o := w.outcome(t)
	if int(p.Totals.RecoveryPoints) > len(o.rps) {
		t.Errorf("plan counted %d RPs, the state holds %d", p.Totals.RecoveryPoints, len(o.rps))
	}
	w.checkOneJobEach(t, o)
	return o
}

// variantOtherTexts runs other-texts where its texts are met: quotas
// lower than shuffle's defaults (8 jobs per account, 3 per vault), so
// that AWS refuses and shuffle must learn them, and 3% of copy jobs
// failing with a retryable internal error. (The workspace's script allows 6
// attempts: with 3, one RP in 200 failing three times running by
// chance, about 0.5% of runs, would fail the case for no fault of the
// texts.) The default variant runs the
// same, to compare with.
func variantOtherTexts(t *testing.T) {
	opts := func(v ...string) testenv.Options {
		return testenv.Options{Variants: v, CopySpeed: 2e5, Quotas: testenv.Quotas{AccountCopyJobs: 8, VaultCopyJobs: 3, OverLimit: true}, Faults: &testenv.Faults{CopyFailRate: 0.03}}
	}
	base := runVariantCase(t, opts())
	b := &variantBaseline{included: base.included, refused: quotaRefusals(base.snap)}
	if b.refused == 0 {
		t.Fatalf("the default variant met no quota refusal; the case proves nothing")
	}
	t.Logf("default variant under low quotas: %d included, refusals %v", len(base.included), base.snap.Refusals)
	o := runVariantCase(t, opts(testenv.VariantOtherTexts))
	// Reading refusals it cannot place, shuffle may be refused more
	// often than when the text names the quota, but not without bound.
	b.refused = max(2*b.refused, b.refused+20)
	checkVariantOutcome(t, testenv.VariantOtherTexts, o, b)
}

// quotaRefusals is how many StartCopyJob calls a quota refused (busy
// resources are not a quota shuffle can keep within).
func quotaRefusals(s testenv.CountersSnapshot) int64 {
	return s.Refusals[testenv.RefusalAccount] + s.Refusals[testenv.RefusalVault] + s.Refusals[testenv.RefusalResource]
}

// checkOneJobEach asserts exactly one job created, and one COMPLETED, per
// included RP, and none for any other.
func (w *variantWorkspace) checkOneJobEach(t *testing.T, o *variantOutcome) {
	t.Helper()
	jobs := map[string]int64{}
	for k, n := range o.snap.JobsCreated {
		rp, _, _ := strings.Cut(k, " ")
		jobs[rp] += n
	}
	for arn := range o.included {
		// With copy failures injected, a failed job is retried; the
		// COMPLETED ones are counted below.
		if jobs[arn] != 1 && w.failing == 0 {
			t.Errorf("included RP %s: %d copy jobs created, want 1", arn, jobs[arn])
		}
	}
	for arn, n := range jobs {
		if !o.included[arn] {
			t.Errorf("RP %s is not included but got %d copy jobs", arn, n)
		}
	}
	checked := map[string]string{}
	for arn := range o.included {
		checked[arn] = arn
	}
	checkJobs(t, w.env, checked)
}

// checkVariantOutcome compares a finished case with the default variant.
func checkVariantOutcome(t *testing.T, v string, o *variantOutcome, b *variantBaseline) {
	t.Helper()
	if len(o.rps) != o.listed {
		t.Errorf("the state holds %d RPs, the source lists %d: not every RP was inventoried", len(o.rps), o.listed)
	}
	var refused []string
	for arn := range b.included {
		if !o.included[arn] {
			rp, d := o.rps[arn], "not inventoried"
			if rp != nil && rp.Decision != nil {
				d = rp.Decision.Outcome + ": " + rp.Decision.Reason
			}
			refused = append(refused, arn+" is "+d)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		t.Errorf("%s: %d RPs included on the default variant are not included; the first:\n%s", v, len(refused), strings.Join(refused[:min(5, len(refused))], "\n"))
	}
	unknown := 0
	for arn, rp := range o.rps {
		if rp.ResourceType == testenv.TypeEKS || rp.ResourceType == testenv.TypeQuantumLedger {
			unknown++
		}
		switch {
		case rp.Decision == nil:
			t.Errorf("%s: RP %s (%s) was never decided", v, arn, rp.ResourceType)
		case rp.Decision.Outcome != state.Included && rp.Decision.Reason == "":
			t.Errorf("%s: RP %s (%s) is %s without a reason", v, arn, rp.ResourceType, rp.Decision.Outcome)
		case rp.Decision.Outcome == state.Included && o.copies[arn] != state.CopyCompleted:
			t.Errorf("%s: included RP %s (%s) ended %q, want completed", v, arn, rp.ResourceType, o.copies[arn])
		}
	}
	if withUnknown := v == testenv.VariantUnknownTypes || v == testenv.VariantAll; withUnknown && unknown == 0 {
		t.Errorf("%s: the state holds no RP of an unknown type", v)
	}
	if n := quotaRefusals(o.snap); n > b.refused {
		t.Errorf("%s: %d StartCopyJob calls were refused for a quota (%v), the default variant had %d", v, n, o.snap.Refusals, b.refused)
	}
	t.Logf("%s: %d RPs (%d of unknown types), %d included (default %d), refusals %v", v, len(o.rps), unknown, len(o.included), len(b.included), o.snap.Refusals)
}

// variantClock is the emulator's clock: real time plus an offset, or
// frozen, so that no copy job moves on while it is.
type variantClock struct {
	mu     sync.Mutex
	off    time.Duration
	frozen *time.Time
}

func (c *variantClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().Add(c.off)
}

// freeze stops the clock where it is.
func (c *variantClock) freeze() {
	now := c.now()
	c.mu.Lock()
	c.frozen = &now
	c.mu.Unlock()
}

// resume runs the clock on from where it stopped, plus d.
func (c *variantClock) resume(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.off = c.frozen.Add(d).Sub(time.Now())
		c.frozen = nil
	}
}

// variantForgetTokensResume: a run whose window ends with work left,
// then more than 24 simulated hours (tokens forgotten), then a second
// run that finishes: still exactly one copy per RP.
func variantForgetTokensResume(t *testing.T, b *variantBaseline) {
	const speed = 1e6
	clk := &variantClock{}
	w := newVariantWorkspace(t, testenv.Options{CopySpeed: speed, Now: clk.now, Variants: []string{testenv.VariantForgetTokens}})
	w.plan(t)
	// The clock stands still through the first run: its jobs stay in
	// flight when its window ends.
	clk.freeze()
	code, out := w.run(t, "--window", "1s")
	if code != exitWindow {
		t.Fatalf("the first run exited %d, want %d (window ended with work left)\n%s", code, exitWindow, out)
	}
	started := len(w.env.Counters().Snapshot().JobsCreated)
	clk.resume(25 * time.Hour / speed) // 25 simulated hours: every token forgotten
	if code, out := w.run(t); code != 0 {
		t.Fatalf("the run after the tokens lapsed exited %d\n%s", code, out)
	}
	o := w.outcome(t)
	t.Logf("forget-tokens: %d jobs before the tokens lapsed, %d after", started, len(o.snap.JobsCreated))
	if started == 0 || started >= len(o.included) {
		t.Errorf("the first run started %d of %d jobs; the resume proves nothing", started, len(o.included))
	}
	w.checkOneJobEach(t, o)
	checkVariantOutcome(t, testenv.VariantForgetTokens, o, b)
}
