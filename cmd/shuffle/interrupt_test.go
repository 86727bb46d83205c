package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// stepMarkers is examples/migrate.lua with a line printed before each
// step ("@step NAME") and after it ("@done NAME").
func stepMarkers(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("examples/migrate.lua")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for _, s := range []struct{ step, call string }{
		{"inventory", "local inv = shuffle.inventory()"},
		{"enrich", "local en = shuffle.enrich()"},
		{"decide", "local d = shuffle.decide()"},
		{"replicate", "local r = shuffle.replicate()"},
		{"copy", "local c = shuffle.copy({ max_in_flight = 100 })"},
	} {
		if !strings.Contains(src, s.call) {
			t.Fatalf("examples/migrate.lua no longer contains %q", s.call)
		}
		call := strings.Replace(s.call, "max_in_flight = 100", "max_in_flight = 100, poll_min = 0.01, retry_base = 0.05", 1)
		src = strings.Replace(src, s.call, `print("@step `+s.step+`")`+"\n"+call+"\n"+`print("@done `+s.step+`")`, 1)
	}
	p := filepath.Join("examples", name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// interruptAt is stdout that cancels (as Ctrl-C would) when the script
// prints the marker.
type interruptAt struct {
	marker string
	cancel context.CancelFunc
	mu     sync.Mutex
	b      bytes.Buffer
}

func (w *interruptAt) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.marker != "" && strings.Contains(w.b.String(), w.marker+"\n") {
		w.cancel()
	}
	return len(p), nil
}

func (w *interruptAt) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// runInterrupted runs the CLI in-process; the signal context it gets is
// cancelled when stdout shows marker ("" : at once, before the pre-flight
// check).
func runInterrupted(t *testing.T, marker string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if marker == "" {
		cancel()
	}
	return runWithOut(ctx, &interruptAt{marker: marker, cancel: cancel}, args...)
}

// runWith runs the CLI in-process with a signal context cancelled with ctx.
func runWith(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	return runWithOut(ctx, &interruptAt{}, args...)
}

func runWithOut(ctx context.Context, out *interruptAt, args ...string) (int, string, string) {
	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &errb, getenv: os.Getenv,
		notify: func(parent context.Context) (context.Context, context.CancelFunc) {
			// As notifySignals does on SIGINT.
			c, cf := context.WithCancelCause(parent)
			stop := context.AfterFunc(ctx, func() { cf(signalCause{os.Interrupt}) })
			return c, func() { stop(); cf(nil) }
		}}
	code := run(args, e)
	return code, out.String(), errb.String()
}

// Ctrl-C at any step of a run, not only while copying, exits 130 with
// the command to resume; the step it stopped does not finish, nothing is
// started in AWS, and the next run resumes from the saved state.
func TestInterruptAtEveryStepExits130(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 120, CopySpeed: 1e6})
	script := stepMarkers(t, "steps.lua")
	for _, step := range []string{"check", "inventory", "enrich", "decide", "replicate", "copy"} {
		t.Run(step, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			marker := ""
			if step != "check" {
				marker = "@step " + step
			}
			before := env.Counters().Snapshot().Calls["StartCopyJob"]
			code, out, errs := runInterrupted(t, marker, "run", script, "--state", stateDir, "--progress-interval", "0")
			if code != exitInterrupted {
				t.Fatalf("Ctrl-C at %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", step, code, exitInterrupted, out, errs)
			}
			if !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "with: shuffle run "+script) {
				t.Errorf("Ctrl-C at %s: stderr does not say it was interrupted and how to resume:\n%s", step, errs)
			}
			if step != "check" && strings.Contains(out, "@done "+step) {
				t.Errorf("Ctrl-C at the start of %s: the step finished anyway:\n%s", step, out)
			}
			if step != "copy" {
				if n := env.Counters().Snapshot().Calls["StartCopyJob"] - before; n != 0 {
					t.Errorf("Ctrl-C at %s: %d StartCopyJob calls", step, n)
				}
			}
			if step == "check" || step == "inventory" {
				return
			}
			// The state is saved: the inventory is not listed whole again,
			// only each vault's delta (nothing new).
			code, out, errs = shuffle(t, "run", script, "--state", stateDir, "--progress-interval", "0")
			if code != 0 {
				t.Fatalf("resume after Ctrl-C at %s: exit %d\n%s%s", step, code, out, errs)
			}
			if !strings.Contains(out, "; 0 new, 0 gone; 14 vaults listed from their newest, 0 whole)") {
				t.Errorf("resume after Ctrl-C at %s listed the source again:\n%s", step, out)
			}
		})
	}
}

