// Command shuffle copies AWS Backup recovery points from a source
// account into a destination account, judged by Lua policies, with its
// progress kept in Badger so that it can stop and resume at any time.
package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
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
	// notify delivers interrupt/terminate signals; tests may replace it.
	notify func(ctx context.Context) (context.Context, context.CancelFunc)
}

func osEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		notify: notifySignals,
	}
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
