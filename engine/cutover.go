package engine

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/cutover"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// Cutover verifies every completed copy (Verify), then answers whether
// every included RP created before asOf is copied and verified
// (engine/cutover). The script's steps (a delta listing of each vault
// among them) run first, so the answer covers what the source holds
// now.
func (s *Session) Cutover(ctx context.Context, asOf time.Time) (*cutover.Report, *verify.Report, error) {
	if err := s.Complete(ctx); err != nil {
		return nil, nil, err
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := cutover.Check(ctx, s.Store, rep, asOf, s.Now())
	return c, rep, err
}
