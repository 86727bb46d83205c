package engine

import (
	"context"

	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// Verify checks every completed copy record against its destination
// vault: the destination RP must be listed there, with the source RP's
// resource ARN, size and DeleteAfterDays. Each destination vault is
// listed once; only one vault's listing is held in memory at a time.
func (s *Session) Verify(ctx context.Context) (*verify.Report, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	v := &verify.Verifier{Store: s.Store, Dest: s.dst, Now: s.Now}
	return v.Run(ctx)
}
