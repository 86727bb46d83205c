package main

import (
	"context"
	"errors"
	"time"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// metricsSource is what a metrics scrape reads of a running run: the
// engine's snapshots and counters, nothing the scrape computes itself.
// Every method is safe to call from the HTTP server's goroutines.
type metricsSource interface {
	// Counts reads the state's counters (forecast.ReadCounts);
	// errStateNotOpen before the script opened the state.
	Counts(ctx context.Context, now time.Time) (*forecast.Status, []forecast.StateCount, error)
	// Forecast projects the rest of the copy (forecast.Make).
	Forecast(ctx context.Context, o forecast.Options) (*forecast.Forecast, error)
	// Progress is the run's counters (engine/progress).
	Progress() *progress.Progress
	// Calls is the AWS calls by operation, and the failed attempts by
	// operation and code.
	Calls() (map[string]awsclient.OpStats, []awsclient.OpErrorCount)
	// Paused says whether AWS calls are paused, since when, and the
	// time paused so far.
	Paused() (paused bool, since time.Time, total time.Duration)
	// Window is the run's change window (zero End: none).
	Window() copier.Window
	// MaxInFlight is the in-flight ceiling the run was given (0: the
	// script's or the default).
	MaxInFlight() int
}

// errStateNotOpen: the run has not opened its state yet.
var errStateNotOpen = errors.New("the run has not opened its state yet")

// sessionSource reads a running engine.Session.
type sessionSource struct {
	s      *engine.Session
	window copier.Window
}

func (src sessionSource) Counts(ctx context.Context, now time.Time) (*forecast.Status, []forecast.StateCount, error) {
	st := src.s.LiveStore()
	if st == nil {
		return nil, nil, errStateNotOpen
	}
	return forecast.ReadCounts(ctx, st, now)
}

func (src sessionSource) Forecast(ctx context.Context, o forecast.Options) (*forecast.Forecast, error) {
	st := src.s.LiveStore()
	if st == nil {
		return nil, errStateNotOpen
	}
	return forecast.Make(ctx, st, o)
}

func (src sessionSource) Progress() *progress.Progress { return src.s.Progress }

func (src sessionSource) Calls() (map[string]awsclient.OpStats, []awsclient.OpErrorCount) {
	return src.s.Guard.Stats.Snapshot(), src.s.Guard.Stats.Errors()
}

func (src sessionSource) Paused() (bool, time.Time, time.Duration) {
	paused, info := src.s.Guard.Paused()
	return paused, info.Since, src.s.Guard.PausedFor()
}

func (src sessionSource) Window() copier.Window { return src.window }

func (src sessionSource) MaxInFlight() int { return src.s.CopySettings.MaxInFlight }