// Ctrl-C in the middle of a step's AWS calls (listing the source,
// creating destination vaults): exit 130, the step unfinished.
func TestInterruptMidAWSCallsExits130(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 600, CopySpeed: 1e6,
		Faults: &testenv.Faults{Latency: testenv.Duration(50 * time.Millisecond)}})
	script := stepMarkers(t, "steps.lua")
	for _, c := range []struct {
		step, op string
		calls    int64
	}{{"inventory", "ListRecoveryPointsByBackupVault", 3}, {"replicate", "CreateBackupVault", 1}} {
		t.Run(c.step, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			base := env.Counters().Calls(c.op)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					if env.Counters().Calls(c.op)-base >= c.calls {
						cancel()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			code, out, errs := runWith(t, ctx, "run", script, "--state", stateDir, "--progress-interval", "0")
			if code != exitInterrupted {
				t.Fatalf("Ctrl-C mid-%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.step, code, exitInterrupted, out, errs)
			}
			if strings.Contains(out, "@done "+c.step) {
				t.Errorf("%s finished although interrupted:\n%s", c.step, out)
			}
		})
	}
}

// Ctrl-C while policies decide: exit 130, and no decision the interrupt
// cut short is recorded (as a failed policy call, say) to be kept by the
// next run.
func TestInterruptMidDecideExits130AndRecordsNoCutDecision(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 1500, CopySpeed: 1e6})
	// A policy slow enough to be interrupted mid-step (about a millisecond
	// a call on an idle machine), yet far inside its 200 ms time limit on
	// a loaded one.
	pol, err := os.ReadFile("policies/apmid.lua")
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(pol), "function M.decide(rp)\n", "function M.decide(rp)\n  local x = 0\n  for i = 1, 20000 do x = x + i end\n", 1)
	if slow == string(pol) {
		t.Fatal("policies/apmid.lua has no M.decide to slow down")
	}
	if err := os.WriteFile("policies/apmid.lua", []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	script := stepMarkers(t, "steps.lua")
	stateDir := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &interruptAt{marker: "@step decide", cancel: func() { time.AfterFunc(100*time.Millisecond, cancel) }}
	code, stdout, errs := runWithOut(ctx, out, "run", script, "--state", stateDir, "--progress-interval", "0")
	if code != exitInterrupted {
		t.Fatalf("Ctrl-C mid-decide: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout, errs)
	}
	if strings.Contains(stdout, "@done decide") {
		t.Fatalf("decide finished within 100 ms; the test needs a slower policy:\n%s", stdout)
	}
	code, stdout, errs = shuffle(t, "plan", script, "--state", stateDir, "--progress-interval", "0")
	if code != 0 {
		t.Fatalf("plan after the interrupt: exit %d\n%s%s", code, stdout, errs)
	}
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	failed := 0
	_ = st.ScanRPs(func(rp *state.RP) error {
		if rp.Decision != nil && rp.Decision.Outcome == state.Failed {
			if failed++; failed == 1 {
				t.Errorf("after the interrupt, %s is recorded as a failed decision: %s", rp.Arn, rp.Decision.Reason)
			}
		}
		return nil
	})
	if failed > 0 {
		t.Errorf("%d failed decisions recorded", failed)
	}
}

// The other commands that take Ctrl-C exit 130 too, whatever the step
// made of the cancellation.
func TestInterruptOtherCommandsExit130(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 120, CopySpeed: 1e6})
	script := stepMarkers(t, "steps.lua")
	for _, c := range []struct {
		name   string
		marker string
		args   []string
	}{
		{"plan-at-decide", "@step decide", []string{"plan", script}},
		{"plan-at-start", "", []string{"plan", script}},
		{"check-at-start", "", []string{"check", script}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			code, out, errs := runInterrupted(t, c.marker, append(c.args, "--state", stateDir)...)
			if code != exitInterrupted {
				t.Fatalf("%v interrupted: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.args, code, exitInterrupted, out, errs)
			}
			if !strings.Contains(errs, "interrupted by Ctrl-C") {
				t.Errorf("stderr does not say what stopped it:\n%s", errs)
			}
		})
	}
}
