package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// The collector reads the run's snapshots at scrape time (no metric is
// updated by the engine): the progress counters, the AWS call counters
// and the pause state as they stand, the state's counters (cached for a
// moment: a read costs a fraction of a second at a million RPs) and the
// forecast (made in the background at most once a minute, two seconds
// at a million RPs; a scrape reports the last one made).

const (
	// countsMinTTL is how long a read of the state's counters serves
	// scrapes at least; a slow read serves countsTTLFactor times its
	// duration, so that scrapes cost the run a tenth of a core at most.
	countsMinTTL    = time.Second
	countsTTLFactor = 10
	// forecastEvery is how often a scrape may have the forecast made again.
	forecastEvery = time.Minute
)

// metricsRunInfo describes the serving command for shuffle_run_info.
type metricsRunInfo struct {
	version, commit, command, script, stateDir string
	start                                      time.Time
}

// metricsCollector is the prometheus.Collector of a run.
type metricsCollector struct {
	info metricsRunInfo
	now  func() time.Time

	// mu guards src: scrapes and the forecast's refresh read it (and the
	// state behind it) under RLock; attach and detach take the lock, so
	// that detach returns only once nothing reads the state any more.
	mu     sync.RWMutex
	src    metricsSource
	ctx    context.Context // cancelled by detach: a forecast being made stops
	cancel context.CancelFunc

	counts countsCache
	fc     forecastCache
	errsMu sync.Mutex
	errs   map[string]int64 // failed reads by what was read
}

type countsCache struct {
	mu     sync.Mutex
	status *forecast.Status
	cells  []forecast.StateCount
	readAt time.Time
	dur    time.Duration
}

type forecastCache struct {
	mu         sync.Mutex
	f          *forecast.Forecast
	tried      time.Time // when a refresh last started
	refreshing bool
	wg         sync.WaitGroup
}

func newMetricsCollector(info metricsRunInfo) *metricsCollector {
	return &metricsCollector{info: info, now: time.Now, errs: map[string]int64{"counts": 0, "forecast": 0}}
}

// attach makes the collector read src, from now on.
func (c *metricsCollector) attach(src metricsSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.src = src
	c.ctx, c.cancel = context.WithCancel(context.Background())
}

// detach stops reading the source: it returns once no scrape or
// forecast reads it (call it before the state is closed). Scrapes then
// report the run's information only.
func (c *metricsCollector) detach() {
	c.mu.RLock()
	cancel := c.cancel
	c.mu.RUnlock()
	if cancel != nil {
		cancel()
	}
	c.mu.Lock()
	c.src = nil
	c.mu.Unlock()
	c.fc.wg.Wait()
}

// Describe sends every metric's description.
func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metricDefs {
		ch <- d.desc
	}
}

// emit sends one sample of d.
func emit(ch chan<- prometheus.Metric, d *metricDef, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d.desc, d.typ, v, labels...)
}

// unix is t as Unix seconds (whole seconds exactly).
func unix(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// Collect reads the snapshots and sends the metrics.
func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := c.now()
	i := c.info
	emit(ch, mRunInfo, 1, i.version, i.commit, i.command, i.script, i.stateDir)
	emit(ch, mRunStart, unix(i.start))
	defer c.collectErrors(ch) // after the reads, to count this scrape's
	if c.src == nil {
		collectPhase(ch, "", i.start)
		return
	}
	snap := c.src.Progress().Copy()
	c.collectRun(ch, snap)
	status := c.collectCounts(ch, now)
	collectCopy(ch, c.src.Progress(), snap)
	c.collectCalls(ch)
	c.collectForecast(ch, now, snap, status)
}

// collectErrors sends the count of failed reads.
func (c *metricsCollector) collectErrors(ch chan<- prometheus.Metric) {
	c.errsMu.Lock()
	defer c.errsMu.Unlock()
	for what, n := range c.errs {
		emit(ch, mScrapeErrs, float64(n), what)
	}
}

// collectPhase sends shuffle_phase, one sample per step ("" is
// starting: the pre-flight check, or before the script's first step).
func collectPhase(ch chan<- prometheus.Metric, phase string, since time.Time) {
	if phase == "" {
		phase = "starting"
	}
	for _, p := range []string{"starting", progress.PhaseInventory, progress.PhaseEnrich, progress.PhaseDecide, progress.PhaseReplicate, progress.PhaseCopy, progress.PhaseDone} {
		v := 0.0
		if p == phase {
			v = 1
		}
		emit(ch, mPhase, v, p)
	}
	emit(ch, mPhaseStart, unix(since))
}

// collectRun sends the phase, the window, the pause state and the last
// progress.
func (c *metricsCollector) collectRun(ch chan<- prometheus.Metric, snap progress.CopySnapshot) {
	since := snap.PhaseSince
	if since.IsZero() {
		since = c.info.start
	}
	collectPhase(ch, snap.Phase, since)
	if w := c.src.Window(); !w.End.IsZero() {
		cutoff := string(w.Cutoff)
		if cutoff == "" {
			cutoff = "soft"
		}
		emit(ch, mWindow, unix(w.End), cutoff)
	}
	paused, pauseSince, total := c.src.Paused()
	if paused {
		emit(ch, mPaused, 1)
		emit(ch, mPauseSince, unix(pauseSince))
	} else {
		emit(ch, mPaused, 0)
	}
	emit(ch, mPausedSecs, total.Seconds())
	_, last := c.src.Progress().CopyCounts()
	latest := c.info.start
	for _, t := range []time.Time{since, last} {
		if t.After(latest) {
			latest = t
		}
	}
	emit(ch, mProgress, unix(latest))
}

