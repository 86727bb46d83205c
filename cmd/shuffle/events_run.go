package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/events"
)

// runEvents is the event stream of one `shuffle run` (docs/events.md):
// it is the session's Events sink, adds what every event carries (the
// run id, the state directory, the script, the phase and the copy
// counters) and hands each event to `--json` (stdout) and to the
// script's on_event hook. Started comes first: events sent before it
// wait for it.
type runEvents struct {
	s                       *engine.Session
	runID, stateDir, script string
	stderr                  io.Writer
	json                    *jsonLines // nil without --json
	hookTimeout             time.Duration

	mu           sync.Mutex
	started      bool
	held         []events.Event
	hook         *hookRunner // set at started, from the script's on_event
	sawWindowEnd bool
	finished     bool // summary sent: nothing follows it
	stopTicks    func()
}

// newRunEvents is the stream of the run that began at start; out is
// where --json writes (nil: no JSON).
func newRunEvents(e *env, out io.Writer, s *engine.Session, stateDir, script string, start time.Time) *runEvents {
	r := &runEvents{s: s, runID: engine.RunID(start), stateDir: stateDir, script: script, stderr: e.stderr,
		hookTimeout: hookTimeout, stopTicks: func() {}}
	if out != nil {
		r.json = &jsonLines{w: out, stderr: e.stderr}
	}
	return r
}

// Emit stamps e and delivers it (events.Sink).
func (r *runEvents) Emit(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.stamp(&e)
	switch {
	case e.Kind == events.Started && !r.started:
		if cmd := r.s.Config.OnEvent; len(cmd) > 0 { // set by now: Configure sends started
			r.hook = startHook(cmd, r.s.Config.OnEventKinds, r.hookTimeout, r.stderr)
		}
		r.begin(e)
	case !r.started:
		if e.Kind != events.Progress {
			r.held = append(r.held, e)
		}
	default:
		r.deliver(e)
	}
}

// begin delivers started, then the events held for it.
func (r *runEvents) begin(started events.Event) {
	r.started = true
	r.deliver(started)
	for _, h := range r.held {
		r.deliver(h)
	}
	r.held = nil
}

func (r *runEvents) stamp(e *events.Event) {
	if e.Schema == "" {
		e.Schema = events.Schema
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.RunID, e.StateDir, e.Script = r.runID, r.stateDir, r.script
	if p := r.s.Progress; p != nil && e.Counts == nil {
		c := p.Copy()
		e.Phase = c.Phase
		e.Counts = &events.Counts{Total: c.Total, Completed: c.Completed, CompletedNow: c.CompletedNow, Failed: c.Failed,
			InFlight: c.InFlight, Waiting: c.Waiting, BytesDone: c.BytesDone, BytesTotal: c.BytesTotal, Paused: c.Paused}
	}
}

func (r *runEvents) deliver(e events.Event) {
	if e.Kind == events.WindowEnd {
		r.sawWindowEnd = true
	}
	if r.json != nil {
		r.json.write(e)
	}
	if r.hook != nil {
		r.hook.send(e)
	}
}

// progressEvery sends a progress event every interval (to --json only)
// until finish; 0 sends none.
func (r *runEvents) progressEvery(interval time.Duration) {
	if interval <= 0 || r.json == nil {
		return
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r.s.Progress != nil && r.s.Progress.Copy().Phase != "" {
					r.Emit(events.Event{Kind: events.Progress})
				}
			}
		}
	}()
	r.stopTicks = func() { close(done); <-stopped }
}

// watchGuard sends paused and resumed as the credential guard pauses
// and resumes the run.
func (r *runEvents) watchGuard(g *awsclient.Guard) {
	pause := func(info awsclient.PauseInfo) *events.Pause {
		p := &events.Pause{Profile: info.Profile, Code: info.Code, Failures: info.Failures, Since: info.Since.UTC()}
		if !info.Expires.IsZero() {
			t := info.Expires.UTC()
			p.TokenExpires = &t
		}
		return p
	}
	g.OnPause(func(info awsclient.PauseInfo) {
		r.Emit(events.Event{Kind: events.Paused, Pause: pause(info)})
	})
	g.OnResume(func(info awsclient.PauseInfo, d time.Duration) {
		p := pause(info)
		p.ResumedBy, p.PausedS = string(info.ResumedBy), d.Seconds()
		r.Emit(events.Event{Kind: events.Resumed, Pause: p})
	})
}

