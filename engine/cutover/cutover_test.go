package cutover_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/cutover"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// fixture is a state with two source vaults: "a", listed after the
// cutover time, and "b", last listed before it; its RPs cover every
// case the report tells apart.
func fixture(t *testing.T, asOf, now time.Time) *state.Store {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	before, after := asOf.Add(-48*time.Hour), asOf.Add(time.Hour)
	past := now.Add(-time.Hour)
	type spec struct {
		vault, arn string
		created    time.Time
		outcome    string
		copy       string // "" none
		gone       bool
		deleteAt   *time.Time
	}
	specs := []spec{
		{"a", "done", before, state.Included, state.CopyCompleted, false, nil},
		{"a", "unverified", before, state.Included, state.CopyCompleted, false, nil},
		{"a", "queued", before, state.Included, "", false, nil},
		{"a", "failed", before, state.Included, state.CopyFailed, false, nil},
		{"a", "gone", before, state.Included, "", true, nil},
		{"a", "expired", before, state.Included, "", false, &past},
		{"a", "excluded", before, state.Excluded, "", false, nil},
		{"a", "new", after, state.Included, "", false, nil},
		{"a", "gone-but-copied", before, state.Included, state.CopyCompleted, true, nil},
		{"b", "b-done", before, state.Included, state.CopyCompleted, false, nil},
	}
	var recs []*state.CopyRecord
	for _, v := range []string{"a", "b"} {
		part := &state.Partition{Vault: v, ID: state.PartitionID("", 0), Generation: 1}
		var rps []*state.RP
		for _, s := range specs {
			if s.vault != v {
				continue
			}
			rp := &state.RP{Arn: s.arn, Vault: v, ResourceArn: "res-" + s.arn, ResourceType: "EBS", Status: "COMPLETED",
				CreationDate: s.created, Size: 1, DeleteAt: s.deleteAt, Decision: &state.Decision{Outcome: s.outcome}}
			rps = append(rps, rp)
			if s.copy != "" {
				rp.Copy = state.CopyingRP
				recs = append(recs, &state.CopyRecord{Vault: v, Arn: s.arn, State: s.copy, Attempt: 1, ResourceArn: rp.ResourceArn,
					ResourceType: "EBS", Size: 1, Created: s.created, IntentAt: now})
			}
		}
		if _, err := st.SavePage(part, rps, now); err != nil {
			t.Fatal(err)
		}
		b := st.NewBatch(state.EpochDecision)
		for _, rp := range rps {
			for _, s := range specs {
				if s.arn == rp.Arn {
					rp.Gone = s.gone
				}
			}
			if err := b.Put(rp); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		covered := asOf.Add(time.Minute)
		if v == "b" {
			covered = asOf.Add(-time.Minute)
		}
		if err := st.PutVault(&state.Vault{Side: state.Source, Name: v, InventoryDone: 1, Marks: state.ListingMarks{CoveredAt: covered}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCutoverSaysWhatIsMissingAndWhy(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	asOf := now.Add(-6 * time.Hour)
	st := fixture(t, asOf, now)
	rep := &verify.Report{Problems: []*verify.Problem{{SourceVault: "a", SourceRPArn: "unverified", Field: verify.Missing}}}
	got, err := cutover.Check(context.Background(), st, rep, asOf, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ready {
		t.Fatal("cutover ready with RPs missing")
	}
	byVault := map[string]*cutover.Vault{}
	for _, v := range got.Vaults {
		byVault[v.Vault] = v
	}
	a, b := byVault["a"], byVault["b"]
	// a: done, gone-but-copied verified; unverified, queued, failed, gone,
	// expired missing; excluded and new (created after as-of) not counted.
	if a == nil || !a.Covered || a.Included != 7 || a.Verified != 2 || a.Missing != 5 || a.Lost != 2 || a.Ready {
		t.Fatalf("vault a: %+v", a)
	}
	// b: everything verified, but last listed before as-of: not ready.
	if b == nil || b.Covered || b.Missing != 0 || b.Ready {
		t.Fatalf("vault b: %+v", b)
	}
	want := map[string]cutover.Why{"unverified": cutover.NotVerified, "queued": cutover.NotCopied, "failed": cutover.NotCopied, "gone": cutover.Lost, "expired": cutover.Lost}
	if len(got.Missing) != len(want) || got.MissingN != 5 {
		t.Fatalf("missing %d listed (%d counted), want %d", len(got.Missing), got.MissingN, len(want))
	}
	for _, m := range got.Missing {
		if want[m.Arn] != m.Why {
			t.Errorf("%s missing because %q, want %q", m.Arn, m.Why, want[m.Arn])
		}
		if m.Arn == "failed" && m.Status != state.CopyFailed {
			t.Errorf("failed RP's status %q", m.Status)
		}
	}

	// With nothing missing and every vault listed since, it is ready.
	later := asOf.Add(-72 * time.Hour)
	got, err = cutover.Check(context.Background(), st, &verify.Report{}, later, now)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Ready || got.Included != 0 {
		t.Fatalf("as of before every RP: %+v", got)
	}
}
