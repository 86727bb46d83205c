package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
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

	// history() lists the run it is attached to, still running.
	if code, out, errs := shuffle(t, "repl", "--state", dir, "-e", "history()"); code != 0 ||
		!regexp.MustCompile(`(?m)\srunning\s+-\s+run examples/attach\.lua\s`).MatchString(out) {
		t.Errorf("history() while attached: exit %d\n%s%s", code, out, errs)
	}

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
	waitRunOK(t, done, errb, "")
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

// smallState writes a state without AWS: vault "a" with three included
// RPs, one copied, one failed and one queued.
func smallState(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	var rps []*state.RP
	for _, arn := range []string{"rp-1", "rp-2", "rp-3"} {
		rps = append(rps, &state.RP{Arn: arn, Vault: "a", ResourceArn: "res-" + arn, ResourceType: "EBS", Status: "COMPLETED",
			CreationDate: now.Add(-time.Hour), Size: 5 << 30,
			Decision: &state.Decision{Outcome: state.Included, Rule: "policy:apmid", Reason: "APMID present", PolicyHash: "h", At: now}})
	}
	if _, err := st.SavePage(&state.Partition{Vault: "a", ID: state.PartitionID("", 0), Generation: 1}, rps, now); err != nil {
		t.Fatal(err)
	}
	recs := []*state.CopyRecord{
		{Vault: "a", Arn: "rp-1", State: state.CopyIntent, Token: "t1", Attempt: 1},
		{Vault: "a", Arn: "rp-2", State: state.CopyIntent, Token: "t2", Attempt: 1},
	}
	if err := st.PutIntents(recs); err != nil {
		t.Fatal(err)
	}
	recs[0].State = state.CopyCompleted
	recs[1].State, recs[1].Reason, recs[1].JobID = state.CopyFailed, "InternalError: boom", "job-2"
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The terminal REPL (liner, on a pty): multi-line input, Tab
// completion, Ctrl-C drops the line, a Lua error leaves it open, a
// mutation asks for yes, Ctrl-D exits, and the history is saved.
func TestReplOnATerminal(t *testing.T) {
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
	_ = pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 200})
	dir := smallState(t)
	var out syncBuffer
	go func() { _, _ = io.Copy(&out, ptmx) }()
	cmd := exec.Command(bin, "repl", "--state", dir)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := exitCode(cmd)
	defer func() { _ = cmd.Process.Kill() }()
	expect := func(what string) {
		t.Helper()
		waitFor(t, what, 10*time.Second, func() bool { return strings.Contains(out.String(), what) }, done, &out)
	}
	send := func(s string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	expect("shuffle> ")
	send("print('n=' .. count{\r")
	expect(">> ")
	send("status='failed'})\r")
	expect("n=1")
	send("nosuch()\r")
	expect("error: stdin:1: attempt to call a non-function object")
	send("print('half\x03") // Ctrl-C drops the line
	send("print('after' .. 'ctrl-c')\r")
	expect("afterctrl-c") // printed only if the dropped line did not join this chunk
	send("requ\t")        // Tab completes requeue
	expect("requeue")
	send("{status='failed'}\r")
	expect("type yes to requeue 1 recovery points: ")
	send("yes\r")
	expect("requeued 1 recovery points")
	send("\x04") // Ctrl-D
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("repl exited %d\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-D did not end the REPL\n%s", out.String())
	}
	hist, err := os.ReadFile(filepath.Join(dir, "repl_history"))
	if err != nil || !strings.Contains(string(hist), "requeue{status='failed'}") {
		t.Errorf("history file: %v\n%s", err, hist)
	}
	if n := replInt(t, dir, `count{status="retry"}`); n != 1 {
		t.Errorf("%d copies in retry after the confirmed requeue, want 1", n)
	}
}

