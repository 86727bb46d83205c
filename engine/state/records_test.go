package state

import (
	"fmt"
	"testing"
	"time"
)

// SavePageWith runs Prepare outside the page's transaction: a write
// that lands while a policy runs (here another page listing the same RP
// with other fields, from inside Prepare) is merged, and the RP is
// prepared again on the record as it now is. When Prepare ran inside
// the transaction, that write made the page's commit fail with a
// conflict.
func TestSavePagePreparesOutsideTransaction(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rp := func(arn string, size int64) *RP {
		return &RP{Arn: arn, Vault: "v", ResourceArn: "r-" + arn, Status: "COMPLETED", Size: size, CreationDate: now.Add(-time.Hour)}
	}
	p1 := &Partition{Vault: "v", ID: "p1", Generation: 1}
	p2 := &Partition{Vault: "v", ID: "p2", Generation: 1}
	prepared := map[string]int{}
	sawSize := map[string][]int64{}
	other := false
	res, err := st.SavePageWith(p1, []*RP{rp("a", 10), rp("b", 20)}, now, PageOptions{
		Prepare: func(r *RP, lookedUp bool) error {
			prepared[r.Arn]++
			sawSize[r.Arn] = append(sawSize[r.Arn], r.Size)
			if r.Arn == "b" && !other {
				// Another page lists b meanwhile, with a new size.
				other = true
				if _, err := st.SavePage(p2, []*RP{rp("b", 25)}, now); err != nil {
					return err
				}
			}
			r.Decision = &Decision{Outcome: Included, Reason: "prepared", At: now}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("SavePageWith: %v", err)
	}
	// a is new; b was written by the other page as new, so this page
	// changes it (20 against 25) and prepares it again.
	if res.New != 1 || res.Changed != 1 {
		t.Errorf("result = %+v, want 1 new and 1 changed", res)
	}
	if prepared["a"] != 1 || prepared["b"] != 2 {
		t.Errorf("prepared %v, want a once and b twice", prepared)
	}
	got, ok, err := st.GetRP("v", "b")
	if err != nil || !ok {
		t.Fatalf("GetRP b: %v %v", ok, err)
	}
	if got.Size != 20 || got.Decision == nil || got.Decision.Reason != "prepared" {
		t.Errorf("b = size %d, decision %+v; want the page's size 20, prepared", got.Size, got.Decision)
	}
	if p, ok := partCursor(t, st, "p1"); !ok || p.UpdatedAt.IsZero() {
		t.Errorf("the cursor of p1 was not saved")
	}
}

func partCursor(t *testing.T, st *Store, id string) (*Partition, bool) {
	parts, err := st.Partitions("v")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if p.ID == id {
			return p, true
		}
	}
	return nil, false
}

// BenchmarkSavePageWith saves pages of 100 new RPs with a Prepare that
// decides each: cold (MayExist false: nothing looked up, as in a vault
// the state has never seen) and looked up (every RP read first).
func BenchmarkSavePageWith(b *testing.B) {
	for _, lookup := range []bool{false, true} {
		b.Run(map[bool]string{false: "cold", true: "lookedup"}[lookup], func(b *testing.B) {
			st, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			o := PageOptions{Prepare: func(r *RP, _ bool) error {
				r.Decision = &Decision{Outcome: Included, Reason: "APMID APM0001234 is allowed", At: now}
				return nil
			}}
			if !lookup {
				o.MayExist = func(*RP) bool { return false }
			}
			part := &Partition{Vault: "v", ID: "p", Generation: 1}
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				rps := make([]*RP, 100)
				for i := range rps {
					n++
					arn := "arn:aws:backup:us-east-1:111111111111:recovery-point:" + itoa(n)
					rps[i] = &RP{Arn: arn, Vault: "v", ResourceArn: "arn:aws:ec2:us-east-1:111111111111:volume/vol-" + itoa(n), Status: "COMPLETED", Size: 1 << 30, CreationDate: now}
				}
				if _, err := st.SavePageWith(part, rps, now, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string { return fmt.Sprintf("%08d", n) }
