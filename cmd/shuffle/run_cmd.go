package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// runFlags are the flags of `shuffle run`.
type runFlags struct {
	sf          sessionFlags
	wf          windowFlags
	pf          progressFlags
	metrics     metricsFlags
	maxInFlight int
	confirmLock bool
	autoResume  bool
	expiryWarn  time.Duration
	skipCheck   bool
	snapshots   int
	json        bool
	ap          approvedPlanFlags
}

const runLong = `Run the operator's script from the top. Every primitive it calls is
resumable through the state directory: a vault listed to its end is
listed again only from its newest recovery point (new backups are picked
up at every run, and each vault is listed whole again after
--reconcile-every of run time to find those gone), only recovery points
whose inputs or policies changed are decided again, and a recovery point
whose copy job was started is never started again (its job is tracked to
the end instead). Resume is the default; --fresh lists everything again.

shuffle.copy starts copy jobs within the AWS quotas (--max-in-flight,
default 100 per account; 1 per resource), polls them in bulk with
ListCopyJobs, retries failures that are worth retrying and tags the
copies. The summary at the end counts copies by state and reason.

Change windows: --window 8h or --until 06:00 (local time of day, or RFC
3339) sets the deadline; --cutoff says what happens there: soft (default:
stop starting jobs and exit; jobs in flight keep running in AWS and the
next run tracks them), cautious (also start no job expected to end after
the deadline, from the durations observed so far), drain (stop starting
and wait for jobs in flight until the deadline plus --grace). A window
that ends with work left exits 10; run the same command to resume.

Before the script runs, the pre-flight check of 'shuffle check' runs
(identities, cross-account backup, the copy role, IAM permissions); a
blocking finding stops the run with exit 3 before anything is written.
--skip-check skips it.

Ctrl-C or SIGTERM, at any step (the pre-flight check, listing, enrich,
decide, replication or copy), stops it, saves state, prints the summary
and the command to resume, and exits 130 within seconds; a second Ctrl-C
exits at once. Copy jobs already started keep running in AWS.

Watching it: --json writes the run's events to stdout, one JSON object a
line (started, progress every --progress-interval, vault created, window
end, paused, resumed, failure burst, run finished, summary; schema in
docs/events.md), and the script's on_event command gets each of them as
JSON on its stdin. --metrics-addr 127.0.0.1:9464 serves Prometheus
metrics while the run runs (docs/monitoring.md).

As each run ends (done, window ended or failed; not when interrupted) it
writes a snapshot of the closed state to STATE/snapshots and keeps the
last --snapshots (default 3; 0 turns them off); 'shuffle state restore'
reads them.` + runPlanHelp

func newRunCmd(e *env) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run SCRIPT",
		Short: "Run the operator's script: inventory, enrich, decide, replicate vaults and copy",
		Long:  runLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(e, cmd, args[0])
		},
	}
	f.sf.register(cmd, e)
	f.wf.register(cmd)
	f.pf.register(cmd)
	f.metrics.register(cmd)
	f.ap.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&f.maxInFlight, "max-in-flight", 0, "copy jobs in flight at once (overrides the script; default 100, the AWS per-account quota)")
	fl.BoolVar(&f.autoResume, "auto-resume", false, "after a pause on expired credentials, resume by itself once the credentials file changes and GetCallerIdentity succeeds")
	fl.DurationVar(&f.expiryWarn, "expiry-warning", 5*time.Minute, "warn this long before the x_security_token_expires of a profile's credentials")
	fl.IntVar(&f.snapshots, "snapshots", 3, "keep the state's last N snapshots in STATE/snapshots, one taken as each run ends (0: none); 'shuffle state restore' reads them")
	fl.BoolVar(&f.skipCheck, "skip-check", false, "do not run the pre-flight check (shuffle check) before the script")
	fl.BoolVar(&f.confirmLock, "confirm-compliance-lock", false, "apply compliance-mode vault locks to destination vaults shuffle creates (irreversible after 3 days)")
	fl.BoolVar(&f.json, "json", false, "write the run's events to stdout, one JSON object a line (docs/events.md), a progress event every --progress-interval; other output goes to stderr, no progress display")
	return cmd
}

