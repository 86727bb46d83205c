package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// progressSource is what the progress display reads; *engine.Progress
// is one, tests pass fakes.
type progressSource interface {
	Inventory() []progress.VaultProgress
	Copy() progress.CopySnapshot
}

var _ progressSource = (*progress.Progress)(nil)

// progressFlags are the operator-feedback flags of run and plan.
type progressFlags struct {
	interval time.Duration
}

func (f *progressFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.interval, "progress-interval", 30*time.Second,
		"without a terminal, print a progress line this often (0: no progress output, bars included)")
}

// observer is the progress display and the log of one command.
type observer struct {
	// env is the command's env for the script: on a terminal its stdout
	// writes above the bars.
	env   *env
	lines *lineWriter
	ui    *progressUI
	log   *slog.Logger
	file  *lazyFile
	s     *engine.Session
	once  sync.Once
	start time.Time
}

// start gives the session its counters and its log (<state>/shuffle.log,
// JSON) and starts the progress display on stderr. Call stop when the
// script is done, before printing anything else to stderr.
func (f *progressFlags) start(e *env, s *engine.Session, stateDir, command string) *observer {
	if s.Progress == nil {
		s.Progress = progress.New()
	}
	level := slog.LevelInfo
	if strings.EqualFold(e.getenv("SHUFFLE_LOG_LEVEL"), "debug") {
		level = slog.LevelDebug
	}
	file := &lazyFile{path: filepath.Join(stateDir, "shuffle.log")}
	log := slog.New(slog.NewJSONHandler(file, &slog.HandlerOptions{Level: level})).
		With("command", command, "pid", os.Getpid())
	s.Log = log
	se := *e
	o := &observer{env: &se, log: log, file: file, s: s, start: time.Now()}
	if f.interval > 0 {
		o.ui = newProgressUI(s.Progress, e.stderr, f.interval, s.DryRun)
		o.ui.start()
		if o.ui.bars != nil && isTerminal(e.stdout) {
			o.lines = &lineWriter{b: o.ui.bars, w: e.stdout}
			se.stdout = o.lines
		}
	}
	return o
}

// stop ends the display and logs how the command ended; only the first
// call counts.
func (o *observer) stop(err error) {
	o.once.Do(func() {
		if o.ui != nil {
			o.ui.stop()
		}
		if o.lines != nil {
			o.lines.flush()
		}
		// Nothing was logged and no state opened: the command failed
		// before the script configured anything; leave no file behind.
		if o.file.opened() || o.s.Store != nil {
			elapsed := slog.Float64("elapsed_s", time.Since(o.start).Seconds())
			if err != nil {
				o.log.Error("command failed", elapsed, "error", err.Error())
			} else {
				o.log.Info("command finished", elapsed)
			}
		}
		o.file.Close()
	})
}

// lazyFile is the log file, opened (append, 0600) on the first write,
// so a command that fails before it opens the state leaves none.
type lazyFile struct {
	path   string
	mu     sync.Mutex
	f      *os.File
	err    error
	closed bool
}

