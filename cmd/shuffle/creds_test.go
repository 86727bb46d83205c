package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// slowCopySpeed makes the copy of 300 RPs last well over 10 s, so that
// 3 s tokens expire several times during it.
const slowCopySpeed = 2e4

// secretWatcher records every secret key and session token the emulator
// issues while it runs.
type secretWatcher struct {
	mu      sync.Mutex
	secrets map[string]bool
	keys    map[string]bool
}

func watchSecrets(t *testing.T, env *testenvtest.Env) (*secretWatcher, func()) {
	w := &secretWatcher{secrets: map[string]bool{}, keys: map[string]bool{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	poll := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, p := range []string{testenv.ProfileSource, testenv.ProfileDestination} {
			if c, ok := env.Current(p); ok {
				w.secrets[c.SecretAccessKey] = true
				w.secrets[c.SessionToken] = true
				w.keys[c.AccessKeyID] = true
			}
		}
	}
	go func() {
		defer close(done)
		for {
			poll()
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w, func() { close(stop); <-done; poll() }
}

// assertNoSecrets searches every file under dirs and the given outputs
// for the issued secrets and tokens.
func (w *secretWatcher) assertNoSecrets(t *testing.T, dirs []string, outputs ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.secrets, "")
	files := 0
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				return nil
			}
			files++
			for s := range w.secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds a secret from the credentials file", path)
				}
			}
			return nil
		})
	}
	for i, o := range outputs {
		for s := range w.secrets {
			if strings.Contains(o, s) {
				t.Errorf("output %d holds a secret from the credentials file", i)
			}
		}
	}
	if files == 0 || len(w.secrets) == 0 {
		t.Fatalf("searched %d files for %d secrets; the test proves nothing", files, len(w.secrets))
	}
}

// runAsync runs the CLI in-process with the given stdin, returning its
// stderr as it grows and a channel with the exit code.
func runAsync(t *testing.T, stdin io.Reader, args ...string) (*syncBuffer, *syncBuffer, <-chan int) {
	t.Helper()
	var out, errb syncBuffer
	e := &env{stdin: stdin, stdout: &out, stderr: &errb, getenv: os.Getenv,
		notify: func(ctx context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }}
	done := make(chan int, 1)
	go func() { done <- run(args, e) }()
	return &out, &errb, done
}

// exitCode delivers the exit status of a started command when it ends
// (-1 for one that could not be waited for).
func exitCode(cmd *exec.Cmd) <-chan int {
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			done <- 0
		case errors.As(err, &ee):
			done <- ee.ExitCode()
		default:
			done <- -1
		}
	}()
	return done
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool, done <-chan int, errb *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case code := <-done:
			t.Fatalf("run exited %d before %s\n%s", code, what, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s\n%s", what, timeout, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func totalCalls(env *testenvtest.Env) int64 {
	var n int64
	for _, v := range env.Counters().Snapshot().Calls {
		n += v
	}
	return n
}

func checkAllCompleted(t *testing.T, env *testenvtest.Env, stateDir string) {
	t.Helper()
	included := includedSet(t, stateDir)
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	byState := map[string]int{}
	_ = st.ScanCopies(func(c *state.CopyRecord) error { byState[c.State]++; return nil })
	st.Close()
	if byState[state.CopyCompleted] != len(included) || len(included) == 0 {
		t.Errorf("copy records %v; want all %d included completed", byState, len(included))
	}
	checkJobs(t, env, included)
}

// A copy that outlives several 3 s tokens: the credentials file is
// rewritten before each expiry and shuffle picks every rewrite up; no RP
// fails and nothing secret is written to the state, reports or output.
func TestRunCrossesTokenExpiries(t *testing.T) {
	var rotations atomic.Int64
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 300, TokenTTL: 3 * time.Second, CopySpeed: slowCopySpeed,
		Logf: func(f string, a ...any) {
			if strings.Contains(f, "credentials rotated") {
				rotations.Add(1)
			}
		}})
	w, stop := watchSecrets(t, env)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "ttl.lua")
	start := time.Now()
	code, out, errs := shuffle(t, "run", script, "--state", stateDir)
	elapsed := time.Since(start)
	stop()
	if code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	n := rotations.Load()
	t.Logf("run took %s and crossed %d credential rotations (%d access keys issued)", elapsed.Round(time.Millisecond), n, len(w.keys))
	if n < 3 {
		t.Fatalf("the run crossed %d rotations; the test needs at least 3 (copy too fast)", n)
	}
	if strings.Contains(errs, "PAUSED") {
		t.Errorf("the run paused although the file was refreshed in time\n%s", errs)
	}
	// Every 3 s token is inside the 5 m warning lead from the start: one
	// warning per credentials generation, not one per token. A reload
	// starts a generation (a token that lapses while a request is on its
	// way, which a slow machine makes likely), so a second warning can be
	// right; one per rotation never is.
	for _, profile := range []string{"source", "destination"} {
		if w := strings.Count(errs, `warning: the credentials of profile "`+profile+`" expire`); w > 1 && 2*int64(w) > n {
			t.Errorf("%d expiry warnings for profile %s over %d rotations; want one per credentials generation", w, profile, n)
		}
	}
	checkAllCompleted(t, env, stateDir)
	w.assertNoSecrets(t, []string{stateDir}, out, errs)
}

