package progress

import (
	"testing"
	"time"
)

func TestProgressPhaseAndPause(t *testing.T) {
	now := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	p := New()
	p.now = func() time.Time { return now }
	p.SetCopyTotal(100, 1000)
	p.SetPhase(PhaseCopy)
	p.SetCopy(CopySnapshot{Completed: 10, BytesDone: 50, Cap: 7}) // publish replaces the snapshot whole...
	c := p.Copy()
	if c.Total != 100 || c.BytesTotal != 1000 || c.Completed != 10 || c.Cap != 7 || c.Phase != PhaseCopy || !c.PhaseSince.Equal(now) {
		t.Fatalf("...but totals and phase survive it: %+v", c)
	}
	p.SetPaused(true, "credentials expired")
	now = now.Add(time.Minute)
	p.SetPaused(true, "credentials still expired")
	c = p.Copy()
	if !c.Paused || c.PausedReason != "credentials still expired" || !c.PausedSince.Equal(now.Add(-time.Minute)) {
		t.Fatalf("a second pause keeps its start and takes the new reason: %+v", c)
	}
	p.SetPaused(false, "")
	if c = p.Copy(); c.Paused || c.PausedReason != "" || !c.PausedSince.IsZero() {
		t.Fatalf("resumed: %+v", c)
	}
}
