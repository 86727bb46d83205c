package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// fakeProgress is a progressSource the test sets directly.
type fakeProgress struct {
	mu     sync.Mutex
	vaults []progress.VaultProgress
	copy   progress.CopySnapshot
}

func (f *fakeProgress) Inventory() []progress.VaultProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]progress.VaultProgress(nil), f.vaults...)
}

func (f *fakeProgress) Copy() progress.CopySnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.copy
}

func (f *fakeProgress) set(fn func(c *progress.CopySnapshot)) {
	f.mu.Lock()
	fn(&f.copy)
	f.mu.Unlock()
}

var t0 = time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)

func TestProgressLineReflectsCopyCounters(t *testing.T) {
	src := &fakeProgress{}
	u := newProgressUI(src, &bytes.Buffer{}, time.Minute, false)
	if got := u.line(t0); got != "" {
		t.Fatalf("before any step the line is %q, want none", got)
	}
	// The copy step has begun but not published its queue: no 0/0.
	src.set(func(c *progress.CopySnapshot) { *c = progress.CopySnapshot{Phase: progress.PhaseCopy, PhaseSince: t0} })
	if got, want := u.line(t0.Add(2*time.Second)), "progress: copy, loading the queue, 2s"; got != want {
		t.Fatalf("line before the queue is loaded:\n got %q\nwant %q", got, want)
	}
	src.set(func(c *progress.CopySnapshot) {
		*c = progress.CopySnapshot{Phase: progress.PhaseCopy, PhaseSince: t0, Total: 8000, Completed: 1234, Cap: 100}
	})
	if got, want := u.line(t0.Add(time.Second)), "progress: copy 1234/8000 (15.4%), 0/100 in flight, 0 failed, rate not known yet, ETA unknown"; got != want {
		t.Fatalf("line at the start of copying:\n got %q\nwant %q", got, want)
	}
	// One hour on: 5400 more completed by this run, 98 in flight, 3 failed.
	src.set(func(c *progress.CopySnapshot) {
		c.Completed, c.CompletedNow, c.InFlight, c.Failed = 1234+5400, 5400, 98, 3
		c.Waiting, c.BytesDone, c.BytesTotal = 2, 3<<30, 10<<30
	})
	// 8000-6634-3 = 1363 left at 5400/h: 15m.
	want := "progress: copy 6634/8000 (82.9%), 98/100 in flight, 3 failed, 5400 RP/h, ETA 15m, 2 waiting to retry, 3.0 GiB/10.0 GiB"
	if got := u.line(t0.Add(time.Hour)); got != want {
		t.Fatalf("line after an hour:\n got %q\nwant %q", got, want)
	}
}

// The tail of a run: 3 RPs left, all running, nothing to start. The
// rate of completions (97 in 10 minutes) would say under a minute; the
// duration model expects the last job to end in 15 minutes, and says so
// for as long as that holds.
func TestProgressETAAtTheTailComesFromTheJobsInFlight(t *testing.T) {
	src := &fakeProgress{}
	u := newProgressUI(src, &bytes.Buffer{}, time.Minute, false)
	src.set(func(c *progress.CopySnapshot) {
		*c = progress.CopySnapshot{Phase: progress.PhaseCopy, PhaseSince: t0, Total: 100, Cap: 100}
	})
	u.line(t0)
	end := t0.Add(25 * time.Minute)
	src.set(func(c *progress.CopySnapshot) {
		c.Completed, c.CompletedNow, c.InFlight, c.InFlightEnd = 97, 97, 3, end
	})
	want := "progress: copy 97/100 (97.0%), 3/100 in flight, 0 failed, 582 RP/h, finishing 3 running jobs, ~15m"
	if got := u.line(t0.Add(10 * time.Minute)); got != want {
		t.Fatalf("at the tail:\n got %q\nwant %q", got, want)
	}
	// Ten minutes on, two done; the last one runs past its expected end.
	src.set(func(c *progress.CopySnapshot) {
		c.Completed, c.CompletedNow, c.InFlight = 99, 99, 1
		c.InFlightEnd, c.InFlightOverdue = t0.Add(31*time.Minute), 1
	})
	if got := u.line(t0.Add(26 * time.Minute)); !strings.HasSuffix(got, "finishing 1 running job, ~5m (1 past the expected duration)") {
		t.Fatalf("an overdue last job: %q", got)
	}
	// No job has ended yet, so no model: the tail does not pretend.
	src.set(func(c *progress.CopySnapshot) { c.InFlightEnd, c.InFlightOverdue = time.Time{}, 0 })
	if got := u.line(t0.Add(27 * time.Minute)); !strings.HasSuffix(got, "finishing 1 running job, time unknown") {
		t.Fatalf("no model: %q", got)
	}
	// Two RPs wait behind the running job of their resource.
	src.set(func(c *progress.CopySnapshot) {
		c.Total, c.InFlightEnd, c.InFlightQueued = 101, t0.Add(40*time.Minute), 1
	})
	if got := u.line(t0.Add(27 * time.Minute)); !strings.HasSuffix(got, "finishing 1 running job (+1 queued behind it), ~13m") {
		t.Fatalf("an RP queued behind the running job: %q", got)
	}
	// Work left to start: the rate decides again.
	src.set(func(c *progress.CopySnapshot) { c.Ready = 1 })
	if got := u.line(t0.Add(27 * time.Minute)); !strings.Contains(got, ", ETA ") {
		t.Fatalf("with work to start: %q", got)
	}
}

