package copier

import (
	"testing"
	"time"
)

// A chain whose next RP's source is deleted within UrgentWithin leaves
// the ready heap before a chain with more work; one deleted later does
// not.
func TestScheduleTakesTheExpiringFirst(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	v := &vaultSched{name: "v", cap: 100}
	s := &sched{vaults: []*vaultSched{v}}
	mk := func(name string, work float64, expires time.Time) *chain {
		it := &copyItem{arn: name, dest: v, est: work}
		if !expires.IsZero() {
			it.expires = expires.UnixNano()
		}
		return &chain{resource: name, items: []*copyItem{it}, remaining: work, heapIdx: -1, waitIdx: -1}
	}
	long := mk("long", 1000, time.Time{})
	later := mk("later", 500, now.Add(30*24*time.Hour))
	soon := mk("soon", 1, now.Add(5*time.Hour))
	for _, c := range []*chain{long, later, soon} {
		s.park(c, now)
	}
	var got []string
	for c := s.pick(); c != nil; c = s.pick() {
		got = append(got, c.resource)
	}
	if len(got) != 3 || got[0] != "soon" || got[1] != "long" || got[2] != "later" {
		t.Fatalf("order %v, want soon (expiring), then long, then later", got)
	}
}
