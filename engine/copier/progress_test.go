package copier

import (
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// At the tail of a run the ETA comes from the jobs in flight: each ends
// at its start plus the duration the model predicts for its type and
// size; one past that is expected to need half its run time again.
func TestInFlightEndFollowsTheDurationModel(t *testing.T) {
	now := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	c := &Copier{Now: func() time.Time { return now }, inflight: map[string]*copyItem{}}
	job := func(id string, size int64, started time.Duration) {
		at := now.Add(-started)
		c.inflight[id] = &copyItem{typ: "EBS", size: size, rec: &state.CopyRecord{IntentAt: at, StartedAt: &at}}
	}
	job("small", 100, 2*time.Minute)
	if end, _, _ := c.inFlightEnd(now); !end.IsZero() {
		t.Fatalf("no job observed to end yet, but an end is expected at %s", end)
	}
	c.model.Add("EBS", 100, 10*time.Minute)
	c.model.Add("EBS", 200, 20*time.Minute)
	job("large", 200, time.Minute)      // ends in 19m
	job("overdue", 100, 30*time.Minute) // 20m past its 10m: 15m more
	end, queued, overdue := c.inFlightEnd(now)
	if want := now.Add(19 * time.Minute); !end.Equal(want) || overdue != 1 || queued != 0 {
		t.Fatalf("in-flight end %s, %d overdue; want %s, 1", end.Format(time.TimeOnly), overdue, want.Format(time.TimeOnly))
	}
	delete(c.inflight, "large")
	if end, _, _ := c.inFlightEnd(now); !end.Equal(now.Add(15 * time.Minute)) {
		t.Fatalf("with the overdue job last: %s, want in 15m", end.Format(time.TimeOnly))
	}
	if s := c.withTail(progress.CopySnapshot{}); !s.InFlightEnd.Equal(now.Add(15*time.Minute)) || s.InFlightOverdue != 1 {
		t.Fatalf("the snapshot carries %s, %d", s.InFlightEnd, s.InFlightOverdue)
	}
	if s := c.withTail(progress.CopySnapshot{Ready: 1}); !s.InFlightEnd.IsZero() {
		t.Fatalf("with work ready to start the snapshot carries a tail end %s", s.InFlightEnd)
	}
	// Two more RPs of the small job's resource wait for it: 8m + 10m + 20m.
	small := c.inflight["small"]
	ch := &chain{items: []*copyItem{small, {typ: "EBS", size: 100}, {typ: "EBS", size: 200}}}
	small.chain = ch
	if end, queued, _ := c.inFlightEnd(now); !end.Equal(now.Add(38*time.Minute)) || queued != 2 {
		t.Fatalf("with 2 RPs queued behind a job: end in %s, %d queued; want 38m, 2", end.Sub(now), queued)
	}
}