func TestProgressLinePausedLeavesPauseOutOfTheRate(t *testing.T) {
	src := &fakeProgress{}
	u := newProgressUI(src, &bytes.Buffer{}, time.Minute, false)
	src.set(func(c *progress.CopySnapshot) {
		*c = progress.CopySnapshot{Phase: progress.PhaseCopy, PhaseSince: t0, Total: 10000, Cap: 100}
	})
	u.line(t0)
	// 1000 in the first hour, then paused for an hour.
	src.set(func(c *progress.CopySnapshot) {
		c.Completed, c.CompletedNow = 1000, 1000
		c.Paused, c.PausedReason, c.PausedSince = true, "source credentials expired", t0.Add(time.Hour)
	})
	got := u.line(t0.Add(2 * time.Hour))
	if !strings.Contains(got, "1000 RP/h") || !strings.HasSuffix(got, "PAUSED: source credentials expired (1h00m)") {
		t.Fatalf("paused line %q: want 1000 RP/h (the pause not counted) and the pause with its reason and length", got)
	}
	src.set(func(c *progress.CopySnapshot) { c.Paused, c.PausedReason, c.PausedSince = false, "", time.Time{} })
	// Resumed at 2h; at 3h 2000 done over 2 active hours.
	u.line(t0.Add(2 * time.Hour))
	src.set(func(c *progress.CopySnapshot) { c.Completed, c.CompletedNow = 2000, 2000 })
	if got := u.line(t0.Add(3 * time.Hour)); !strings.Contains(got, "1000 RP/h, ETA 8h00m") || strings.Contains(got, "PAUSED") {
		t.Fatalf("after the pause: %q", got)
	}
}