// pauseRun starts a slow run, stops the emulator's rotation once copying
// is under way and waits for the pause banner. It checks that no call
// reaches AWS while paused and turns rotation back on.
func pauseRun(t *testing.T, stdin io.Reader, extra ...string) (*testenvtest.Env, string, *syncBuffer, *syncBuffer, <-chan int) {
	t.Helper()
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 300, TokenTTL: 3 * time.Second, CopySpeed: slowCopySpeed})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "pause.lua")
	out, errb, done := runAsync(t, stdin, append([]string{"run", script, "--state", stateDir}, extra...)...)
	waitFor(t, "copying", 60*time.Second, func() bool { return env.Counters().Calls("StartCopyJob") > 0 }, done, errb)
	env.SetRotation(false)
	waitFor(t, "pause banner", 30*time.Second, func() bool { return strings.Contains(errb.String(), "PAUSED") }, done, errb)
	banner := errb.String()
	if !strings.Contains(banner, "\a") || !strings.Contains(banner, `profile "source"`) && !strings.Contains(banner, `profile "destination"`) ||
		!strings.Contains(banner, "token expiry: 20") {
		t.Errorf("the banner lacks the bell, the profile or the expiry:\n%s", banner)
	}
	time.Sleep(300 * time.Millisecond) // calls in flight when it paused settle
	before := totalCalls(env)
	time.Sleep(1500 * time.Millisecond)
	if n := totalCalls(env) - before; n != 0 {
		t.Errorf("%d AWS calls reached the emulator while paused", n)
	}
	env.SetRotation(true)
	if err := env.Rotate(); err != nil {
		t.Fatal(err)
	}
	return env, stateDir, out, errb, done
}

func pausedNS(t *testing.T, stateDir string) int64 {
	t.Helper()
	runs := runHistory(t, stateDir)
	return runs[len(runs)-1].Counts["paused_ns"]
}

func waitExit(t *testing.T, done <-chan int, out, errb *syncBuffer) {
	t.Helper()
	waitRunOK(t, done, errb, "after resuming", out)
}

// waitRunOK waits up to two minutes for a run started in the
// background to exit 0, failing the test with its output (out, if any,
// then errb) otherwise. after, if not empty, says what the run was
// waiting for ("after the keypress").
func waitRunOK(t *testing.T, done <-chan int, errb *syncBuffer, after string, out ...*syncBuffer) {
	t.Helper()
	if after != "" {
		after = " " + after
	}
	select {
	case code := <-done:
		if code != 0 {
			var printed string
			for _, o := range out {
				printed += o.String()
			}
			t.Fatalf("run exited %d%s\n%s%s", code, after, printed, errb.String())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("run did not finish%s\n%s", after, errb.String())
	}
}

// Tokens lapse with nobody refreshing them: the run pauses after three
// failed reloads, makes no calls while paused, and resumes on Enter
// (stdin is not a terminal) once the file is fresh again.
func TestRunPausesOnExpiredCredentialsAndResumesOnEnter(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	env, stateDir, out, errb, done := pauseRun(t, pr)
	if _, err := pw.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, out, errb)
	if !strings.Contains(errb.String(), "resumed after") {
		t.Errorf("no resume message:\n%s", errb.String())
	}
	if ns := pausedNS(t, stateDir); ns < int64(1500*time.Millisecond) {
		t.Errorf("the run record says paused_ns=%d; it was paused for at least 1.5 s", ns)
	}
	checkPauseLogged(t, stateDir, "keypress")
	checkAllCompleted(t, env, stateDir)
}

