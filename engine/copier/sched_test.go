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

// A policy's priority orders the chains after the expiring ones, and a
// resource's own RPs: higher first, then oldest first.
func TestScheduleHonoursPriorities(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	v := &vaultSched{name: "v", cap: 100}
	s := &sched{vaults: []*vaultSched{v}}
	item := func(name string, prio int, created int64, expires time.Time) *copyItem {
		it := &copyItem{arn: name, dest: v, est: 10, priority: prio, created: created}
		if !expires.IsZero() {
			it.expires = expires.UnixNano()
		}
		return it
	}
	chainOf := func(name string, items ...*copyItem) *chain {
		c := &chain{resource: name, items: items, heapIdx: -1, waitIdx: -1}
		for _, it := range items {
			c.remaining += it.est
		}
		c.sortRest()
		return c
	}
	long := chainOf("long", item("l1", 0, 1, time.Time{}), item("l2", 0, 2, time.Time{}), item("l3", 0, 3, time.Time{}))
	vip := chainOf("vip", item("v-old", 0, 1, time.Time{}), item("v-new", 5, 2, time.Time{}))
	expiring := chainOf("expiring", item("e1", -5, 1, now.Add(time.Hour)))
	if vip.head().arn != "v-new" {
		t.Fatalf("the resource's higher-priority RP is not first: %s", vip.head().arn)
	}
	for _, c := range []*chain{long, vip, expiring} {
		s.park(c, now)
	}
	var got []string
	for c := s.pick(); c != nil; c = s.pick() {
		got = append(got, c.resource)
	}
	if len(got) != 3 || got[0] != "expiring" || got[1] != "vip" || got[2] != "long" {
		t.Fatalf("order %v, want expiring (its delete date), vip (priority 5), then long (most work)", got)
	}
}
