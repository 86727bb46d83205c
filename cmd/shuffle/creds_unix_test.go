//go:build unix

package main

// SIGUSR1 resumes a paused run on Unix only (pause_unix.go); Windows
// resumes by keypress or --auto-resume.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// A detached run (the real binary, stdin not a terminal) resumes on
// SIGUSR1, and runs the script's on_pause hook with the profile and
// expiry in its environment.
func TestDetachedRunResumesOnSIGUSR1(t *testing.T) {
	bin, err := exec.LookPath("shuffle")
	if err != nil {
		t.Skip("the shuffle test command is not on PATH (testscript sets it up in TestMain)")
	}
	env, dir := workspaceWith(t, testenv.Options{RecoveryPoints: 300, TokenTTL: 3 * time.Second, CopySpeed: slowCopySpeed})
	stateDir := filepath.Join(t.TempDir(), "state")
	hookOut := filepath.Join(t.TempDir(), "hook")
	script := writeScript(t, "usr1.lua", "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 100, poll_min = 0.01, retry_base = 0.05 })")
	b, _ := os.ReadFile(script)
	hooked := strings.Replace(string(b), "copy_role =", `on_pause = { "sh", "-c", "echo $SHUFFLE_PAUSED_PROFILE $SHUFFLE_TOKEN_EXPIRES > `+hookOut+`" },
  copy_role =`, 1)
	if hooked == string(b) {
		t.Fatal("could not add on_pause to the script")
	}
	if err := os.WriteFile(script, []byte(hooked), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, done, errb := startDetached(t, bin, dir, "run", script, "--state", stateDir)
	waitFor(t, "copying", 60*time.Second, func() bool { return env.Counters().Calls("StartCopyJob") > 0 }, done, errb)
	env.SetRotation(false)
	waitFor(t, "pause banner", 30*time.Second, func() bool { return strings.Contains(errb.String(), "PAUSED") }, done, errb)
	waitFor(t, "on_pause hook", 10*time.Second, func() bool { _, err := os.Stat(hookOut); return err == nil }, done, errb)
	time.Sleep(200 * time.Millisecond)
	hb, _ := os.ReadFile(hookOut)
	if f := strings.Fields(string(hb)); len(f) != 2 || (f[0] != "source" && f[0] != "destination") || !strings.HasPrefix(f[1], "20") {
		t.Errorf("the hook saw %q; want the profile and the expiry", hb)
	}
	env.SetRotation(true)
	if err := env.Rotate(); err != nil {
		t.Fatal(err)
	}
	resumeWithSIGUSR1(t, cmd, done, errb)
	checkPauseLogged(t, stateDir, "SIGUSR1")
	checkAllCompleted(t, env, stateDir)
}

// resumeWithSIGUSR1 checks that a paused detached run does not resume
// by itself once its credentials work again, sends it SIGUSR1 and
// waits for it to finish well.
func resumeWithSIGUSR1(t *testing.T, cmd *exec.Cmd, done <-chan int, errb *syncBuffer) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(errb.String(), "resumed after") {
		t.Fatal("resumed without a signal")
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitRunOK(t, done, errb, "after SIGUSR1")
	if !strings.Contains(errb.String(), "SIGUSR1: resuming") {
		t.Errorf("no SIGUSR1 resume message:\n%s", errb.String())
	}
}

// Through role_arn + source_profile on both sides (the cross-account
// pattern): the source keys rotate every 3 s in the credentials file
// and each AssumeRole is signed with the keys now there; with the
// refresher stopped, the run (the real binary, detached) pauses naming
// the source profile's keys, and resumes on SIGUSR1.
func TestRunThroughAssumedRolesResumesOnSIGUSR1(t *testing.T) {
	bin, err := exec.LookPath("shuffle")
	if err != nil {
		t.Skip("the shuffle test command is not on PATH (testscript sets it up in TestMain)")
	}
	var rotations atomic.Int64
	k := credKinds["assume-role"]
	env, dir := kindWorkspace(t, k, &rotations)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "assumed.lua")
	cmd, done, errb := startDetached(t, bin, dir, "run", script, "--state", stateDir, "--source-profile", k.src, "--destination-profile", k.dst)
	stopRefresherAfterExpiries(t, env, k, &rotations, done, errb)
	if n := env.Counters().Calls("AssumeRole"); n < 4 {
		t.Errorf("%d AssumeRole calls over 4 rotations of 3 s role credentials; the roles were not assumed again", n)
	}
	restartRefresher(t, env)
	resumeWithSIGUSR1(t, cmd, done, errb)
	checkPauseLoggedFor(t, stateDir, "SIGUSR1", []string{k.src, k.dst}, "")
	checkAllCompleted(t, env, stateDir)
}