// A socket left by a run that was killed does not stop the REPL: it
// opens the state itself. Queries work; a mutation without confirm=true
// changes nothing.
func TestReplIgnoresAStaleSocket(t *testing.T) {
	dir := smallState(t)
	ln, err := net.Listen("unix", filepath.Join(dir, "repl.sock"))
	if err != nil {
		t.Skipf("no unix sockets: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(filepath.Join(dir, "repl.sock")); err != nil {
		t.Fatalf("the stale socket is gone: %v", err)
	}
	if n := replInt(t, dir, `count{status="failed"}`); n != 1 {
		t.Fatalf("count of failed = %d, want 1", n)
	}
	code, out, errs := shuffle(t, "repl", "--state", dir, "-e", `requeue{status="failed"}`)
	if code != 0 || !strings.Contains(out, "nothing changed: add confirm=true to requeue 1 recovery points") {
		t.Fatalf("unconfirmed requeue: exit %d\n%s%s", code, out, errs)
	}
	if n := replInt(t, dir, `count{status="failed"}`); n != 1 {
		t.Errorf("an unconfirmed requeue changed the state: %d failed, want 1", n)
	}
	code, out, _ = shuffle(t, "repl", "--state", dir, "--json", "-e", `requeue{status="failed"}`)
	if code != 0 || !strings.Contains(out, `"confirmed": false`) {
		t.Errorf("--json unconfirmed requeue: exit %d\n%s", code, out)
	}
}

// fakeLive is a running command's session for the socket server alone.
type fakeLive struct {
	query.StoreRequeuer
}

func (f fakeLive) LiveStore() *state.Store { return f.Store }

func (f fakeLive) LiveVerify(context.Context) (*verify.Report, error) {
	return nil, errors.New("fakeLive has no destination account")
}

// The socket protocol: output, a question answered by the client
// (interactive), locals kept between chunks, errors with their line,
// and the socket removed on Close.
func TestReplSocketProtocol(t *testing.T) {
	dir := smallState(t)
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := startReplServer(dir, fakeLive{query.StoreRequeuer{Store: st}}, state.Run{Command: "run", Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rc, ok := dialRepl(dir)
	if !ok {
		t.Fatal("no REPL server answers")
	}
	defer rc.Close()
	ctx := t.Context()
	var out strings.Builder
	var asked []string
	ask := func(p string) (string, error) { asked = append(asked, p); return "yes\n", nil }
	if err := rc.eval(ctx, `n = count{status="failed"}`, 1, false, &out, ask); err != nil {
		t.Fatal(err)
	}
	if err := rc.eval(ctx, `requeue{status="failed"}`, 2, false, &out, ask); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "type yes to requeue 1 recovery points: " {
		t.Errorf("questions asked: %q", asked)
	}
	if !strings.Contains(out.String(), "requeued 1 recovery points; the running copy starts them now") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := rc.eval(ctx, `print(n, count{status="retry"})`, 3, false, &out, nil); err != nil || out.String() != "1\t1\n" {
		t.Errorf("locals between chunks: %v, %q", err, out.String())
	}
	err = rc.eval(ctx, "\nnosuch()", 4, false, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "stdin:5:") {
		t.Errorf("error over the socket: %v", err)
	}
	rc.Close()
	srv.Close()
	if _, err := os.Stat(filepath.Join(dir, "repl.sock")); !os.IsNotExist(err) {
		t.Errorf("socket not removed: %v", err)
	}
}

// status and forecast work while a run holds the state: they ask the
// run through its REPL socket, and their numbers are the live ones.
func TestStatusAndForecastOfARunningRun(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: slowCopySpeed})
	dir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "live.lua")
	_, errb, done := runAsync(t, strings.NewReader(""), "run", script, "--state", dir, "--skip-check")
	sock := filepath.Join(dir, "repl.sock")
	waitFor(t, "the REPL socket", 30*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }, done, errb)
	// Until shuffle.config opens the state, the run says to try again.
	waitFor(t, "the run's state open", 30*time.Second, func() bool { code, _, _ := shuffle(t, "status", "--state", dir); return code == 0 }, done, errb)
	copied := regexp.MustCompile(`Copied (\d+) of (\d+) recovery points`)
	completed := func() int {
		code, out, errs := shuffle(t, "status", "--state", dir)
		if code != 0 || !strings.Contains(out, "(live: asked of the shuffle command running on this state)") {
			t.Fatalf("status while a run holds the state: exit %d\n%s%s", code, out, errs)
		}
		m := copied.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("status output lacks the copied count:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	first := completed()
	waitFor(t, "more completed copies in the live status", 60*time.Second, func() bool { return completed() > first }, done, errb)
	if st, err := state.Open(dir); err == nil {
		st.Close()
		t.Fatal("the state opened while the run holds it; the test proves nothing")
	}
	chart := filepath.Join(t.TempDir(), "live.svg")
	code, out, errs := shuffle(t, "forecast", "--state", dir, "--json", "--chart", chart)
	if code != 0 {
		t.Fatalf("forecast while a run holds the state: exit %d\n%s%s", code, out, errs)
	}
	var f struct {
		Status struct {
			Completed int `json:"completed"`
		} `json:"status"`
		Projection struct {
			Remaining string `json:"remaining"`
		} `json:"projection"`
	}
	if err := json.Unmarshal([]byte(out), &f); err != nil || f.Status.Completed <= first {
		t.Errorf("live forecast: %v, completed %d (want more than %d)\n%s", err, f.Status.Completed, first, out)
	}
	if b, err := os.ReadFile(chart); err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "<path") {
		t.Errorf("the live forecast's chart %s: %v (%d bytes); want an SVG with lines", chart, err, len(b))
	}
	// verify asks the run too: its live completed copies, each found in
	// the destination.
	code, out, errs = shuffle(t, "verify", script, "--state", dir, "--json", "--dry-run")
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Completed <= int64(first) || rep.Verified != rep.Completed ||
		!strings.Contains(errs, "asked the shuffle run that holds") {
		t.Errorf("verify while a run holds the state: exit %d, %v, %d of %d verified (want more than %d)\n%s", code, err, rep.Verified, rep.Completed, first, errs)
	}
	waitRunOK(t, done, errb, "")
	// Once the run is over, status reads the state itself.
	if code, out, _ := shuffle(t, "status", "--state", dir); code != 0 || strings.Contains(out, "(live:") {
		t.Errorf("status after the run: exit %d, live %v", code, strings.Contains(out, "(live:"))
	}
}
