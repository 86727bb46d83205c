package engine

// setWait marks a status not ready for reason w.
func (s *DestinationStatus) setWait(w WaitReason) {
	s.Ready, s.Wait = false, w
}
