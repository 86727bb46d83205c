package engine

import (
	"time"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/query"
)

// Compatibility names for the code that moved to engine/query and
// engine/forecast (issue 19). They go once the callers in the engine
// root (the copier, the session) use the new packages directly.

// StoreRequeuer is query.StoreRequeuer (used by the copier and Session).
type StoreRequeuer = query.StoreRequeuer

// Requeuer is query.Requeuer.
type Requeuer = query.Requeuer

// StatusQueued is query.Queued.
const StatusQueued = query.Queued

// HumanDuration is forecast.HumanDuration.
func HumanDuration(d time.Duration) string { return forecast.HumanDuration(d) }
