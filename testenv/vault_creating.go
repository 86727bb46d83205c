package testenv

import "time"

// How long a new logically air-gapped vault stays CREATING.
//
// AWS takes minutes; the emulator's default is two simulated minutes
// (scaled by CopySpeed). Options.LAGCreateTime overrides it in wall-clock
// time, independent of CopySpeed, so copies can be fast while a vault is
// still slow to create: a positive duration, or LAGCreateHold to keep
// every new air-gapped vault CREATING until FinishCreatingVaults (or
// POST /_testenv/vaults/finish-creating) is called.

// LAGCreateHold keeps new air-gapped vaults CREATING until told.
const LAGCreateHold time.Duration = -1

// heldUntil is the AvailableAt of a vault held CREATING: never, in
// practice.
var heldUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// lagAvailableAt is when an air-gapped vault created at now becomes
// AVAILABLE.
func (s *Server) lagAvailableAt(now time.Time) time.Time {
	switch d := s.opts.LAGCreateTime; {
	case d < 0:
		return heldUntil
	case d > 0:
		return now.Add(d)
	}
	return now.Add(s.simDuration(120))
}

// FinishCreatingVaults makes every air-gapped vault still CREATING
// AVAILABLE now, and returns how many it changed.
func (s *Server) FinishCreatingVaults() int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	now := s.now()
	n := 0
	for _, a := range s.w.accounts {
		for _, v := range a.vaults {
			if v.VaultState == "CREATING" {
				v.VaultState, v.AvailableAt = "AVAILABLE", now
				n++
			}
		}
	}
	return n
}