func (l *lazyFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	if l.f == nil && l.err == nil {
		if l.err = os.MkdirAll(filepath.Dir(l.path), 0o700); l.err == nil {
			l.f, l.err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		}
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func (l *lazyFile) opened() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f != nil
}

func (l *lazyFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressUI shows the session's progress: bars on a terminal, one
// line per interval otherwise. It only reads snapshots.
type progressUI struct {
	src      progressSource
	out      io.Writer
	interval time.Duration
	dryRun   bool // plan: the copy step only previews
	tty      bool
	now      func() time.Time
	// newTicker is time.NewTicker's channel and stop; tests replace it.
	newTicker func(time.Duration) (<-chan time.Time, func())

	rate  rateMeter // copy: RPs completed per hour
	lrate rateMeter // inventory: RPs listed per hour
	bars  *barsUI

	done    chan struct{}
	stopped chan struct{}
}

func newProgressUI(src progressSource, out io.Writer, interval time.Duration, dryRun bool) *progressUI {
	return &progressUI{
		src: src, out: out, interval: interval, dryRun: dryRun, tty: isTerminal(out), now: time.Now,
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
}

// start runs the display in a goroutine until stop.
func (u *progressUI) start() {
	u.done, u.stopped = make(chan struct{}), make(chan struct{})
	every := u.interval
	if u.tty {
		// Bars redraw themselves several times a second; the counters
		// behind them are read twice a second. A terminal pb cannot
		// drive gets lines instead.
		if u.bars = newBarsUI(u.out); u.bars.pool != nil {
			every = 500 * time.Millisecond
			u.bars.update(u, u.now())
		} else {
			u.bars = nil
		}
	}
	tick, stopTick := u.newTicker(every)
	go func() {
		defer close(u.stopped)
		defer stopTick()
		for {
			select {
			case <-u.done:
				if u.bars != nil {
					u.bars.update(u, u.now())
					u.bars.stop()
				}
				return
			case <-tick:
				now := u.now()
				if u.bars != nil {
					u.bars.update(u, now)
				} else if line := u.line(now); line != "" {
					fmt.Fprintln(u.out, line)
				}
			}
		}
	}()
}

// stop ends the display and waits until it has drawn its last.
func (u *progressUI) stop() {
	if u.done == nil {
		return
	}
	select {
	case <-u.done:
	default:
		close(u.done)
	}
	<-u.stopped
}

// copyStatus is what the copy bar and line show.
type copyStatus struct {
	done, total   int64
	pct           float64
	perHour       float64 // 0: not known yet
	eta           time.Duration
	etaKnown      bool
	inFlight, cap int
	failed        int64
	waiting       int
	paused        string // "PAUSED: reason (5m)" or ""
	// The tail of a run: all that is left is tail jobs in flight, and
	// the ETA is when the duration model expects the last to end.
	tail, queued, overdue int
}

func (u *progressUI) copyStatus(c progress.CopySnapshot, now time.Time) copyStatus {
	st := copyStatus{done: c.Completed, total: c.Total, inFlight: c.InFlight, cap: c.Cap, failed: c.Failed, waiting: c.Waiting}
	if c.Total > 0 {
		st.pct = min(100, 100*float64(c.Completed)/float64(c.Total))
	}
	u.rate.observe(c.PhaseSince, now, c.CompletedNow, false, c.Paused, c.PausedSince)
	st.perHour = u.rate.perHour(now)
	remaining := max(0, c.Total-c.Completed-c.Failed)
	switch {
	case remaining > 0 && c.InFlight > 0 && c.Ready == 0 && c.Waiting == 0 &&
		(!c.InFlightEnd.IsZero() || remaining <= int64(c.InFlight)):
		// Nothing can start now; what is left runs, or waits behind a
		// running job of its resource. The rate of completions so far
		// says nothing about when the last, often largest, jobs end.
		// (Without the model's estimate only a tail of nothing but
		// running jobs says so, as "time unknown".)
		st.tail, st.queued, st.overdue = c.InFlight, c.InFlightQueued, c.InFlightOverdue
		if !c.InFlightEnd.IsZero() {
			st.eta, st.etaKnown = max(0, c.InFlightEnd.Sub(now)), true
		}
	case st.perHour > 0:
		st.eta, st.etaKnown = time.Duration(float64(remaining)/st.perHour*float64(time.Hour)), true
	case remaining == 0 && c.Total > 0:
		st.etaKnown = true
	}
	if c.Paused {
		st.paused = "PAUSED: " + c.PausedReason
		if !c.PausedSince.IsZero() {
			st.paused += " (" + fmtDuration(now.Sub(c.PausedSince)) + ")"
		}
	}
	return st
}

// inventoryTotals sums the per-vault listing counters.
func inventoryTotals(vs []progress.VaultProgress) (listed, expected int64) {
	for _, v := range vs {
		listed += v.Listed
		expected += max(v.Expected, v.Listed)
	}
	return listed, expected
}

// line is one status line without a terminal, or "" when there is
// nothing to say yet.
func (u *progressUI) line(now time.Time) string {
	c := u.src.Copy()
	switch c.Phase {
	case "":
		return ""
	case progress.PhaseInventory:
		vs := u.src.Inventory()
		listed, expected := inventoryTotals(vs)
		u.lrate.observe(c.PhaseSince, now, listed, true, false, time.Time{})
		s := fmt.Sprintf("progress: inventory %d/%d listed (%s), %d vaults", listed, expected, pct(listed, expected), len(vs))
		if r := u.lrate.perHour(now); r > 0 {
			s += fmt.Sprintf(", %.0f RP/h, ETA %s", r, fmtDuration(time.Duration(float64(max(0, expected-listed))/r*float64(time.Hour))))
		}
		return s
	case progress.PhaseCopy:
		if u.dryRun {
			return "progress: copy (preview), " + fmtDuration(now.Sub(c.PhaseSince))
		}
		st := u.copyStatus(c, now)
		if st.total == 0 && st.cap == 0 {
			// The copy step has not published its queue yet: no
			// total to count against.
			return "progress: copy, loading the queue, " + fmtDuration(now.Sub(c.PhaseSince))
		}
		s := fmt.Sprintf("progress: copy %d/%d (%.1f%%), %d/%d in flight, %d failed, %s, %s",
			st.done, st.total, st.pct, st.inFlight, st.cap, st.failed, fmtRate(st.perHour), etaText(st))
		if st.waiting > 0 {
			s += fmt.Sprintf(", %d waiting to retry", st.waiting)
		}
		if c.BytesTotal > 0 {
			s += fmt.Sprintf(", %s/%s", humanBytes(c.BytesDone), humanBytes(c.BytesTotal))
		}
		if st.paused != "" {
			s += ", " + st.paused
		}
		return s
	case progress.PhaseDone:
		return ""
	default:
		return fmt.Sprintf("progress: %s, %s", c.Phase, fmtDuration(now.Sub(c.PhaseSince)))
	}
}

func pct(n, of int64) string {
	if of <= 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", min(100, 100*float64(n)/float64(of)))
}

func fmtRate(perHour float64) string {
	if perHour <= 0 {
		return "rate not known yet"
	}
	return fmt.Sprintf("%.0f RP/h", perHour)
}

func fmtETA(st copyStatus) string {
	if !st.etaKnown {
		return "unknown"
	}
	return fmtDuration(st.eta)
}

// etaText is the ETA as the copy line and bar show it: "ETA 48m", or at
// the tail of a run "finishing 3 running jobs, ~15m".
func etaText(st copyStatus) string {
	if st.tail == 0 {
		return "ETA " + fmtETA(st)
	}
	jobs, them := "jobs", "them"
	if st.tail == 1 {
		jobs, them = "job", "it"
	}
	s := fmt.Sprintf("finishing %d running %s", st.tail, jobs)
	if st.queued > 0 {
		s += fmt.Sprintf(" (+%d queued behind %s)", st.queued, them)
	}
	s += ", "
	if !st.etaKnown {
		s += "time unknown"
	} else {
		s += "~" + fmtDuration(st.eta)
	}
	if st.overdue > 0 {
		s += fmt.Sprintf(" (%d past the expected duration)", st.overdue)
	}
	return s
}

// fmtDuration is a short, operator-sized duration: 45s, 48m, 3h20m, 2d4h.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(max(0, d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// rateMeter is a count's average rate since its step began, leaving
// out the time it was paused.
type rateMeter struct {
	step        time.Time // when the step began: a new value restarts the meter
	from        time.Time // when the count was base
	base        int64
	value       int64
	pausedTotal time.Duration // ended pauses
	pausedSince time.Time     // the pause going on, if any
}

// observe takes one reading of a count that was 0 when its step began
// or, with fromFirst, of one whose first reading is the base.
func (m *rateMeter) observe(step, now time.Time, value int64, fromFirst, paused bool, pausedSince time.Time) {
	if !step.Equal(m.step) {
		*m = rateMeter{step: step, from: step}
		if fromFirst {
			m.from, m.base = now, value
		}
	}
	m.value = value
	switch {
	case paused && m.pausedSince.IsZero():
		m.pausedSince = pausedSince
	case !paused && !m.pausedSince.IsZero():
		m.pausedTotal += now.Sub(m.pausedSince)
		m.pausedSince = time.Time{}
	}
}

// perHour is the rate, or 0 before there is one.
func (m *rateMeter) perHour(now time.Time) float64 {
	active := now.Sub(m.from) - m.pausedTotal
	if !m.pausedSince.IsZero() {
		active -= now.Sub(m.pausedSince)
	}
	n := m.value - m.base
	if active < time.Second || n <= 0 {
		return 0
	}
	return float64(n) / active.Hours()
}
