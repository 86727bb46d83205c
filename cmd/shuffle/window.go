package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/copier"
)

// windowFlags are the change-window flags of `shuffle run`.
type windowFlags struct {
	window time.Duration
	until  string
	cutoff string
	grace  time.Duration
}

func (w *windowFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&w.window, "window", 0, "change window: start no copy job after this long from now, e.g. 8h (exit 10 if work remains)")
	fl.StringVar(&w.until, "until", "", "change window end: a local time of day like 06:00 (the next one), or an RFC 3339 time")
	fl.StringVar(&w.cutoff, "cutoff", string(copier.CutoffSoft), "at the window's end: soft (stop starting jobs), cautious (start no job expected to end after it), drain (stop starting, wait for jobs in flight until the end plus --grace)")
	complete(cmd, "cutoff", completeCutoff)
	fl.DurationVar(&w.grace, "grace", 30*time.Minute, "with --cutoff drain: how long after the window's end to wait for jobs in flight")
}

// changeWindow works out the change window from the flags (End zero:
// no window).
func (w *windowFlags) changeWindow(now time.Time) (copier.Window, error) {
	cutoff := copier.Cutoff(w.cutoff)
	if !cutoff.Valid() {
		return copier.Window{}, usagef("--cutoff must be soft, cautious or drain, got %q", w.cutoff)
	}
	if w.grace < 0 {
		return copier.Window{}, usagef("--grace must not be negative, got %s", w.grace)
	}
	end, err := w.deadline(now)
	return copier.Window{End: end, Cutoff: cutoff, Grace: w.grace}, err
}

// deadline works out the window's end (zero: no window).
func (w *windowFlags) deadline(now time.Time) (time.Time, error) {
	switch {
	case w.window != 0 && w.until != "":
		return time.Time{}, usagef("give --window or --until, not both")
	case w.window < 0:
		return time.Time{}, usagef("--window must be positive, got %s", w.window)
	case w.window > 0:
		return now.Add(w.window), nil
	case w.until == "":
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, w.until); err == nil {
		if !t.After(now) {
			return time.Time{}, usagef("--until %s is in the past", w.until)
		}
		return t, nil
	}
	hm, err := time.ParseInLocation("15:04", w.until, now.Location())
	if err != nil {
		return time.Time{}, usagef("--until %q is neither a local time of day like 06:00 nor an RFC 3339 time like 2026-11-27T06:00:00+01:00", w.until)
	}
	t := time.Date(now.Year(), now.Month(), now.Day(), hm.Hour(), hm.Minute(), 0, 0, now.Location())
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// windowContext bounds the whole run by the window: the copy engine
// stops on its own at the window's end (after the grace, when draining),
// and the context ends a little later, so a window that closes during
// the inventory or the decisions stops them too.
func windowContext(ctx context.Context, w copier.Window) (context.Context, context.CancelFunc) {
	if w.End.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadlineCause(ctx, w.HardEnd().Add(2*time.Second), errWindowEnded)
}

var errWindowEnded = errors.New("the change window ended")

// windowError ends a run whose window closed with work left (exit 10).
type windowError struct{ msg string }

func (w windowError) Error() string { return w.msg }
func (w windowError) ExitCode() int { return exitWindow }

// interruptedError ends a run stopped by Ctrl-C or SIGTERM (exit 130).
type interruptedError struct{ msg string }

func (i interruptedError) Error() string { return i.msg }
func (i interruptedError) ExitCode() int { return exitInterrupted }

// runOutcome maps how a run ended to its error and exit code: a window
// that closed with work left is exit 10, an interrupt exit 130.
func runOutcome(ctx context.Context, err error, s *engine.Session, resume string) error {
	sum := s.CopySummary
	left := sum.Queued + sum.Running + sum.Retrying + sum.WaitingCreating()
	switch {
	case err == nil && s.Copied && sum.Stopped == copier.StopDeadline && left > 0:
		return windowError{fmt.Sprintf("the change window ended with work left: %d queued, %d running in AWS, %d waiting to retry, %d waiting for a vault AWS is still creating; resume with: %s", sum.Queued, sum.Running, sum.Retrying, sum.WaitingCreating(), resume)}
	case err != nil && errors.Is(context.Cause(ctx), errWindowEnded):
		return windowError{fmt.Sprintf("the change window ended before the copy step (%v); state is saved; resume with: %s", firstLine(err), resume)}
	case interrupted(ctx, err):
		return interruptedError{fmt.Sprintf("%s; state is saved and copy jobs already started keep running in AWS; resume with: %s", stopReason(ctx), resume)}
	}
	return err
}

// errInterrupted is the cause of a run's context cancelled by Ctrl-C or
// SIGTERM (a signalCause is one).
var errInterrupted = errors.New("interrupted")

// signalCause is the cause notifySignals cancels with: which signal.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string        { return "interrupted by " + signalName(c.sig) }
func (c signalCause) Is(target error) bool { return target == errInterrupted }

func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "Ctrl-C (SIGINT)"
	}
	if s, ok := sig.(syscall.Signal); ok && s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}

// interrupted says whether a run that failed with err was stopped by an
// interrupt: its context was cancelled by a signal (whatever the step
// turned the cancellation into on its way up), or it ended on a plain
// cancellation of that context.
func interrupted(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() == nil || errors.Is(context.Cause(ctx), errWindowEnded) {
		return false
	}
	return errors.Is(context.Cause(ctx), errInterrupted) || errors.Is(err, context.Canceled)
}

// stopReason is what stopped an interrupted run, for its message.
func stopReason(ctx context.Context) string {
	var sc signalCause
	if errors.As(context.Cause(ctx), &sc) {
		return sc.Error()
	}
	return "interrupted"
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// resumeCommand is the command line that resumes a run.
func resumeCommand(script, stateDir string) string {
	c := "shuffle run " + script
	if stateDir != "./.shuffle" {
		c += " --state " + stateDir
	}
	return c
}

// notifySignals cancels the context on the first SIGINT or SIGTERM and
// exits at once on the second. The state stays consistent either way:
// every write is a Badger transaction, and an exit between two of them
// is what the crash test does twenty times over.
func notifySignals(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case sig := <-ch:
				n++
				if n == 1 {
					fmt.Fprintln(os.Stderr, "\nstopping: no new copy jobs; saving state (press Ctrl-C again to exit at once)")
					cancelCause(signalCause{sig})
					continue
				}
				fmt.Fprintln(os.Stderr, "exiting at once; the state is consistent")
				os.Exit(exitInterrupted)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancelCause(nil) }
}
