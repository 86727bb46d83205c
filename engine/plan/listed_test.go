package plan

import (
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

func tallyRP(arn string, cold *time.Time) *state.RP {
	return &state.RP{Arn: arn, Vault: "v", ResourceArn: "r-" + arn, ResourceType: "EBS", Copy: state.CopyPending, MoveToColdAt: cold,
		Decision: &state.Decision{Outcome: state.Included}}
}

// The tally stands in for the scans only when it saw every RP once,
// each with a decision, and none has gone cold since.
func TestListedTallyCompleteness(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	soon := now.Add(time.Hour)

	tl := newListedTally(nil, now)
	a, b := tl.worker(), tl.worker()
	a.add(tallyRP("1", nil), false)
	a.add(tallyRP("2", &soon), true)
	b.add(tallyRP("3", nil), true)
	a.merge()
	b.merge()
	if !tl.complete() || tl.n != 3 || tl.dec.Included != 3 {
		t.Fatalf("three distinct RPs: complete %v, n %d, %+v", tl.complete(), tl.n, tl.dec)
	}
	if tl.wentCold(now.Add(time.Minute)) || !tl.wentCold(soon) {
		t.Error("wentCold must answer true once the earliest cold date has passed, and only then")
	}

	// An RP near a partition bound, added by two pages.
	tl = newListedTally(nil, now)
	a, b = tl.worker(), tl.worker()
	a.add(tallyRP("1", nil), true)
	b.add(tallyRP("1", nil), true)
	a.merge()
	b.merge()
	if tl.complete() {
		t.Error("an RP counted twice left the tally complete")
	}

	// An RP left to the decide pass.
	tl = newListedTally(nil, now)
	a = tl.worker()
	a.add(tallyRP("1", nil), false)
	a.fail()
	a.merge()
	if tl.complete() {
		t.Error("an RP left undecided left the tally complete")
	}
	tl = newListedTally(nil, now)
	a = tl.worker()
	undecided := tallyRP("1", nil)
	undecided.Decision = nil
	a.add(undecided, false)
	a.merge()
	if tl.complete() {
		t.Error("an RP without a decision left the tally complete")
	}
}