// run is `shuffle run SCRIPT`: the pre-flight check, the script within
// the change window, then the summary, the reports and the run record.
func (f *runFlags) run(e *env, cmd *cobra.Command, script string) error {
	if f.maxInFlight < 0 {
		return usagef("--max-in-flight must be at least 1, got %d", f.maxInFlight)
	}
	e, jsonOut, progressEvery := f.eventOutput(e)
	window, err := f.wf.changeWindow(time.Now())
	if err != nil {
		return err
	}
	if _, err := f.sf.delta(); err != nil {
		return err
	}
	if err := f.ap.validate(); err != nil {
		return err
	}
	mon, err := f.metrics.listen(e.stderr, metricsInfo("run", script, f.sf.state))
	if err != nil {
		return err
	}
	defer mon.Close()
	guard := newStateDirGuard(f.sf.state)
	defer guard.cleanup()
	sigCtx, cancel := e.notify(cmd.Context())
	defer cancel()
	if !f.skipCheck {
		if err := preflight(sigCtx, e, script, &f.sf); err != nil {
			if interrupted(sigCtx, err) {
				return interruptedError{fmt.Sprintf("%s during the pre-flight check; nothing was written; run again with: %s", stopReason(sigCtx), resumeCommand(script, f.sf.state))}
			}
			return err
		}
	}
	ctx, cancelWindow := windowContext(sigCtx, window)
	defer cancelWindow()
	s, err := f.sf.session()
	if err != nil {
		return err
	}
	s.CopySettings = engine.CopySettings{MaxInFlight: f.maxInFlight, Window: window}
	s.ConfirmComplianceLock = f.confirmLock
	f.ap.apply(e, s)
	s.Guard = awsclient.NewGuard()
	s.Guard.WarnBefore = f.expiryWarn
	defer startPauseUI(ctx, e, s.Guard, func() []string { return s.Config.OnPause }, f.autoResume, cancel)()
	defer s.Close()
	// The REPL socket: 'shuffle repl' attaches through it (it is
	// closed before the state is).
	start := time.Now()
	rev := startEvents(e, jsonOut, progressEvery, s, f.sf.state, script, start)
	if srv, err := startReplServer(f.sf.state, s, state.Run{Command: "run", Script: script, Start: start}); err != nil {
		fmt.Fprintf(e.stderr, "warning: no REPL for this run: %v\n", err)
	} else {
		defer srv.Close()
	}
	obs := f.pf.start(e, s, f.sf.state, "run")
	defer obs.stop(nil)
	defer mon.attach(s, window)() // the metrics read the session from here on, and stop before s.Close
	recordPauses(s.Guard, obs.log, s.Progress)
	err = runScript(ctx, obs.env, script, s)
	if err == nil {
		err = s.Finish(ctx)
	}
	err = guard.check(err, s.Store)
	calls := s.Guard.Stats.Snapshot()
	engine.LogCallStats(obs.log, calls)
	obs.stop(err)
	f.report(e, sigCtx, s, start, calls)
	err = runOutcome(ctx, err, s, resumeCommand(script, f.sf.state))
	rev.finish(err, start)
	f.record(e, sigCtx, s, guard, state.Run{Command: "run", Script: script, Start: start, End: time.Now()}, window, err)
	if err != nil {
		return err
	}
	if d := s.Guard.PausedFor(); d > 0 {
		fmt.Fprintf(e.stderr, "run paused for %s in all, waiting for fresh credentials\n", d.Round(time.Millisecond))
	}
	fmt.Fprintf(e.stderr, "run finished in %s; state in %s\n", time.Since(start).Round(time.Millisecond), f.sf.state)
	return nil
}

