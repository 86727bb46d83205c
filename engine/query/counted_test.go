package query

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// randomStore holds n RPs in three vaults with random types, APMIDs,
// decisions, creation times and copy states.
func randomStore(t *testing.T, n int) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rng := rand.New(rand.NewSource(5))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	byVault := map[string][]*state.RP{}
	for i := 0; i < n; i++ {
		v := []string{"prod-ebs", "prod-rds", "dev"}[rng.Intn(3)]
		rp := &state.RP{Arn: fmt.Sprintf("arn:rp:%06d", i), Vault: v, ResourceArn: fmt.Sprintf("arn:res:%d", rng.Intn(50)),
			ResourceType: []string{"EBS", "RDS", "EC2"}[rng.Intn(3)], Status: "COMPLETED", Size: int64(rng.Intn(1 << 20)),
			CreationDate: now.Add(-time.Duration(rng.Intn(400*24*60)) * time.Minute)}
		if rng.Intn(5) > 0 {
			rp.Meta = &state.Meta{Fields: map[string]string{"apmid": fmt.Sprintf("APM%d", rng.Intn(6)), "owner": "ops"}}
		}
		switch rng.Intn(5) {
		case 0:
		case 1:
			rp.Decision = &state.Decision{Outcome: state.Excluded, Rule: "policy:apmid", Reason: "APMID not allowed", At: now}
		case 2:
			rp.Decision = &state.Decision{Outcome: state.Ineligible, Rule: "engine:cold-storage", Reason: "in cold storage", At: now}
		default:
			rp.Decision = &state.Decision{Outcome: state.Included, Rule: "policy:apmid", Reason: "APMID allowed", At: now}
		}
		byVault[v] = append(byVault[v], rp)
	}
	var recs []*state.CopyRecord
	for v, list := range byVault {
		if _, err := st.SavePage(&state.Partition{Vault: v, ID: "p", Generation: 1}, list, now); err != nil {
			t.Fatal(err)
		}
		for _, rp := range list {
			if rp.Decision != nil && rp.Decision.Outcome == state.Included && rng.Intn(2) == 0 {
				recs = append(recs, &state.CopyRecord{Vault: v, Arn: rp.Arn, State: state.CopyIntent, Token: "t" + rp.Arn, Size: rp.Size})
			}
		}
	}
	if err := st.PutIntents(recs); err != nil {
		t.Fatal(err)
	}
	for i, c := range recs {
		switch i % 4 {
		case 0:
			c.State = state.CopyCompleted
		case 1:
			c.State, c.Reason, c.Category = state.CopyFailed, "AccessDeniedException: no", "access"
		case 2:
			c.State = state.CopyRunning
		}
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func both[T any](t *testing.T, fn func() (T, error)) (counted, scanned T) {
	t.Helper()
	var err error
	if counted, err = fn(); err != nil {
		t.Fatal(err)
	}
	scanOnly = true
	defer func() { scanOnly = false }()
	if scanned, err = fn(); err != nil {
		t.Fatal(err)
	}
	return counted, scanned
}

type recorder struct{ whys []string }

func (r *recorder) ScanStart(why string, total int64) { r.whys = append(r.whys, why) }
func (r *recorder) Scanned(int64)                     {}

// Every count and group the counters answer equals the scan's answer,
// and the counters answer without a scan (no ScanStart); questions
// they cannot answer say why they scan.
func TestCountersAnswerAsAScanDoes(t *testing.T) {
	st := randomStore(t, 3000)
	rec := &recorder{}
	ctx := WithScanReporter(context.Background(), rec)
	filters := []map[string]string{
		{}, {"vault": "prod-ebs"}, {"status": "queued"}, {"vault": "dev", "status": "completed,failed"},
		{"resource_type": "RDS", "outcome": "included"}, {"apmid": "APM3"}, {"apmid": "APM2", "status": "running"},
		{"reason": "access"}, {"reason": "allowed", "vault": "dev"}, {"rule": "cold"},
		{"created_after": "2026-01-01", "created_before": "2026-03-01"}, {"created_before": "2025-09-01", "status": "queued"},
		{"outcome": "excluded"}, {"status": "undecided"},
	}
	for _, fields := range filters {
		f, err := ParseFilter(fields)
		if err != nil {
			t.Fatal(err)
		}
		rec.whys = nil
		c, s := both(t, func() (int64, error) { return Count(ctx, st, f) })
		if c != s {
			t.Errorf("count%v: counters %d, scan %d", fields, c, s)
		}
		if len(rec.whys) != 1 { // only the scan-only pass scanned
			t.Errorf("count%v scanned with the counters on: %v", fields, rec.whys)
		}
		for _, by := range GroupKeys {
			if _, why := cubeFor(f, by); why != "" {
				continue
			}
			cg, sg := both(t, func() ([]Group, error) { return GroupBy(ctx, st, f, by) })
			sort.Slice(cg, func(i, j int) bool { return cg[i].Key < cg[j].Key })
			sort.Slice(sg, func(i, j int) bool { return sg[i].Key < sg[j].Key })
			if !reflect.DeepEqual(cg, sg) {
				t.Errorf("group%v by %s: counters %v, scan %v", fields, by, cg, sg)
			}
		}
		rows, n, err := Find(ctx, st, f, 5)
		if err != nil {
			t.Fatal(err)
		}
		if n != s || int64(len(rows)) != min(5, s) {
			t.Errorf("find%v: %d rows of %d, want %d of %d", fields, len(rows), n, min(5, s), s)
		}
		for _, r := range rows {
			if !f.Match(r.RP, r.Copy) {
				t.Errorf("find%v returned %s, which does not match", fields, r.RP.Arn)
			}
		}
	}
	// Questions no cube holds scan, and say why.
	for _, fields := range []map[string]string{{"owner": "ops"}, {"apmid": "APM1", "reason": "allowed"}, {"created_after": "2026-01-01 10:30"}} {
		f, _ := ParseFilter(fields)
		rec.whys = nil
		if _, err := Count(ctx, st, f); err != nil {
			t.Fatal(err)
		}
		if len(rec.whys) != 1 || rec.whys[0] == "" {
			t.Errorf("count%v: scan reasons %q, want one", fields, rec.whys)
		}
	}
	rec.whys = nil
	if _, err := GroupBy(ctx, st, Filter{}, "owner"); err != nil || len(rec.whys) != 1 {
		t.Errorf("group by a metadata column: %v, scan reasons %q", err, rec.whys)
	}
}