// checkPauseLogged asserts that shuffle.log has the pause (profile,
// code, token expiry) and the resume (how, how long) in that order.
func checkPauseLogged(t *testing.T, stateDir, resumedBy string) {
	t.Helper()
	checkPauseLoggedFor(t, stateDir, resumedBy, []string{"source", "destination"}, "Expired")
}

// checkPauseLoggedFor is checkPauseLogged for a run whose pause may
// come from any of profiles, with an error code containing code.
func checkPauseLoggedFor(t *testing.T, stateDir, resumedBy string, profiles []string, code string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "shuffle.log"))
	if err != nil {
		t.Fatal(err)
	}
	var paused, resumed map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("shuffle.log: %v: %s", err, line)
		}
		switch rec["msg"] {
		case "run paused":
			if paused == nil {
				paused = rec
			}
		case "run resumed":
			if paused == nil {
				t.Errorf("shuffle.log has a resume before any pause: %s", line)
			}
			if resumed == nil {
				resumed = rec
			}
		}
	}
	if paused == nil || resumed == nil {
		t.Fatalf("shuffle.log lacks the pause or the resume:\n%s", b)
	}
	if p := fmt.Sprint(paused["profile"]); !slices.Contains(profiles, p) || paused["level"] != "WARN" ||
		!strings.HasPrefix(fmt.Sprint(paused["token_expires"]), "20") || fmt.Sprint(paused["code"]) == "" || !strings.Contains(fmt.Sprint(paused["code"]), code) {
		t.Errorf("the pause record lacks the profile, the code or the expiry: %v", paused)
	}
	if resumed["resumed_by"] != resumedBy || resumed["profile"] != paused["profile"] {
		t.Errorf("the resume record says %v, want resumed_by %q", resumed, resumedBy)
	}
	if d, _ := resumed["paused_s"].(float64); d < 0.5 {
		t.Errorf("the resume record says paused_s=%v; the run was paused for over a second", resumed["paused_s"])
	}
}

// With --auto-resume the run goes on by itself once the credentials
// file is rewritten and works.
func TestRunAutoResumesWhenCredentialsComeBack(t *testing.T) {
	env, stateDir, out, errb, done := pauseRun(t, strings.NewReader(""), "--auto-resume")
	waitExit(t, done, out, errb)
	if !strings.Contains(errb.String(), "resumed after") {
		t.Errorf("no resume message:\n%s", errb.String())
	}
	checkPauseLogged(t, stateDir, "auto-resume")
	checkAllCompleted(t, env, stateDir)
}

// startDetached starts the real binary in dir with args, its stderr
// collected, and kills it when the test ends; done delivers its exit
// status.
func startDetached(t *testing.T, bin, dir string, args ...string) (*exec.Cmd, <-chan int, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	errb := &syncBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, exitCode(cmd), errb
}

// On a terminal the pause waits for one raw keypress: the real binary
// runs with its stdin on a pty, pauses when the tokens stop being
// renewed, and resumes when a key (no Enter) is typed on the pty.
func TestPausedRunResumesOnKeypressOnATerminal(t *testing.T) {
	bin, err := exec.LookPath("shuffle")
	if err != nil {
		t.Skip("the shuffle test command is not on PATH (testscript sets it up in TestMain)")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // the terminal's output (echo) goes nowhere
	env, dir := workspaceWith(t, testenv.Options{RecoveryPoints: 300, TokenTTL: 3 * time.Second, CopySpeed: slowCopySpeed})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "pty.lua")
	cmd := exec.Command(bin, "run", script, "--state", stateDir, "--progress-interval", "0")
	cmd.Dir = dir
	cmd.Stdin = tty
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := exitCode(cmd)
	defer func() { _ = cmd.Process.Kill() }()
	waitFor(t, "copying", 60*time.Second, func() bool { return env.Counters().Calls("StartCopyJob") > 0 }, done, &errb)
	env.SetRotation(false)
	waitFor(t, "pause banner", 30*time.Second, func() bool { return strings.Contains(errb.String(), "PAUSED") }, done, &errb)
	env.SetRotation(true)
	if err := env.Rotate(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(errb.String(), "resumed after") {
		t.Fatal("resumed before any key was pressed")
	}
	if _, err := ptmx.Write([]byte("x")); err != nil { // one key, no Enter
		t.Fatal(err)
	}
	waitRunOK(t, done, &errb, "after the keypress")
	if !strings.Contains(errb.String(), "resumed after") {
		t.Errorf("no resume message:\n%s", errb.String())
	}
	checkPauseLogged(t, stateDir, "keypress")
	checkAllCompleted(t, env, stateDir)
}
