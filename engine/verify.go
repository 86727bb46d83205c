package engine

import (
	"context"
	"errors"

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

// LiveVerify is Verify for another goroutine while the session runs
// (`shuffle verify` asking a running `shuffle run` through its REPL
// socket): it reads the open state and the destination client under
// the session's lock, then verifies without holding it.
func (s *Session) LiveVerify(ctx context.Context) (*verify.Report, error) {
	s.live.Lock()
	st, dst := s.Store, s.dst
	s.live.Unlock()
	if st == nil || dst == nil {
		return nil, errors.New("the run has not opened its state and accounts yet (shuffle.config); try again in a moment")
	}
	v := &verify.Verifier{Store: st, Dest: dst, Now: s.Now, Live: true}
	return v.Run(ctx)
}
