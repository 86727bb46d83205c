//go:build !windows

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// rawKeypress: a pause on a terminal resumes on any key (raw mode).
const rawKeypress = true

// resumeOnSignal resumes a paused guard on SIGUSR1, the way to resume a
// detached run (docs/credentials-and-pause.md); stop stops listening.
func resumeOnSignal(ctx context.Context, e *env, g *awsclient.Guard) (stop func()) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				if p, _ := g.Paused(); p {
					fmt.Fprintln(e.stderr, "shuffle: SIGUSR1: resuming")
					g.ResumeBy(awsclient.ResumeSignal)
				}
			}
		}
	}()
	return func() { signal.Stop(usr1) }
}

// resumeHow ends the banner's "to resume:" line: how (press any key,
// press Enter) here, or SIGUSR1 to this process.
func resumeHow(how string) string {
	return fmt.Sprintf("%s here or send SIGUSR1 to pid %d", how, os.Getpid())
}
