package copier

import (
	"context"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/estimate"
)

// The window's two deadlines: feed at its end, hard after the grace only
// when draining; no window, no deadline; an interrupt is not a deadline.
func TestWindowBounds(t *testing.T) {
	end := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		w        Window
		feed     time.Time
		hard     time.Time
		windowed bool
	}{
		{Window{End: end, Cutoff: CutoffSoft, Grace: time.Minute}, end, end, true},
		{Window{End: end, Cutoff: CutoffCautious, Grace: time.Minute}, end, end, true},
		{Window{End: end, Cutoff: CutoffDrain, Grace: time.Minute}, end, end.Add(time.Minute), true},
		{Window{Cutoff: CutoffDrain, Grace: time.Minute}, time.Time{}, time.Time{}, false},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		b, stop := tc.w.Bounds(ctx)
		if got := tc.w.HardEnd(); !got.Equal(tc.hard) {
			t.Errorf("%+v: hard end %s, want %s", tc.w, got, tc.hard)
		}
		if f, ok := b.feedEnd(); ok != tc.windowed || !f.Equal(tc.feed) {
			t.Errorf("%+v: feed end %s (%v), want %s (%v)", tc.w, f, ok, tc.feed, tc.windowed)
		}
		if tc.windowed {
			if h, _ := b.Hard.Deadline(); !h.Equal(tc.hard) {
				t.Errorf("%+v: hard deadline %s, want %s", tc.w, h, tc.hard)
			}
		}
		cancel()
		if now := time.Now(); b.feedDone(now) || b.hardDone(now) {
			t.Errorf("%+v: cancelling the run's context ended the window", tc.w)
		}
		stop()
	}
	b, stop := Window{End: time.Now().Add(-time.Second), Cutoff: CutoffSoft}.Bounds(context.Background())
	defer stop()
	if now := time.Now(); !b.feedDone(now) || !b.hardDone(now) {
		t.Errorf("a window that ended: feed done %v, hard done %v", b.feedDone(now), b.hardDone(now))
	}
	// The clock decides even before the context's deadline timer fires:
	// another event may wake the dispatcher first (the vault watcher
	// giving up at the window's end), and the run must still say the
	// window ended.
	wEnd := time.Now().Add(time.Hour)
	w := Window{End: wEnd, Cutoff: CutoffDrain, Grace: time.Minute}
	b2, stop2 := w.Bounds(context.Background())
	defer stop2()
	if b2.feedDone(wEnd.Add(-time.Second)) {
		t.Error("the window is done a second before its end")
	}
	if !b2.feedDone(wEnd) || b2.hardDone(wEnd) || !b2.hardDone(w.HardEnd()) {
		t.Errorf("at the window's end: feed done %v (want true), hard done %v (want false); at the hard end: %v (want true)",
			b2.feedDone(wEnd), b2.hardDone(wEnd), b2.hardDone(w.HardEnd()))
	}
	if !CutoffDrain.Valid() || Cutoff("hard").Valid() {
		t.Error("Valid accepts only soft, cautious and drain")
	}
}

// The schedule's order: round-robin over the vaults that can start,
// chains about to be deleted first, then the chain with the most work
// left.
func TestScheduleOrder(t *testing.T) {
	ok := func(i int) bool { return i != 1 }
	i, next := NextVault(3, 0, ok)
	if i != 0 || next != 1 {
		t.Fatalf("from 0: vault %d, next %d; want 0, 1", i, next)
	}
	if i, next = NextVault(3, next, ok); i != 2 || next != 0 {
		t.Fatalf("from 1 (not ready): vault %d, next %d; want 2, 0", i, next)
	}
	if i, _ = NextVault(3, 0, func(int) bool { return false }); i != -1 {
		t.Fatalf("none ready: vault %d, want -1", i)
	}
	big, small := ChainKey{Work: estimate.Prior("EBS", 10e9)}, ChainKey{Work: estimate.Prior("EBS", 1e9)}
	if !ChainFirst(big, small) || ChainFirst(ChainKey{Work: 1}, ChainKey{Work: 1}) {
		t.Fatal("the chain with more work left goes first, and ties do not")
	}
	// A chain whose next RP its lifecycle deletes within UrgentWithin
	// goes before any other, the earliest delete date first; a delete
	// date further off changes nothing.
	now := 1e9
	soon := ChainKey{Work: 1, Due: now + 3600, Urgent: Urgent(now+3600, now)}
	sooner := ChainKey{Work: 1, Due: now + 60, Urgent: Urgent(now+60, now)}
	later := ChainKey{Work: 1, Due: now + 30*86400, Urgent: Urgent(now+30*86400, now)}
	if !soon.Urgent || later.Urgent || Urgent(0, now) {
		t.Fatalf("urgency: an hour %v, a month %v, no date %v", soon.Urgent, later.Urgent, Urgent(0, now))
	}
	if !ChainFirst(soon, big) || ChainFirst(big, soon) || !ChainFirst(sooner, soon) || !ChainFirst(big, later) {
		t.Fatal("urgent chains first, the earliest delete date first; a distant date does not count")
	}
}
