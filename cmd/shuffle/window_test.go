package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// allCopyJobs lists every copy job of the source account.
func allCopyJobs(t *testing.T, env *testenvtest.Env) []struct {
	rp              string
	created, closed time.Time
} {
	t.Helper()
	client := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	var out []struct {
		rp              string
		created, closed time.Time
	}
	p := backup.NewListCopyJobsPaginator(client, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.CopyJobs {
			var closed time.Time
			if j.CompletionDate != nil {
				closed = *j.CompletionDate
			}
			out = append(out, struct {
				rp              string
				created, closed time.Time
			}{aws.ToString(j.SourceRecoveryPointArn), *j.CreationDate, closed})
		}
	}
	return out
}

// A soft window ends the run with exit 10 within a second of its end;
// a cautious window starts no job expected to end after it (checked
// against the emulator's own job times); the next run finishes the job
// with nothing copied twice and nothing missed.
func TestChangeWindows(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e4})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "window.lua")

	// Soft: --window 10s.
	start := time.Now()
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--window", "10s")
	took := time.Since(start)
	if code != exitWindow {
		t.Fatalf("soft window: exit %d, want %d\n%s%s", code, exitWindow, out, errs)
	}
	if took < 10*time.Second || took > 11*time.Second {
		t.Errorf("soft window of 10s: the run took %s; want it to end within 1 s of the deadline", took)
	}
	if !strings.Contains(errs, "change window ended with work left") || !strings.Contains(errs, "resume with: shuffle run "+script) {
		t.Errorf("soft window: stderr does not say the window ended and how to resume:\n%s", errs)
	}

	// Cautious: a short window; no job it starts may end after it.
	cstart := time.Now()
	code, out, errs = shuffle(t, "run", script, "--state", stateDir, "--window", "6s", "--cutoff", "cautious")
	if code != exitWindow && code != 0 {
		t.Fatalf("cautious window: exit %d\n%s%s", code, out, errs)
	}
	deadline := cstart.Add(6 * time.Second)
	time.Sleep(time.Until(deadline) + time.Second)
	started := 0
	for _, j := range allCopyJobs(t, env) {
		if j.created.Before(cstart) {
			continue
		}
		started++
		if j.closed.IsZero() || j.closed.After(deadline) {
			t.Errorf("cautious window: job for %s created %s ends %s, after the deadline %s",
				j.rp, j.created.Format(time.StampMilli), j.closed.Format(time.StampMilli), deadline.Format(time.StampMilli))
		}
	}
	t.Logf("cautious window started %d jobs", started)

	// Then the rest, with exactly-once intact.
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errs)
	}
	included := includedSet(t, stateDir)
	checkJobs(t, env, included)
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("%d copy jobs for %s, want 1", n, k)
		}
	}
}

// SIGINT mid-copy: the real binary exits 130 within 5 s, saying how to
// resume; the resumed run completes with exactly-once intact.
func TestInterruptMidCopy(t *testing.T) {
	bin, err := exec.LookPath("shuffle")
	if err != nil {
		t.Skip("the shuffle test command is not on PATH (testscript sets it up in TestMain)")
	}
	env, dir := workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e4})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "sigint.lua")
	cmd := exec.Command(bin, "run", script, "--state", stateDir)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "replicate:") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	time.Sleep(1500 * time.Millisecond) // copying
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	took := time.Since(sent)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGINT: %v, want exit %d\n%s", err, exitInterrupted, stderr.String())
	}
	if took > 5*time.Second {
		t.Errorf("exited %s after SIGINT; want within 5 s", took)
	}
	if !strings.Contains(stderr.String(), "resume with: shuffle run "+script) || !strings.Contains(stderr.String(), "copy: ") {
		t.Errorf("stderr lacks the summary or the resume command:\n%s", stderr.String())
	}
	if code, out, errs := shuffle(t, "run", script, "--state", stateDir); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errs)
	}
	checkJobs(t, env, includedSet(t, stateDir))
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("%d copy jobs for %s, want 1", n, k)
		}
	}
}
