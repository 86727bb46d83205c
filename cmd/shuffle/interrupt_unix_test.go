//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// The signal handler cancels with a typed cause naming the signal, which
// is what tells an interrupt from any other cancellation.
func TestNotifySignalsCancelsWithTheSignalAsCause(t *testing.T) {
	ctx, stop := notifySignals(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	if !errors.Is(context.Cause(ctx), errInterrupted) {
		t.Fatalf("cause %v, want an interrupt", context.Cause(ctx))
	}
	if !interrupted(ctx, fmt.Errorf("listing: %v", context.Canceled)) {
		t.Error("an error that lost its wrapping is not taken for an interrupt")
	}
	if got := stopReason(ctx); got != "interrupted by SIGTERM" {
		t.Errorf("stop reason %q", got)
	}
	wctx, cancel := context.WithCancelCause(context.Background())
	cancel(errWindowEnded)
	if interrupted(wctx, context.Canceled) {
		t.Error("the window's end is taken for an interrupt")
	}
}