func TestProgressLineOtherPhases(t *testing.T) {
	src := &fakeProgress{vaults: []progress.VaultProgress{{Vault: "a", Listed: 100, Expected: 400}, {Vault: "b", Listed: 0, Expected: 600}}}
	src.copy = progress.CopySnapshot{Phase: progress.PhaseInventory, PhaseSince: t0}
	u := newProgressUI(src, &bytes.Buffer{}, time.Minute, false)
	if got, want := u.line(t0.Add(time.Second)), "progress: inventory 100/1000 listed (10.0%), 2 vaults"; got != want {
		t.Fatalf("inventory:\n got %q\nwant %q", got, want)
	}
	src.mu.Lock()
	src.vaults[1].Listed = 300 // 300 more in 6 minutes: 3000/h, 600 left
	src.mu.Unlock()
	if got, want := u.line(t0.Add(time.Second+6*time.Minute)), "progress: inventory 400/1000 listed (40.0%), 2 vaults, 3000 RP/h, ETA 12m"; got != want {
		t.Fatalf("inventory:\n got %q\nwant %q", got, want)
	}
	src.set(func(c *progress.CopySnapshot) { c.Phase, c.PhaseSince = progress.PhaseDecide, t0.Add(time.Hour) })
	if got, want := u.line(t0.Add(time.Hour+90*time.Second)), "progress: decide, 1m"; got != want {
		t.Fatalf("decide: got %q, want %q", got, want)
	}
	plan := newProgressUI(src, &bytes.Buffer{}, time.Minute, true)
	src.set(func(c *progress.CopySnapshot) { c.Phase, c.Total = progress.PhaseCopy, 50 })
	if got := plan.line(t0.Add(time.Hour + time.Second)); !strings.HasPrefix(got, "progress: copy (preview)") {
		t.Fatalf("plan's copy preview: %q", got)
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second: "12s", 48 * time.Minute: "48m", 200 * time.Minute: "3h20m", 52 * time.Hour: "2d4h", -time.Second: "0s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while the UI writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressUIPrintsALinePerTick(t *testing.T) {
	src := &fakeProgress{}
	src.copy = progress.CopySnapshot{Phase: progress.PhaseCopy, PhaseSince: t0, Total: 10, Completed: 4, CompletedNow: 4, Cap: 3, InFlight: 3}
	var out syncBuffer
	u := newProgressUI(src, &out, time.Minute, false)
	ticks := make(chan time.Time)
	var interval time.Duration
	u.newTicker = func(d time.Duration) (<-chan time.Time, func()) { interval = d; return ticks, func() {} }
	now := t0
	u.now = func() time.Time { return now }
	u.start()
	now = t0.Add(time.Hour)
	ticks <- now
	ticks <- now // a second tick: a second line
	u.stop()
	u.stop() // idempotent
	if interval != time.Minute {
		t.Errorf("ticker interval %s, want the --progress-interval", interval)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := "progress: copy 4/10 (40.0%), 3/3 in flight, 0 failed, 4 RP/h, ETA 1h30m"
	if len(lines) != 2 || lines[0] != want {
		t.Fatalf("output:\n%s\nwant two lines of %q", out.String(), want)
	}
}

var progressLineRE = regexp.MustCompile(`^progress: copy (\d+)/(\d+) \(([\d.]+)%\), (\d+)/(\d+) in flight, (\d+) failed, (rate not known yet|(\d+) RP/h), (ETA \S+|finishing \d+ running jobs?\b)`)

// An in-process run whose copying lasts a few seconds prints progress
// lines whose numbers agree with each other and with the end result,
// and logs its steps as JSON in the state directory.
func TestRunPrintsProgressLinesAndLogs(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 2e4})
	stateDir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "progress.lua")
	start := time.Now()
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--progress-interval", "50ms")
	if code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	if took := time.Since(start); took < time.Second {
		t.Logf("the run took only %s; the emulator copies faster than this test assumes", took)
	}
	var copyLines []string
	var total int64 = -1
	var lastDone int64
	for _, l := range strings.Split(errs, "\n") {
		m := progressLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		copyLines = append(copyLines, l)
		done, _ := strconv.ParseInt(m[1], 10, 64)
		tot, _ := strconv.ParseInt(m[2], 10, 64)
		inFlight, _ := strconv.Atoi(m[4])
		capN, _ := strconv.Atoi(m[5])
		if total == -1 {
			total = tot
		}
		switch {
		case tot != total || tot <= 0:
			t.Errorf("total changed or is empty: %q (first said %d)", l, total)
		case done > tot || done < lastDone:
			t.Errorf("completed went backwards or past the total: %q", l)
		case inFlight > 100, capN > 100, capN == 0 && (done > 0 || inFlight > 0):
			// (cap 0: the copy step has loaded the state but not yet
			// published its first snapshot.)
			t.Errorf("in flight/cap out of range: %q", l)
		}
		lastDone = done
	}
	if len(copyLines) == 0 {
		t.Fatalf("no progress line while copying; stderr:\n%s", errs)
	}
	t.Logf("%d copy progress lines, e.g. %s", len(copyLines), copyLines[len(copyLines)/2])
	if os.Getenv("SHOWLOG") != "" {
		t.Log(errs)
	}
	if !strings.Contains(errs, fmt.Sprintf("%d completed in all", total)) {
		t.Errorf("the progress total (%d) is not what the summary says completed:\n%s", total, errs)
	}

	// The log: JSON lines, 0600, each step started and finished.
	path := filepath.Join(stateDir, "shuffle.log")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if os.Getenv("SHOWLOG") != "" {
			t.Log(sc.Text())
		}
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		if rec["command"] != "run" || rec["time"] == nil || rec["level"] == nil {
			t.Errorf("log line lacks command, time or level: %s", sc.Text())
		}
		key, _ := rec["msg"].(string)
		if s, ok := rec["step"].(string); ok {
			key += " " + s
		}
		seen[key]++
	}
	for _, k := range []string{"configured", "step started inventory", "step finished inventory", "step finished decide",
		"step finished replicate", "step started copy", "step finished copy", "copy jobs starting", "command finished"} {
		if seen[k] == 0 {
			t.Errorf("the log has no %q record; it has %v", k, seen)
		}
	}
	if seen["vault created"] == 0 {
		t.Errorf("the log names no vault created; it has %v", seen)
	}
}

func TestProgressIntervalZeroPrintsNothing(t *testing.T) {
	workspace(t, 200)
	stateDir := filepath.Join(t.TempDir(), "state")
	code, out, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir, "--progress-interval", "0")
	if code != 0 {
		t.Fatalf("plan exited %d\n%s%s", code, out, errs)
	}
	if strings.Contains(errs, "progress:") {
		t.Fatalf("--progress-interval 0 printed progress:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "shuffle.log")); err != nil {
		t.Fatalf("plan keeps a log too: %v", err)
	}
}

func TestNoLogFileWhenTheScriptIsMissing(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	code, _, _ := shuffle(t, "run", filepath.Join(dir, "missing.lua"), "--state", stateDir)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Fatalf("a run that never configured left %s behind (%v)", stateDir, err)
	}
}