// report prints the copy summary and the AWS fault summary, and writes
// the run reports (not for an interrupted run, which exits first).
func (f *runFlags) report(e *env, sigCtx context.Context, s *engine.Session, start time.Time, calls map[string]awsclient.OpStats) {
	if s.Copied {
		printCopySummary(e.stderr, s.CopySummary)
	}
	f.ap.report(e.stderr, s)
	for _, l := range engine.FaultSummary(calls) {
		fmt.Fprintf(e.stderr, "aws: %s\n", l)
	}
	if !s.Copied || s.Store == nil || sigCtx.Err() != nil { // an interrupted run exits first, reports later
		return
	}
	ar := noteAtRisk(sigCtx, e.stderr, s.Store)
	if jp, cp, rerr := engine.WriteReports(s.Store, filepath.Join(f.sf.state, "reports"), start, s.CopySummary, engine.WithCallStats(calls), engine.WithAtRisk(ar)); rerr != nil {
		fmt.Fprintf(e.stderr, "run reports: %v\n", rerr)
	} else {
		fmt.Fprintf(e.stderr, "run reports: %s, %s\n", jp, cp)
	}
}

// record writes the run's history entry (r, with how it ended) and,
// unless it was interrupted, a snapshot of the closed state.
func (f *runFlags) record(e *env, sigCtx context.Context, s *engine.Session, guard *stateDirGuard, r state.Run, window copier.Window, err error) {
	if s.Store == nil {
		return
	}
	if !window.End.IsZero() {
		// The change window, for the REPL's history().
		r.Flags = map[string]string{"deadline": window.End.UTC().Format(time.RFC3339), "cutoff": string(window.Cutoff)}
	}
	r.Flags = f.ap.runFlags(r.Flags, s)
	if err != nil {
		r.Exit, r.Error = exitError, err.Error()
		var ec exitCoder
		if errors.As(err, &ec) {
			r.Exit = ec.ExitCode()
		}
	}
	if d := s.Guard.PausedFor(); d > 0 {
		r.Counts = map[string]int64{"paused_ns": int64(d)}
	}
	if s.Copied {
		r.Waiting = engine.RunWaiting(s.CopySummary)
	}
	_ = s.Store.PutRun(r)
	if sigCtx.Err() == nil { // an interrupted run exits at once
		guard.snapshot(e, s.Store, f.snapshots)
	}
}

// printCopySummary prints what the copy step did and left.
func printCopySummary(w io.Writer, s copier.Summary) {
	fmt.Fprintf(w, "copy: %d started, %d completed in this run (%s), %d running, %d retrying, %d queued, %d waiting for their vault\n",
		s.Started, s.CompletedNow, humanBytes(s.BytesNow), s.Running, s.Retrying, s.Queued, s.Waiting)
	fmt.Fprintf(w, "copy: %d completed in all (%s), %d failed, %d tagged, %d tag errors\n",
		s.Completed, humanBytes(s.Bytes), s.Failed, s.Tagged, s.TagErrors)
	if h := s.Elapsed.Hours(); h > 0 && s.CompletedNow > 0 {
		fmt.Fprintf(w, "copy: %.0f recovery points/hour over %s\n", float64(s.CompletedNow)/h, s.Elapsed.Round(time.Second))
	}
	for _, k := range sortedKeys(s.FailedByReason) {
		fmt.Fprintf(w, "  failed  %6d  %s\n", s.FailedByReason[k], k)
	}
	printVaultWaits(w, s)
	if len(s.APICalls) > 0 {
		var parts []string
		for _, k := range sortedKeys(s.APICalls) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.APICalls[k]))
		}
		fmt.Fprintf(w, "copy: AWS calls: %s\n", strings.Join(parts, ", "))
	}
	printAdoptSummary(w, s.Adopt)
	if s.Stopped != copier.StopNone {
		fmt.Fprintf(w, "copy: stopped early (%s); run the same command again to resume\n", s.Stopped)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
