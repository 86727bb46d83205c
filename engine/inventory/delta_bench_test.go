package inventory_test

// BenchmarkDeltaListing measures what a delta listing saves: on a state
// holding the whole source (SHUFFLE_BENCH_DELTA_RPS RPs, default
// 100,000), a day of the live estate adds about 1% new RPs, and the
// delta that picks them up is compared with the full listing that made
// the state, in AWS calls of every kind (both accounts), pages and wall
// time. make bench-delta runs it at a million.

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func totalCalls(env *testenvtest.Env) int64 {
	var n int64
	for _, c := range env.Counters().Snapshot().Calls {
		n += c
	}
	return n
}

func BenchmarkDeltaListing(b *testing.B) {
	n := 100000
	if v := os.Getenv("SHUFFLE_BENCH_DELTA_RPS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("SHUFFLE_BENCH_DELTA_RPS=%q: %v", v, err)
		}
	}
	// A tick with every resource live adds about 13% of the seed; this
	// share of them makes about 1%.
	env := testenvtest.Start(b, testenv.Options{RecoveryPoints: n, CopySpeed: 1e6, Live: &testenv.LiveOptions{Share: 0.075}})
	src := backup.NewFromConfig(env.Config(b, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(b, testenv.ProfileDestination))
	for i := 0; i < b.N; i++ {
		st := openStore(b)
		inv := &inventory.Inventory{Store: st, Source: src, Destination: dst}
		calls := totalCalls(env)
		t0 := time.Now()
		full, err := inv.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		fullTime, fullCalls := time.Since(t0), totalCalls(env)-calls
		time.Sleep(1100 * time.Millisecond) // a day is at least a second
		day := env.LiveTick()
		calls = totalCalls(env)
		t0 = time.Now()
		delta, err := inv.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		deltaTime, deltaCalls := time.Since(t0), totalCalls(env)-calls
		if delta.New != int64(day.Created) || len(delta.Reconciled) != 0 {
			b.Fatalf("the delta found %d new (the day made %d) and listed %d vaults whole", delta.New, day.Created, len(delta.Reconciled))
		}
		b.ReportMetric(float64(full.RecoveryPoints), "rps")
		b.ReportMetric(100*float64(day.Created)/float64(full.RecoveryPoints), "new-%")
		b.ReportMetric(float64(fullCalls), "full-calls")
		b.ReportMetric(float64(deltaCalls), "delta-calls")
		b.ReportMetric(100*float64(deltaCalls)/float64(fullCalls), "calls-%")
		b.ReportMetric(float64(full.ListedPages), "full-pages")
		b.ReportMetric(float64(delta.ListedPages), "delta-pages")
		b.ReportMetric(fullTime.Seconds(), "full-s")
		b.ReportMetric(deltaTime.Seconds(), "delta-s")
		b.Logf("%s, %d CPUs: %d RPs in %d vaults; full listing %d calls (%d pages) in %v; a day later +%d RPs (%.2f%%): delta %d calls (%d pages) in %v = %.2f%% of the calls",
			time.Now().UTC().Format(time.DateOnly), runtime.NumCPU(), full.RecoveryPoints, full.Vaults, fullCalls, full.ListedPages, fullTime.Round(time.Millisecond),
			day.Created, 100*float64(day.Created)/float64(full.RecoveryPoints), deltaCalls, delta.ListedPages, deltaTime.Round(time.Millisecond), 100*float64(deltaCalls)/float64(fullCalls))
	}
}
