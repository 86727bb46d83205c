//go:build windows

package main

import (
	"context"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// rawKeypress: on Windows a pause leaves the console in line mode and
// resumes on Enter on stdin (Ctrl-C stays the console's interrupt), or
// by itself with --auto-resume; Windows has no SIGUSR1.
const rawKeypress = false

// resumeOnSignal does nothing on Windows: there is no SIGUSR1. A
// detached run resumes with --auto-resume (docs/credentials-and-pause.md).
func resumeOnSignal(context.Context, *env, *awsclient.Guard) (stop func()) {
	return func() {}
}

// resumeHow ends the banner's "to resume:" line.
func resumeHow(how string) string {
	return how + " here (or start the run with --auto-resume to resume as soon as they work)"
}
