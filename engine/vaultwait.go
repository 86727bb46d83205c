package engine

import "github.com/shuffle-migrate/shuffle/engine/copier"

// setWait marks a status not ready for reason w.
func (s *DestinationStatus) setWait(w copier.WaitReason) {
	s.Ready, s.Wait = false, w
}
