package copier

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// With no copy record open, Preview counts in one scan instead of
// building the schedule; both must give the same summary.
func TestPreviewCountEqualsSchedule(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := st.NewBatch(state.EpochDecision)
	var recs []*state.CopyRecord
	for i := range 300 {
		vault := []string{"ready", "blocked", "unmapped"}[i%3]
		rp := &state.RP{Arn: fmt.Sprintf("arn:rp:%04d", i), Vault: vault, ResourceArn: fmt.Sprintf("arn:res:%d", i%17),
			ResourceType: "EBS", Status: "COMPLETED", CreationDate: now.Add(-time.Duration(i) * time.Hour), Size: int64(i) * 1e6}
		switch i % 5 {
		case 0, 1, 2:
			rp.Decision = &state.Decision{Outcome: state.Included, Reason: "ok"}
		case 3:
			rp.Decision = &state.Decision{Outcome: state.Excluded, Reason: "no"}
		}
		if i%7 == 0 && rp.Decision != nil && rp.Decision.Outcome == state.Included {
			rp.Copy = state.CopyingRP
			recs = append(recs, &state.CopyRecord{Vault: vault, Arn: rp.Arn, State: []string{state.CopyCompleted, state.CopyFailed}[i%2],
				Attempt: 1, ResourceArn: rp.ResourceArn, ResourceType: "EBS", Size: rp.Size, Created: rp.CreationDate, IntentAt: now})
		}
		if err := b.Put(rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	targets := map[string]Target{"ready": {Arn: "arn:dest:ready", Ready: true}, "blocked": {Arn: "arn:dest:blocked", Reason: "locked"}}
	clock := func() time.Time { return now }
	fast := &Copier{Store: st, Targets: targets, Now: clock}
	got, err := fast.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The same from the caller's counts (the decide pass's aggregate), without a scan.
	agg := pendingOf(t, st)
	fromAgg := &Copier{Store: st, Targets: targets, Now: clock, Pending: agg}
	gotAgg, err := fromAgg.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	full := &Copier{Store: st, Targets: targets, Now: clock}
	full.init()
	open, _, err := full.loadRecords()
	if err != nil || len(open) != 0 {
		t.Fatalf("open records %d, %v", len(open), err)
	}
	if err := full.loadRPs(context.Background(), open); err != nil {
		t.Fatal(err)
	}
	if err := full.finishPreview(now); err != nil {
		t.Fatal(err)
	}
	want := full.sum
	if got.Queued == 0 || got.Waiting == 0 || got.Completed == 0 || got.Failed == 0 {
		t.Fatalf("fixture too thin: %+v", got)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counted preview differs from the schedule's:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(gotAgg, want) {
		t.Fatalf("preview from the aggregate differs from the schedule's:\n got %+v\nwant %+v", gotAgg, want)
	}
	if g, w := copyTotal(fromAgg), copyTotal(full); g != w {
		t.Fatalf("progress copy total from the aggregate %v, want %v", g, w)
	}
	if g, w := copyTotal(fast), copyTotal(full); g != w {
		t.Fatalf("progress copy total %v, want %v", g, w)
	}
}

// pendingOf counts the included RPs not queued or copied yet, by vault,
// the way the decide pass's aggregate does (Copier.Pending).
func pendingOf(t *testing.T, st *state.Store) map[string]*[2]int64 {
	t.Helper()
	out := map[string]*[2]int64{}
	err := st.ScanRPs(func(rp *state.RP) error {
		if rp.Copy == state.CopyPending && rp.Decision != nil && rp.Decision.Outcome == state.Included {
			p := out[rp.Vault]
			if p == nil {
				p = &[2]int64{}
				out[rp.Vault] = p
			}
			p[0]++
			p[1] += rp.Size
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func copyTotal(c *Copier) [2]int64 {
	s := c.Progress.Copy()
	return [2]int64{s.Total, s.BytesTotal}
}
