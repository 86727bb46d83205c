package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// The plan counted during the decide pass must equal the plan built by
// scanning the state afterwards.
func TestDecidePassAggregateEqualsScannedPlan(t *testing.T) {
	for _, fused := range []bool{false, true} {
		t.Run(map[bool]string{false: "enrich-then-decide", true: "join-in-decide"}[fused], func(t *testing.T) {
			testAggregate(t, fused)
		})
	}
}

func testAggregate(t *testing.T, fused bool) {
	env := testenv.Start(t, testenv.Options{RecoveryPoints: 1200})
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	st := openStore(t)
	ctx := context.Background()
	if _, err := (&engine.Inventory{Store: st, Source: src, Destination: dst}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	table, err := metadata.Read("metadata.csv", bytes.NewReader(env.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	if !fused {
		if _, err := engine.Enrich(ctx, st, table, "h1"); err != nil {
			t.Fatal(err)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	pol, err := luabind.LoadPolicies(luabind.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	d := &engine.Decider{Store: st, Policies: pol}
	if fused {
		d.Table = table
	}
	sum, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Agg == nil || sum.Redecided == 0 {
		t.Fatalf("a first decide pass must decide and aggregate: %+v", sum)
	}
	w, err := pol.NewWorker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	plans, err := engine.MapVaults(ctx, st, w)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fromAgg, err := d.Agg.Plan(ctx, plans, table, now)
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := engine.BuildPlan(ctx, st, plans, table, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromAgg)
	b, _ := json.Marshal(scanned)
	if !bytes.Equal(a, b) {
		t.Fatalf("aggregate plan differs from scanned plan:\n%s\n%s", a, b)
	}
	if scanned.Warnings.RPsWithoutMetadata == 0 || len(scanned.Warnings.Conflicts) == 0 {
		t.Fatalf("the join did not reach the RPs: %+v", scanned.Warnings)
	}
	if scanned.Totals.Included != sum.Included || scanned.Totals.RecoveryPoints == 0 {
		t.Fatalf("plan totals %+v disagree with the decide summary %+v", scanned.Totals, sum)
	}
}
