package testenv

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestListPageIndexMatchesScan: a page filtered by resource type, read
// through the vault's type index, is the page the plain scan gives (the
// same RPs and the same next index), for every type, with and without
// date bounds, from many starting points, with small and large limits,
// and with some RPs deleted.
func TestListPageIndexMatchesScan(t *testing.T) {
	w, _ := seedForTest(t, 60000, 11)
	r := rand.New(rand.NewPCG(1, 1))
	// One vault larger than a page's scan bound, types mixed at random,
	// so that pages stop at the bound.
	big := &Vault{Name: "big", Account: SourceAccount}
	w.addVault(big)
	for i := range 3*scanBound + 123 {
		typ := []string{"EBS", "RDS", "S3", "EFS"}[min(r.IntN(20), 3)]
		w.addRP(&RecoveryPoint{Arn: "arn:big:" + strconv.Itoa(i), VaultName: "big", Account: SourceAccount, ResourceType: typ,
			CreationDate: seedTestNow.Add(-time.Duration(r.IntN(500*24)) * time.Hour)})
	}
	for _, v := range sourceVaults(w) {
		for i, rp := range v.rps {
			if i%17 == 0 {
				rp.Deleted = true
			}
		}
	}
	checked, indexed, bounded := 0, 0, 0
	for _, v := range sourceVaults(w) {
		if len(v.byType) == 0 {
			continue
		}
		types := []string{"EBS", "RDS", "S3", "Timestream"} // Timestream: a type no RP has
		for typ := range v.byType {
			types = append(types, typ)
		}
		for _, typ := range types {
			for range 40 {
				f := rpFilter{resourceType: typ}
				if r.IntN(2) == 0 {
					f.after = seedTestNow.Add(-time.Duration(r.IntN(400*24)) * time.Hour)
				}
				if r.IntN(2) == 0 {
					f.before = seedTestNow.Add(-time.Duration(r.IntN(200*24)) * time.Hour)
				}
				start := r.IntN(len(v.rps) + 2)
				limit := []int{1, 7, 1000}[r.IntN(3)]
				got, gotNext := v.listPage(&f, start, limit)
				want, wantNext := v.listScan(&f, start, limit)
				if !slices.Equal(got, want) || gotNext != wantNext {
					t.Fatalf("vault %s, type %s, start %d, limit %d, after %v, before %v: index gives %d RPs, next %d; scan gives %d, next %d",
						v.Name, typ, start, limit, f.after, f.before, len(got), gotNext, len(want), wantNext)
				}
				checked++
				if len(got) < limit && gotNext < len(v.rps) {
					bounded++
				}
				if len(got) > 0 {
					indexed++
				}
			}
		}
	}
	if checked < 200 || indexed < checked/4 || bounded == 0 {
		t.Fatalf("compared %d pages, %d of them non-empty, %d cut short by the scan bound; want at least 200, a quarter non-empty, and some cut short", checked, indexed, bounded)
	}
}
