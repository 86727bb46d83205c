package inventory

import (
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// A delta starts at the high-water mark less the margin, or earlier at
// the oldest RP still CREATING; a vault that never held an RP starts
// from its last full listing.
func TestDeltaFrom(t *testing.T) {
	inv := &Inventory{Delta: DeltaOptions{Margin: 2 * time.Hour}}
	hw := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		marks state.ListingMarks
		want  time.Time
	}{
		{"high water", state.ListingMarks{HighWater: hw}, hw.Add(-2 * time.Hour)},
		{"open RP older", state.ListingMarks{HighWater: hw, OpenFrom: hw.Add(-72 * time.Hour)}, hw.Add(-72 * time.Hour)},
		{"open RP within the margin", state.ListingMarks{HighWater: hw, OpenFrom: hw.Add(-time.Hour)}, hw.Add(-2 * time.Hour)},
		{"empty vault", state.ListingMarks{ReconciledAt: hw}, hw.Add(-2 * time.Hour)},
	}
	for _, c := range cases {
		if got := inv.deltaFrom(&state.Vault{Marks: c.marks}); !got.Equal(c.want) {
			t.Errorf("%s: from %v, want %v", c.name, got, c.want)
		}
	}
	p := &state.Partition{}
	notePage(p, []*state.RP{
		{Status: "COMPLETED", CreationDate: hw},
		{Status: "CREATING", CreationDate: hw.Add(-5 * time.Hour)},
		{Status: "SOMETHING_NEW", CreationDate: hw.Add(-3 * time.Hour)},
		{Status: "DELETING", CreationDate: hw.Add(-9 * time.Hour)},
	})
	if p.HighWater != hw.Unix() || p.OpenFrom != hw.Add(-5*time.Hour).Unix() {
		t.Errorf("page marks: high water %d, open from %d; want %d and the CREATING one's %d", p.HighWater, p.OpenFrom, hw.Unix(), hw.Add(-5*time.Hour).Unix())
	}
}

// The count agrees when AWS's count, less the offset the last full
// listing found, lies between the live RPs less those that may have gone
// (expired) or been made after AWS counted, and the live RPs.
func TestCountAgrees(t *testing.T) {
	c := state.VaultCount{Live: 100, Expired: 3, Recent: 2}
	for _, x := range []struct {
		n, offset int64
		want      bool
	}{
		{100, 0, true}, {95, 0, true}, {94, 0, false}, {101, 0, false},
		{105, 5, true}, {99, -1, true}, {106, 5, false},
	} {
		v := &state.Vault{NumberOfRecoveryPoints: x.n, Marks: state.ListingMarks{CountOffset: x.offset}}
		if got := countAgrees(v, c); got != x.want {
			t.Errorf("count %d, offset %d: agrees %v, want %v", x.n, x.offset, got, x.want)
		}
	}
}
