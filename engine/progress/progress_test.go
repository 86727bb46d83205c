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

func TestCopyCountsByVaultAndType(t *testing.T) {
	now := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	p := New()
	p.now = func() time.Time { return now }
	if c, last := p.CopyCounts(); len(c) != 0 || !last.IsZero() {
		t.Fatalf("nothing counted yet: %+v %v", c, last)
	}
	p.CountCopy(CopyStarted, "b", "EBS", 0)
	p.CountCopy(CopyStarted, "a", "RDS", 0)
	p.CountCopy(CopyRetried, "a", "RDS", 0)
	p.CountCopy(CopyStarted, "a", "RDS", 0)
	now = now.Add(time.Minute)
	p.CountCopy(CopyCompleted, "a", "RDS", 100)
	p.CountCopy(CopyFailed, "b", "EBS", 7) // bytes count only for completions
	c, last := p.CopyCounts()
	want := []CopyCounts{
		{CopyKey: CopyKey{"a", "RDS"}, Started: 2, Completed: 1, Retried: 1, Bytes: 100},
		{CopyKey: CopyKey{"b", "EBS"}, Started: 1, Failed: 1},
	}
	if len(c) != 2 || c[0] != want[0] || c[1] != want[1] || !last.Equal(now) {
		t.Fatalf("counts %+v, last completion %v; want %+v at %v", c, last, want, now)
	}
}
