// Command shuffle copies AWS Backup recovery points from a source
// account into a destination account, judged by Lua policies, with its
// progress kept in Badger so that it can stop and resume at any time.
//
// The command is where the process meets the packages below it: it reads
// flags and the environment (once per command; awsOptions hands the AWS
// client settings to awsclient, which reads no environment itself),
// talks to the terminal and maps outcomes to exit codes. It must not
// hold engine logic: what a run does is decided in engine and luabind.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Exit codes; README.md lists them for operators.
const (
	exitOK       = 0
	exitError    = 1  // a run-time failure: AWS, state, files
	exitUsage    = 2  // a wrong flag, argument or script
	exitWindow   = 10 // the change window ended with work remaining
	exitBlocking = 3  // a pre-flight check found a blocking problem
	// exitInterrupted: stopped by Ctrl-C or SIGTERM; state saved (128 + SIGINT).
	exitInterrupted = 130
)

// stdio and the process environment, injected so the CLI runs in-process
// under test.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// aws and state are the AWS client and state options, read from
	// the environment once per command (run) and handed to every
	// session, check and state the command opens.
	aws   awsclient.Options
	state state.Options
	// notify delivers interrupt/terminate signals; tests may replace it.
	notify func(ctx context.Context) (context.Context, context.CancelFunc)
}

func osEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		notify: notifySignals,
	}
}

// watchInterrupts wraps e.notify so that the CLI learns whether the
// command's signal context was cancelled (Ctrl-C, SIGTERM) before the
// command ended, and with what cause.
func watchInterrupts(e *env) (*env, func() (bool, error)) {
	var mu sync.Mutex
	var hit bool
	var cause error
	se := *e
	se.notify = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := e.notify(parent)
		return ctx, func() {
			if ctx.Err() != nil && parent.Err() == nil {
				mu.Lock()
				hit, cause = true, context.Cause(ctx)
				mu.Unlock()
			}
			cancel()
		}
	}
	return &se, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return hit, cause
	}
}

// interruptedExit maps the failure of a command that was interrupted to
// exit 130, whatever its step made of the cancellation (a Lua error, a
// finding, a wrapped string); a run maps its own (runOutcome) with the
// command to resume.
func interruptedExit(err error, interrupted func() (bool, error)) error {
	var ie interruptedError
	if err == nil || errors.As(err, &ie) {
		return err
	}
	hit, cause := interrupted()
	if !hit {
		return err
	}
	reason := "interrupted"
	var sc signalCause
	if errors.As(cause, &sc) {
		reason = sc.Error()
	}
	return interruptedError{fmt.Sprintf("%s; what was done is saved (%s)", reason, firstLine(err))}
}

func main() {
	// A soft limit that follows the live heap bounds the garbage a run
	// carries (memgov.go, docs/performance.md). GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		startMemoryGovernor()
	}
	if f := os.Getenv("SHUFFLE_HEAPPROFILE"); f != "" {
		startHeapPeakProfile(f)
	}
	// SHUFFLE_CPUPROFILE=FILE writes a CPU profile, for performance work.
	if f := os.Getenv("SHUFFLE_CPUPROFILE"); f != "" {
		if out, err := os.Create(f); err == nil {
			_ = pprof.StartCPUProfile(out)
			code := run(os.Args[1:], osEnv())
			runtime.GC()
			pprof.StopCPUProfile()
			out.Close()
			if hf, err := os.Create(f + ".heap"); err == nil {
				_ = pprof.Lookup("heap").WriteTo(hf, 0)
				hf.Close()
			}
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], osEnv()))
}
