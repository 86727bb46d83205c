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

// The copier counts each copy's events by source vault and type for
// the metrics (progress.CountCopy), in step with its summary, and
// publishes each vault's jobs in flight and cap.
func TestProgressCountsCopiesByVault(t *testing.T) {
	f := newQuotaAWS(7)
	st, targets, _ := quotaEstate(t, f, 2, 3, 2)
	denied, once := "arn:aws:ec2:us-east-1::snapshot/snap-1-0-0", "arn:aws:ec2:us-east-1::snapshot/snap-1-1-0"
	f.failing[denied] = &failSpec{n: 99, msg: "Something went wrong", cat: "ACCESS_DENIED"}
	f.failing[once] = &failSpec{n: 1, msg: "The source recovery point does not exist"}
	c, sum := runQuota(t, f, st, targets, 10)
	counts, last := c.Progress.CopyCounts()
	if len(counts) != 2 || last.IsZero() {
		t.Fatalf("counts %+v, last completion %v; want v0 and v1, EBS", counts, last)
	}
	want := map[string]progress.CopyCounts{
		"v0": {CopyKey: progress.CopyKey{Vault: "v0", ResourceType: "EBS"}, Started: 6, Completed: 6, Bytes: 6e9},
		"v1": {CopyKey: progress.CopyKey{Vault: "v1", ResourceType: "EBS"}, Started: 7, Completed: 5, Failed: 1, Retried: 1, Bytes: 5e9},
	}
	var started, completed, failed int64
	for _, got := range counts {
		if got != want[got.Vault] {
			t.Errorf("%s: %+v, want %+v", got.Vault, got, want[got.Vault])
		}
		started, completed, failed = started+got.Started, completed+got.Completed, failed+got.Failed
	}
	if started != sum.Started || completed != sum.CompletedNow || failed != sum.Failed {
		t.Errorf("counted %d started, %d completed, %d failed; the summary says %d, %d, %d", started, completed, failed, sum.Started, sum.CompletedNow, sum.Failed)
	}
	snap := c.Progress.Copy()
	if len(snap.Vaults) != 2 || snap.Vaults[0].Vault != "v0" || snap.Vaults[1].InFlight != 0 || snap.Vaults[0].Cap != 0 || snap.MaxCap != 10 {
		t.Errorf("vault slots after the run %+v, ceiling %d; want v0 and v1, none in flight, no vault cap, ceiling 10", snap.Vaults, snap.MaxCap)
	}
}
