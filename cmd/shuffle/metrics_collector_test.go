package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// fakeSource is a metricsSource with set answers, counting the reads.
type fakeSource struct {
	mu        sync.Mutex
	p         *progress.Progress
	status    *forecast.Status
	cells     []forecast.StateCount
	countsErr error
	reads     int
	forecasts int
	fc        *forecast.Forecast
	paused    bool
	window    copier.Window
}

func (f *fakeSource) Counts(ctx context.Context, now time.Time) (*forecast.Status, []forecast.StateCount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.status, f.cells, f.countsErr
}

func (f *fakeSource) Forecast(ctx context.Context, o forecast.Options) (*forecast.Forecast, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forecasts++
	return f.fc, nil
}

func (f *fakeSource) Progress() *progress.Progress { return f.p }
func (f *fakeSource) Calls() (map[string]awsclient.OpStats, []awsclient.OpErrorCount) {
	return map[string]awsclient.OpStats{"StartCopyJob": {Calls: 5, Attempts: 6}},
		[]awsclient.OpErrorCount{{OpError: awsclient.OpError{Operation: "StartCopyJob", Code: "LimitExceededException"}, Attempts: 2}}
}
func (f *fakeSource) Paused() (bool, time.Time, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused, time.Unix(1000, 0), 90 * time.Second
}
func (f *fakeSource) Window() copier.Window { return f.window }
func (f *fakeSource) MaxInFlight() int      { return 0 }

func (f *fakeSource) counts() (reads, forecasts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads, f.forecasts
}