// readCounts returns the state's counters, read again when the last
// read is older than its time to live; nil before the state is open.
func (c *metricsCollector) readCounts(now time.Time) (*forecast.Status, []forecast.StateCount, time.Time, time.Duration) {
	cc := &c.counts
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.status != nil && now.Sub(cc.readAt) < max(countsMinTTL, countsTTLFactor*cc.dur) {
		return cc.status, cc.cells, cc.readAt, cc.dur
	}
	start := time.Now()
	s, cells, err := c.src.Counts(c.ctx, now)
	switch {
	case errors.Is(err, errStateNotOpen):
	case err != nil:
		c.readFailed("counts")
	default:
		cc.status, cc.cells, cc.readAt, cc.dur = s, cells, now, time.Since(start)
	}
	return cc.status, cc.cells, cc.readAt, cc.dur
}

func (c *metricsCollector) readFailed(what string) {
	c.errsMu.Lock()
	c.errs[what]++
	c.errsMu.Unlock()
}

// collectCounts sends the state's counts and lag; it returns the status
// read (nil before the state is open).
func (c *metricsCollector) collectCounts(ch chan<- prometheus.Metric, now time.Time) *forecast.Status {
	s, cells, readAt, dur := c.readCounts(now)
	if s == nil {
		return nil
	}
	emit(ch, mStateRead, unix(readAt))
	emit(ch, mStateReadDur, dur.Seconds())
	vaults := map[string]bool{}
	for _, k := range cells {
		emit(ch, mRPs, float64(k.RecoveryPoints), k.Vault, k.ResourceType, k.State)
		emit(ch, mRPBytes, float64(k.Bytes), k.Vault, k.ResourceType, k.State)
		vaults[k.Vault] = true
	}
	if s.LastCompletion != nil {
		emit(ch, mLastDone, unix(*s.LastCompletion))
	}
	if s.FirstStart != nil {
		emit(ch, mFirstStart, unix(*s.FirstStart))
	}
	if l := s.Lag; l != nil {
		for _, v := range l.ByVault {
			emit(ch, mLag, float64(v.RecoveryPoints), v.Vault)
			emit(ch, mLagOldest, unix(v.Oldest), v.Vault)
			delete(vaults, v.Vault)
		}
		for v := range vaults { // a vault with nothing lagging counts 0
			emit(ch, mLag, 0, v)
		}
		if l.Oldest != nil {
			emit(ch, mLagAge, now.Sub(*l.Oldest).Seconds())
		}
	}
	return s
}

// collectCopy sends the copy engine's counters and in-flight slots, and
// the inventory's.
func collectCopy(ch chan<- prometheus.Metric, p *progress.Progress, snap progress.CopySnapshot) {
	counts, _ := p.CopyCounts()
	for _, k := range counts {
		emit(ch, mStarted, float64(k.Started), k.Vault, k.ResourceType)
		emit(ch, mCompleted, float64(k.Completed), k.Vault, k.ResourceType)
		emit(ch, mFailed, float64(k.Failed), k.Vault, k.ResourceType)
		emit(ch, mRetries, float64(k.Retried), k.Vault, k.ResourceType)
		emit(ch, mBytes, float64(k.Bytes), k.Vault, k.ResourceType)
	}
	emit(ch, mInFlight, float64(snap.InFlight))
	if snap.Cap > 0 {
		emit(ch, mCap, float64(snap.Cap))
	}
	if snap.MaxCap > 0 {
		emit(ch, mMaxCap, float64(snap.MaxCap))
	}
	for _, v := range snap.Vaults {
		emit(ch, mVaultIn, float64(v.InFlight), v.Vault)
		if v.Cap > 0 {
			emit(ch, mVaultCap, float64(v.Cap), v.Vault)
		}
	}
	emit(ch, mReady, float64(snap.Ready))
	emit(ch, mWaitRetry, float64(snap.Waiting))
	for _, v := range p.Inventory() {
		emit(ch, mListed, float64(v.Listed), v.Vault)
		if v.Expected > 0 {
			emit(ch, mExpected, float64(v.Expected), v.Vault)
		}
	}
}

// collectCalls sends the AWS calls and failed attempts.
func (c *metricsCollector) collectCalls(ch chan<- prometheus.Metric) {
	ops, errs := c.src.Calls()
	for op, s := range ops {
		emit(ch, mCalls, float64(s.Calls), op)
		emit(ch, mAttempts, float64(s.Attempts), op)
	}
	for _, e := range errs {
		emit(ch, mAWSErrors, float64(e.Attempts), e.Operation, e.Code)
	}
}
