package state

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// requireCounters fails unless the counters equal a full scan.
func requireCounters(t *testing.T, st *Store, step string) *Summary {
	t.Helper()
	got, err := st.Summary()
	if err != nil {
		t.Fatalf("%s: Summary: %v", step, err)
	}
	want, err := st.CountByScan()
	if err != nil {
		t.Fatalf("%s: CountByScan: %v", step, err)
	}
	if d := SummaryDiff(got, want); len(d) > 0 {
		t.Fatalf("%s: counters differ from a scan in %d cells, first: %s", step, len(d), d[0])
	}
	if !got.FirstStart.Equal(want.FirstStart) || !got.LastCompletion.Equal(want.LastCompletion) {
		t.Fatalf("%s: job times %v..%v, scan %v..%v", step, got.FirstStart, got.LastCompletion, want.FirstStart, want.LastCompletion)
	}
	if d, err := st.forecastDiff(); err != nil || len(d) > 0 {
		t.Fatalf("%s: forecast entries differ from a scan (%v): %v", step, err, d)
	}
	return got
}

func totalN(s *Summary, cube Cube) int64 {
	var n int64
	for c, m := range s.Cells {
		if c.Cube == cube {
			n += m.N
		}
	}
	return n
}

// Every write path keeps the counters equal to a full scan: pages (new,
// changed, unchanged), decisions and metadata in batches, intents,
// adoption, copy transitions, requeues, gone RPs and reset decisions,
// through folds and a reopen.
func TestCountersEqualAScanThroughEveryWrite(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rng := rand.New(rand.NewSource(17))
	types := []string{"EBS", "RDS", "EC2"}
	mk := func(vault string, i int, size int64) *RP {
		return &RP{Arn: fmt.Sprintf("arn:rp:%s:%05d", vault, i), Vault: vault, ResourceArn: fmt.Sprintf("arn:res:%d", i%37),
			ResourceType: types[i%3], Status: "COMPLETED", Size: size, CreationDate: now.Add(-time.Duration(i) * 7 * time.Hour)}
	}
	var all []*RP
	for _, v := range []string{"va", "vb"} {
		part := &Partition{Vault: v, ID: "p", Generation: 1}
		var page []*RP
		for i := 0; i < 600; i++ {
			page = append(page, mk(v, i, int64(100+i)))
		}
		if _, err := st.SavePageWith(part, page, now, PageOptions{Prepare: func(rp *RP, _ bool) error {
			if rng.Intn(4) > 0 {
				rp.Decision = &Decision{Outcome: Included, Reason: "ok", Rule: "policy:apmid", At: now}
			}
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
	}
	s := requireCounters(t, st, "after listing")
	if n := totalN(s, CubeReasons); n != 1200 {
		t.Fatalf("counted %d RPs, want 1200", n)
	}

	// Listing again: some sizes change, the rest are unchanged.
	part := &Partition{Vault: "va", ID: "p", Generation: 2}
	var again []*RP
	for i := 0; i < 600; i++ {
		size := int64(100 + i)
		if i%10 == 0 {
			size += 5
		}
		again = append(again, mk("va", i, size))
	}
	if _, err := st.SavePage(part, again, now); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after a second listing")

	// Metadata and decisions in a batch (enrich, decide).
	b := st.NewBatch(EpochDecision)
	err = st.ScanRPs(func(rp *RP) error {
		rp.Meta = &Meta{Fields: map[string]string{"apmid": fmt.Sprintf("APM%d", rng.Intn(5))}}
		if rng.Intn(3) == 0 {
			delete(rp.Meta.Fields, "apmid")
		}
		switch rng.Intn(3) {
		case 0:
			rp.Decision = &Decision{Outcome: Included, Reason: "APMID allowed", Rule: "policy:apmid", At: now}
		case 1:
			rp.Decision = &Decision{Outcome: Excluded, Reason: "APMID not allowed", Rule: "policy:apmid", At: now}
		default:
			rp.Decision = &Decision{Outcome: Ineligible, Reason: "cold", Rule: "engine:status", At: now}
		}
		return b.Put(rp)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after deciding")

	// Copies: intents for some included RPs, then transitions.
	var recs []*CopyRecord
	err = st.ScanRPs(func(rp *RP) error {
		if rp.Decision.Outcome == Included && len(recs) < 300 {
			recs = append(recs, &CopyRecord{Vault: rp.Vault, Arn: rp.Arn, State: CopyIntent, Token: "t" + rp.Arn, ResourceArn: rp.ResourceArn,
				ResourceType: rp.ResourceType, Size: rp.Size + 1, IntentAt: now})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutIntents(recs); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after intents")
	for i, c := range recs {
		at := now.Add(time.Duration(i) * time.Minute)
		c.State, c.StartedAt = CopyRunning, &at
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after running")
	var failed []CopyKey
	for i, c := range recs {
		end := c.StartedAt.Add(time.Hour)
		switch i % 4 {
		case 0, 1:
			c.State, c.CompletedAt = CopyCompleted, &end
		case 2:
			c.State, c.Reason, c.Category = CopyFailed, fmt.Sprintf("AccessDenied: key %d", i), "access"
			failed = append(failed, CopyKey{Vault: c.Vault, Arn: c.Arn})
		default:
			c.State, c.Reason = CopyRetry, "Throttling: slow down"
		}
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after completions and failures")
	if _, err := st.RequeueCopies(failed[:len(failed)/2], now); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after a requeue")

	// Adoption of a completed copy the state did not start.
	var adopt *CopyRecord
	err = st.ScanRPs(func(rp *RP) error {
		if adopt == nil && rp.Copy == CopyPending {
			end := now.Add(48 * time.Hour)
			start := now.Add(-48 * time.Hour)
			adopt = &CopyRecord{Vault: rp.Vault, Arn: rp.Arn, State: CopyCompleted, ResourceType: "OTHER", Size: 7, StartedAt: &start, CompletedAt: &end}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAdopted([]*CopyRecord{adopt}); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after adoption")

	// Gone RPs and reset decisions.
	if _, err := st.MarkGone("vb", 2, time.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after marking gone")
	if _, err := st.ResetDecisions("va"); err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after resetting decisions")

	// Folding keeps the sums; so does a reopen.
	if err := st.foldSummary(); err != nil {
		t.Fatal(err)
	}
	if s := requireCounters(t, st, "after a fold"); s.Deltas != 0 {
		t.Fatalf("%d deltas after a fold, want 0", s.Deltas)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	requireCounters(t, st, "after a reopen")
	_ = all
}

// A state made before the counters gets them on its first read-write
// open, from a scan; a read-only open of it says it keeps none.
func TestCountersAreBuiltForAnOlderState(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fillTestState(t, st, 250)
	// What an older shuffle left: records, no counters.
	if err := st.deletePrefix(prefixSummary); err != nil {
		t.Fatal(err)
	}
	st.sum.off = true // keep Close from folding
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Summary(); err != ErrNoSummary {
		t.Fatalf("read-only Summary of an older state: %v, want ErrNoSummary", err)
	}
	ro.Close()
	var notices []string
	st, err = OpenWith(dir, Options{Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(notices) != 1 || !strings.Contains(notices[0], "building the counters") {
		t.Errorf("notices while building the counters: %q, want one that says so", notices)
	}
	if s := requireCounters(t, st, "after the first read-write open"); totalN(s, CubeReasons) != 250 {
		t.Fatalf("counted %d RPs, want 250", totalN(s, CubeReasons))
	}
}