// gather collects c once, as a scrape does.
func gather(t *testing.T, c prometheus.Collector) families {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := families{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func TestMetricsCollectorReadsTheSnapshots(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := newMetricsCollector(metricsRunInfo{version: "v1", commit: "abc", command: "run", script: "s.lua", stateDir: "/st", start: now.Add(-time.Hour)})
	c.now = func() time.Time { return now }

	// Before the session is attached: what the command is, and that it starts.
	f := gather(t, c)
	if f.must(t, "shuffle_run_info", "version", "v1", "state_dir", "/st") != 1 || f.must(t, "shuffle_phase", "phase", "starting") != 1 {
		t.Fatalf("before attach: %v", f)
	}
	if _, ok := f.sum("shuffle_recovery_points"); ok {
		t.Fatal("state metrics before the session is attached")
	}

	p := progress.New()
	p.SetPhase(progress.PhaseCopy)
	p.SetCopy(progress.CopySnapshot{InFlight: 3, Cap: 4, MaxCap: 100, Vaults: []progress.VaultSlots{{Vault: "a", InFlight: 2, Cap: 2}, {Vault: "b", InFlight: 1}}})
	p.CountCopy(progress.CopyStarted, "a", "EBS", 0)
	p.CountCopy(progress.CopyCompleted, "a", "EBS", 10)
	oldest := now.Add(-50 * time.Hour)
	src := &fakeSource{p: p, window: copier.Window{End: now.Add(time.Hour), Cutoff: copier.CutoffDrain},
		status: &forecast.Status{States: map[string]int64{"completed": 1, "queued": 4},
			Lag:    &forecast.Lag{RecoveryPoints: 4, Oldest: &oldest, ByVault: []forecast.VaultLag{{Vault: "a", RecoveryPoints: 4, Oldest: oldest}}},
			AtRisk: &forecast.AtRisk{RecoveryPoints: 7}},
		cells: []forecast.StateCount{
			{Vault: "a", ResourceType: "EBS", State: "completed", RecoveryPoints: 1, Bytes: 10},
			{Vault: "a", ResourceType: "EBS", State: "queued", RecoveryPoints: 4, Bytes: 40},
			{Vault: "b", ResourceType: "RDS", State: "completed", RecoveryPoints: 2, Bytes: 20},
		},
		fc: &forecast.Forecast{GeneratedAt: now, Projection: forecast.Projection{RemainingSeconds: 3600}}}
	c.attach(src)

	f = gather(t, c)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shuffle_phase", []string{"phase", "copy"}, 1},
		{"shuffle_phase", []string{"phase", "starting"}, 0},
		{"shuffle_recovery_points", []string{"state", "completed"}, 3},
		{"shuffle_recovery_point_bytes", []string{"vault", "a"}, 50},
		{"shuffle_lag_recovery_points", []string{"vault", "a"}, 4},
		{"shuffle_lag_recovery_points", []string{"vault", "b"}, 0}, // nothing lagging is a 0, not a gap
		{"shuffle_lag_oldest_age_seconds", nil, 50 * 3600},
		{"shuffle_window_deadline_timestamp_seconds", []string{"cutoff", "drain"}, float64(now.Add(time.Hour).Unix())},
		{"shuffle_paused", nil, 0},
		{"shuffle_paused_seconds_total", nil, 90},
		{"shuffle_copy_jobs_in_flight_cap", nil, 4},
		{"shuffle_copy_vault_jobs_in_flight_cap", []string{"vault", "a"}, 2},
		{"shuffle_copies_completed_total", []string{"vault", "a", "resource_type", "EBS"}, 1},
		{"shuffle_copied_bytes_total", nil, 10},
		{"shuffle_aws_errors_total", []string{"operation", "StartCopyJob", "code", "LimitExceededException"}, 2},
		{"shuffle_forecast_at_risk_recovery_points", nil, 7}, // the status's, until a forecast is made
	} {
		if v := f.must(t, tc.name, tc.labels...); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, v, tc.want)
		}
	}
	if _, ok := f.sum("shuffle_copy_vault_jobs_in_flight_cap", "vault", "b"); ok {
		t.Error("a cap for a vault that has none")
	}
	if _, ok := f.sum("shuffle_paused_since_timestamp_seconds"); ok {
		t.Error("a pause start while not paused")
	}

	// The counters' read serves scrapes for a while; the forecast made
	// after the first scrape is reported by the next, and not made again
	// within a minute.
	c.fc.wg.Wait()
	f = gather(t, c)
	if reads, forecasts := src.counts(); reads != 1 || forecasts != 1 {
		t.Errorf("%d reads of the counters, %d forecasts for two scrapes a moment apart; want 1 and 1", reads, forecasts)
	}
	if v := f.must(t, "shuffle_forecast_remaining_seconds"); v != 3600 {
		t.Errorf("forecast remaining %v", v)
	}
	now = now.Add(2 * time.Minute)
	src.mu.Lock()
	src.countsErr = errors.New("badger: closed")
	src.mu.Unlock()
	f = gather(t, c)
	c.fc.wg.Wait()
	if reads, forecasts := src.counts(); reads != 2 || forecasts != 2 {
		t.Errorf("after two minutes: %d reads, %d forecasts; want 2 and 2", reads, forecasts)
	}
	if v := f.must(t, "shuffle_metrics_read_errors_total", "read", "counts"); v != 1 {
		t.Errorf("read errors %v, want 1", v)
	}
	if v := f.must(t, "shuffle_recovery_points", "state", "completed"); v != 3 {
		t.Errorf("a failed read keeps the last counts: %v", v)
	}

	src.mu.Lock()
	src.paused = true
	src.mu.Unlock()
	f = gather(t, c)
	if f.must(t, "shuffle_paused") != 1 || f.must(t, "shuffle_paused_since_timestamp_seconds") != 1000 {
		t.Errorf("paused: %v since %v; want 1 since 1000", f["shuffle_paused"], f["shuffle_paused_since_timestamp_seconds"])
	}

	// Detached, it reads the session no more.
	readsBefore, _ := src.counts()
	c.detach()
	now = now.Add(time.Hour)
	f = gather(t, c)
	if reads, _ := src.counts(); reads != readsBefore {
		t.Errorf("the counters were read after detach")
	}
	if _, ok := f.sum("shuffle_recovery_points"); ok {
		t.Error("state metrics after detach")
	}
}
