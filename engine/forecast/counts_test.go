package forecast

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The counts by vault and type sum to the status's counts by state, and
// the counters give the same breakdown as a scan of every record.
func TestReadCountsBreaksTheStatusDown(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := forecastFixture(t, now)
	ctx := context.Background()
	s, counts, err := ReadCounts(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	sum, bytes := map[string]int64{}, map[string]int64{}
	for _, c := range counts {
		if c.Vault != "v" || (c.ResourceType != "EBS" && c.ResourceType != "S3") {
			t.Errorf("count of an unknown vault or type: %+v", c)
		}
		sum[c.State] += c.RecoveryPoints
		bytes[c.State] += c.Bytes
	}
	for _, k := range StatusStates {
		if sum[k] != s.States[k] || bytes[k] != s.BytesByState[k] {
			t.Errorf("%s: the breakdown sums to %d (%d B), the status says %d (%d B)", k, sum[k], bytes[k], s.States[k], s.BytesByState[k])
		}
	}
	want := StateCount{Vault: "v", ResourceType: "S3", State: query.Queued, RecoveryPoints: 3, Bytes: 3e9}
	found := false
	for _, c := range counts {
		found = found || c == want
	}
	if !found || s.States[state.CopyCompleted] != 40 {
		t.Errorf("want %+v among %+v", want, counts)
	}
	scanOnly = true
	_, scanned, err := ReadCounts(ctx, st, now)
	scanOnly = false
	if err != nil || !reflect.DeepEqual(scanned, counts) {
		t.Errorf("from a scan (%v):\n%+v\nfrom the counters:\n%+v", err, scanned, counts)
	}
}
