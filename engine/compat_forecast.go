package engine

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// Compatibility names for the code that moved to engine/query,
// engine/forecast and engine/verify (issue 19). They go once the callers in the engine
// root (the copier, the session) and in other branches use the new
// packages directly.

// StoreRequeuer is query.StoreRequeuer (used by the copier and Session).
type StoreRequeuer = query.StoreRequeuer

// Requeuer is query.Requeuer.
type Requeuer = query.Requeuer

// StatusQueued is query.Queued.
const StatusQueued = query.Queued

// Status is forecast.Status.
type Status = forecast.Status

// Forecast is forecast.Forecast.
type Forecast = forecast.Forecast

// ForecastOptions is forecast.Options.
type ForecastOptions = forecast.Options

// ReadStatus is forecast.ReadStatus.
func ReadStatus(ctx context.Context, st *state.Store, now time.Time) (*Status, error) {
	return forecast.ReadStatus(ctx, st, now)
}

// MakeForecast is forecast.Make.
func MakeForecast(ctx context.Context, st *state.Store, o ForecastOptions) (*Forecast, error) {
	return forecast.Make(ctx, st, o)
}

// HumanDuration is forecast.HumanDuration.
func HumanDuration(d time.Duration) string { return forecast.HumanDuration(d) }

// RecoveryPointLister is verify.Lister (the copier's Dest).
type RecoveryPointLister = verify.Lister

// VerifyReport is verify.Report.
type VerifyReport = verify.Report
