package query

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Requeuer moves failed copies back to the queue. The running copy
// engine implements it (Session.Requeue) so that its schedule picks
// them up; without a run, StoreRequeuer writes the state directly.
type Requeuer interface {
	Requeue(ctx context.Context, keys []state.CopyKey) (int, error)
}

// StoreRequeuer requeues in the state alone: the next run loads them.
type StoreRequeuer struct {
	Store *state.Store
	Now   func() time.Time
}

// Requeue implements Requeuer.
func (r StoreRequeuer) Requeue(ctx context.Context, keys []state.CopyKey) (int, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	moved, err := r.Store.RequeueCopies(keys, now())
	return len(moved), err
}

// RequeueCandidates are the failed copies among the RPs that pass f.
// Only failed copy records can be requeued: a completed copy is never
// touched, and other states are already queued or in flight.
func RequeueCandidates(ctx context.Context, st *state.Store, f Filter) ([]Row, error) {
	var out []Row
	err := Query(ctx, st, f, func(r Row) error {
		// Held RPs (possibly copied already) too: the operator has checked.
		if r.Copy != nil && (r.Copy.State == state.CopyFailed || r.Copy.State == state.CopyHeld) {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
