package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// replInt runs `shuffle repl -e CHUNK` and returns the integer it prints.
func replInt(t *testing.T, dir, chunk string) int {
	t.Helper()
	code, out, errs := shuffle(t, "repl", "--state", dir, "-e", chunk)
	if code != 0 {
		t.Fatalf("repl -e %s exited %d: %s%s", chunk, code, out, errs)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("repl -e %s printed %q, want a number", chunk, out)
	}
	return n
}

// A REPL attached to a running `shuffle run` sees live counts, and a
// requeue of failed copies is started by that same run, without a
// restart: every requeued RP ends completed, with one COMPLETED job.
func TestReplAttachesToARunningRun(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 150, CopySpeed: 5 * slowCopySpeed, Faults: &testenv.Faults{CopyFailRate: 0.3}})
	dir := filepath.Join(t.TempDir(), "state")
	script := writeScript(t, "attach.lua", "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 16, poll_min = 0.01, retry_base = 0.05, max_attempts = 1 })")
	_, errb, done := runAsync(t, strings.NewReader(""), "run", script, "--state", dir, "--skip-check")
	sock := filepath.Join(dir, "repl.sock")
	waitFor(t, "the REPL socket", 30*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }, done, errb)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, mode %v; want 0600", sock, err, fi.Mode().Perm())
	}
	// Live counts: failures and completions appear while the run goes on.
	waitFor(t, "a failed copy", 60*time.Second, func() bool {
		code, out, _ := shuffle(t, "repl", "--state", dir, "-e", `count{status="failed"}`)
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return code == 0 && n > 0
	}, done, errb)
	t0 := time.Now()
	t.Logf("first failure seen")
	// The run holds Badger's lock, so only the socket can answer.
	if st, err := state.Open(dir); err == nil {
		st.Close()
		t.Fatal("the state opened while the run holds it; the test proves nothing")
	}
	first := replInt(t, dir, `count{status="completed"}`)
	waitFor(t, "more completed copies", 60*time.Second, func() bool {
		return replInt(t, dir, `count{status="completed"}`) > first
	}, done, errb)

	// Requeue, with the faults gone: the running engine starts them.
	if err := env.SetFaults(testenv.Faults{}); err != nil {
		t.Fatal(err)
	}
	code, out, errs := shuffle(t, "repl", "--state", dir, "-e", `requeue{status="failed", confirm=true}`,
		"-e", `reset{what="decisions"}`)
	if code != 1 || !strings.Contains(errs, "stop the run first") {
		t.Errorf("reset while attached: exit %d, stderr %q; want it refused", code, errs)
	}
	m := regexp.MustCompile(`requeued (\d+) recovery points; the running copy starts them now`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("requeue output:\n%s%s", out, errs)
	}
	requeued, _ := strconv.Atoi(m[1])
	t.Logf("requeued %d after %s", requeued, time.Since(t0))
	if requeued == 0 {
		t.Fatal("requeued nothing")
	}
	select {
	case c := <-done:
		if c != 0 {
			t.Fatalf("run exited %d\n%s", c, errb.String())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("run did not finish\n%s", errb.String())
	}
	t.Logf("run ended after %s", time.Since(t0))
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the run: %v", err)
	}
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var again, againDone int
	err = st.ScanCopies(func(c *state.CopyRecord) error {
		if c.Requeues > 0 {
			again++
			if c.State == state.CopyCompleted && len(c.Attempts) == 2 && c.Attempts[0].State == "FAILED" {
				againDone++
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if again != requeued || againDone != requeued {
		t.Errorf("%d records were requeued, %d of them completed on a second attempt; want %d both", again, againDone, requeued)
	}
	if !strings.Contains(errb.String(), "copy: ") {
		t.Errorf("no copy summary:\n%s", errb.String())
	}
	checkJobs(t, env, onlyCompleted(t, dir, includedSet(t, dir)))
}
