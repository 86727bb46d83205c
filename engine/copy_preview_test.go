package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The decide pass's aggregate (Aggregate.Pending) gives the copy
// preview the same summary and copy total as a scan of the state.
func TestPreviewFromAggregateEqualsScan(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := st.NewBatch(state.EpochDecision)
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
		if err := b.Put(rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	targets := map[string]copier.Target{"ready": {Arn: "arn:dest:ready", Ready: true}, "blocked": {Arn: "arn:dest:blocked", Reason: "locked"}}
	clock := func() time.Time { return now }
	scan := &copier.Copier{Store: st, Targets: targets, Now: clock}
	want, err := scan.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	agg := plan.NewAggregate()
	if err := st.ScanRPs(func(rp *state.RP) error { agg.Add(rp); return nil }); err != nil {
		t.Fatal(err)
	}
	fromAgg := &copier.Copier{Store: st, Targets: targets, Now: clock, Pending: agg.Pending()}
	got, err := fromAgg.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want.Queued == 0 || want.Waiting == 0 {
		t.Fatalf("fixture too thin: %+v", want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("preview from the aggregate differs from the scan's:\n got %+v\nwant %+v", got, want)
	}
	g, w := fromAgg.Progress.Copy(), scan.Progress.Copy()
	if [2]int64{g.Total, g.BytesTotal} != [2]int64{w.Total, w.BytesTotal} {
		t.Fatalf("progress copy total from the aggregate %d/%d, want %d/%d", g.Total, g.BytesTotal, w.Total, w.BytesTotal)
	}
}
