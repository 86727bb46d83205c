package plan

import (
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// ListedTally is what the listing of a cold plan counts as it joins and
// decides each RP (ListingDecider): the enrich counts, the decide counts
// and the plan aggregate that the enrich and decide steps would
// otherwise compute with a scan each of the whole state, once the
// listing is over.
//
// It stands in for those scans only when it is complete: the state
// held no RP when the run began, every page went through the listing's
// decider (inventory.ListingDecider.LiveCount), every RP listed got a decision there, and
// no RP was counted twice. Partitions of one vault overlap at their
// date bounds, so two pages may both add an RP near a bound; such RPs
// are the ones the page looked up (PageOptions.MayExist), and the tally
// remembers their ARNs to catch a second sighting. Anything else makes
// it incomplete, and the steps scan as before.
type ListedTally struct {
	mu         sync.Mutex
	table      *metadata.Table
	now        time.Time // the listing's decision time
	revsKey    string    // the vault revisions it decided with
	n          int64     // RPs counted
	agg        *Aggregate
	dec        DecideSummary
	enr        EnrichSummary
	used       map[string]bool // resources with a metadata row and an RP
	lookedUp   map[string]bool // ARNs of RPs a page looked up
	minCold    time.Time       // the earliest MoveToColdAt after now
	incomplete bool
	// keysUnknown: some RP was decided without knowing who manages
	// its key (the next command asks KMS again).
	keysUnknown bool
}

func newListedTally(t *metadata.Table, now time.Time) *ListedTally {
	return &ListedTally{table: t, now: now, agg: NewAggregate(), used: map[string]bool{}, lookedUp: map[string]bool{}}
}

// listedWorker is one listing worker's share of the tally, merged when
// the worker ends.
type listedWorker struct {
	t          *ListedTally
	n          int64
	agg        *Aggregate
	dec        DecideSummary
	enr        EnrichSummary
	used       map[string]bool
	minCold    time.Time
	incomplete bool
}

func (t *ListedTally) worker() *listedWorker {
	return &listedWorker{t: t, agg: NewAggregate(), used: map[string]bool{}}
}

// add counts rp as saved with its decision. lookedUp is PageOptions'
// (an RP another page may also have added). A nil worker counts
// nothing.
func (w *listedWorker) add(rp *state.RP, lookedUp bool) {
	if w == nil {
		return
	}
	if rp.Decision == nil || w.incomplete {
		w.incomplete = true
		return
	}
	if lookedUp && !w.t.firstSighting(rp.Arn) {
		w.incomplete = true
		return
	}
	w.n++
	w.agg.Add(rp)
	w.dec.count(rp)
	if w.t.table != nil {
		w.enr.tally(w.t.table, rp.ResourceArn, w.used)
	}
	if c := rp.MoveToColdAt; c != nil && c.After(w.t.now) && (w.minCold.IsZero() || c.Before(w.minCold)) {
		w.minCold = *c
	}
}

// fail marks the tally incomplete: an RP was left to the decide pass.
func (w *listedWorker) fail() {
	if w != nil {
		w.incomplete = true
	}
}

func (t *ListedTally) firstSighting(arn string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lookedUp[arn] {
		return false
	}
	setKey(t.lookedUp, arn)
	return true
}

// merge adds a finished worker's share.
func (w *listedWorker) merge() {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.incomplete = t.incomplete || w.incomplete
	t.n += w.n
	t.agg.Merge(w.agg)
	t.dec.Included += w.dec.Included
	t.dec.Excluded += w.dec.Excluded
	t.dec.Ineligible += w.dec.Ineligible
	t.dec.Failed += w.dec.Failed
	t.enr.Matched += w.enr.Matched
	t.enr.Unmatched += w.enr.Unmatched
	t.enr.Conflicts += w.enr.Conflicts
	for k := range w.used {
		t.used[k] = true
	}
	if !w.minCold.IsZero() && (t.minCold.IsZero() || w.minCold.Before(t.minCold)) {
		t.minCold = w.minCold
	}
}

// complete reports whether the tally stands for the whole state
// (see ListedTally). The workers have all merged by then.
func (t *ListedTally) complete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.incomplete
}

// enrichSummary is what EnrichCounts would report.
func (t *ListedTally) EnrichSummary() EnrichSummary {
	sum := t.enr
	if t.table != nil {
		sum.Rows, sum.Resources = t.table.Rows, t.table.Len()
		sum.RowsWithoutRPs = t.table.Len() - len(t.used)
	}
	return sum
}

// wentCold reports whether an RP counted reached its cold-storage date
// after the listing decided it and by now: the decide pass would decide
// it again, so the tally cannot stand in for it.
func (t *ListedTally) wentCold(now time.Time) bool {
	return !t.minCold.IsZero() && !t.minCold.After(now)
}