// finish ends the stream with how the run ended (err: runOutcome's):
// window-end if the window ended before the copy step could say so,
// run-finished, and for --json the summary last. It then gives the
// hook up to its timeout (an interrupted run: 5 s) to deliver what is
// queued.
func (r *runEvents) finish(err error, start time.Time) {
	r.stopTicks()
	out := outcomeOf(err, start, r.s.Guard)
	r.mu.Lock()
	if !r.started { // the script failed before shuffle.config was done
		r.begin(r.stamped(events.Event{Kind: events.Started}))
	}
	if out.Result == events.WindowEnded && !r.sawWindowEnd {
		e := events.Event{Kind: events.WindowEnd}
		if w := r.s.CopySettings.Window; !w.End.IsZero() {
			e.Window = &events.Window{Deadline: w.End.UTC(), Cutoff: string(w.Cutoff)}
		}
		r.deliver(r.stamped(e))
	}
	var cs *events.CopySummary
	if r.s.Copied {
		cs = copySummaryEvent(r.s.CopySummary)
	}
	r.deliver(r.stamped(events.Event{Kind: events.RunFinished, Outcome: out, Copy: cs}))
	r.deliver(r.stamped(events.Event{Kind: events.Summary, Outcome: out, Copy: cs}))
	r.finished = true
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		wait := r.hookTimeout
		if out.Result == events.Interrupted {
			wait = min(wait, interruptedHookWait) // an interrupted run exits within seconds
		}
		hook.close(wait)
	}
}

// outcomeOf is how a run that began at start ended, from runOutcome's
// error.
func outcomeOf(err error, start time.Time, g *awsclient.Guard) *events.Outcome {
	out := &events.Outcome{Result: events.Done, ExitCode: exitCodeOf(err), ElapsedS: time.Since(start).Seconds()}
	if g != nil {
		out.PausedS = g.PausedFor().Seconds()
	}
	var we windowError
	var ie interruptedError
	switch {
	case err == nil:
		return out
	case errors.As(err, &we):
		out.Result = events.WindowEnded
	case errors.As(err, &ie):
		out.Result = events.Interrupted
	default:
		out.Result = events.Failed
	}
	out.Error = err.Error()
	return out
}

// interruptedHookWait is how long an interrupted run waits for its
// hook to take the last events.
const interruptedHookWait = 5 * time.Second

func (r *runEvents) stamped(e events.Event) events.Event {
	r.stamp(&e)
	return e
}

// copySummaryEvent is the copy summary as events carry it: the numbers
// printCopySummary prints.
func copySummaryEvent(s copier.Summary) *events.CopySummary {
	return &events.CopySummary{
		Started: s.Started, CompletedNow: s.CompletedNow, BytesNow: s.BytesNow, Completed: s.Completed, Bytes: s.Bytes,
		Failed: s.Failed, Running: s.Running, Retrying: s.Retrying, Queued: s.Queued, Waiting: s.Waiting,
		Tagged: s.Tagged, TagErrors: s.TagErrors, FailedByReason: s.FailedByReason, WaitingByVault: s.WaitingByVault,
		ElapsedS: s.Elapsed.Seconds(), Stopped: string(s.Stopped),
	}
}

// jsonLines writes one event per line (`shuffle run --json`).
type jsonLines struct {
	w      io.Writer
	stderr io.Writer
	failed bool
}

func (j *jsonLines) write(e events.Event) {
	if j.failed {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		_, err = j.w.Write(append(b, '\n'))
	}
	if err != nil {
		j.failed = true
		fmt.Fprintf(j.stderr, "shuffle: warning: --json: cannot write the %s event (%v); no more events are written, the run goes on\n", e.Kind, err)
	}
}

// eventOutput sets up --json: stdout then carries only the events (the
// script's output and everything else the command prints go to
// stderr), and the progress display is off: progress events replace it,
// every --progress-interval, which it returns.
func (f *runFlags) eventOutput(e *env) (cmdEnv *env, jsonOut io.Writer, progressEvery time.Duration) {
	if !f.json {
		return e, nil, 0
	}
	se := *e
	se.stdout = e.stderr
	every := f.pf.interval
	f.pf.interval = 0
	return &se, e.stdout, every
}

// startEvents makes the run's event stream the session's Events sink,
// with the guard's pauses and the progress events in it.
func startEvents(e *env, jsonOut io.Writer, progressEvery time.Duration, s *engine.Session, stateDir, script string, start time.Time) *runEvents {
	r := newRunEvents(e, jsonOut, s, stateDir, script, start)
	s.Events = r
	if s.Guard != nil {
		r.watchGuard(s.Guard)
	}
	r.progressEvery(progressEvery)
	return r
}
