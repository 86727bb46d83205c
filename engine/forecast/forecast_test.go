package forecast

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestFitLineRecoversAnExactModel(t *testing.T) {
	var s typeSums
	for _, size := range []int64{1e9, 5e9, 20e9, 100e9, 400e9} {
		s.add(size, 120+float64(size)/60e6)
	}
	a, c, ok := s.fit.Line()
	if !ok || !near(a, 120, 1e-6) || !near(1/c, 60e6, 1e-6) {
		t.Fatalf("fit = %v s + size / %v B/s (ok %v); want 120 s + size / 60e6", a, 1/c, ok)
	}
	if r := math.Sqrt(s.fit.SSE(a, c) / float64(s.n())); r > 1e-3 {
		t.Errorf("rmse of an exact fit = %v", r)
	}

	// A negative intercept is refitted through the origin.
	var neg typeSums
	for _, size := range []int64{1e9, 2e9, 3e9} {
		neg.add(size, float64(size)/1e8-5)
	}
	if a, c, ok := neg.fit.Line(); !ok || a != 0 || c <= 0 {
		t.Errorf("negative intercept: a=%v c=%v ok=%v; want a line through the origin", a, c, ok)
	}

	// Too few points, no spread in size, or a falling line: no fit.
	var two, flat, falling typeSums
	two.add(1e9, 10)
	two.add(2e9, 20)
	for range 4 {
		flat.add(5e9, 100)
	}
	for i, size := range []int64{1e9, 2e9, 3e9} {
		falling.add(size, float64(300-100*i))
	}
	for name, ts := range map[string]*typeSums{"two points": &two, "one size": &flat, "falling": &falling} {
		if _, _, ok := ts.fit.Line(); ok {
			t.Errorf("%s: fitted a line", name)
		}
	}
}

// chainsOf builds simulation chains (all in vault 0) from durations;
// the engine's estimate is set to the duration so that priorities are
// the true work left.
func chainsOf(durs ...[]float64) ([]simChain, []simJob) {
	var cs []simChain
	var js []simJob
	for _, d := range durs {
		cs = append(cs, simChain{first: int32(len(js)), n: int32(len(d))})
		for _, x := range d {
			js = append(js, simJob{dur: x, est: x})
		}
	}
	return cs, js
}

func TestSimulateKnownMakespans(t *testing.T) {
	cases := []struct {
		name     string
		chains   [][]float64
		cap      int
		overhead float64
		want     float64
	}{
		{"one slot runs everything in turn", [][]float64{{3, 2}, {4}}, 1, 0, 9},
		{"enough slots: the longest chain", [][]float64{{3, 2}, {4}}, 10, 0, 5},
		{"longest first fills two slots", [][]float64{{5}, {3}, {3}}, 2, 0, 6},
		{"LPT on chains", [][]float64{{2, 2, 2}, {3}, {3}, {1}}, 2, 0, 7},
		{"overhead between a chain's jobs", [][]float64{{1, 1, 1}}, 5, 0.5, 4},
		{"overhead holds the slot", [][]float64{{2}, {2}, {2}}, 1, 1, 8},
	}
	for _, c := range cases {
		cs, js := chainsOf(c.chains...)
		r := simulate(cs, js, c.cap, c.overhead, 0, true)
		if !near(r.makespan, c.want, 1e-9) {
			t.Errorf("%s: makespan %v, want %v", c.name, r.makespan, c.want)
		}
		if len(r.completions) != len(js) || r.windows != 1 {
			t.Errorf("%s: %d completions for %d jobs, %d windows", c.name, len(r.completions), len(js), r.windows)
		}
		for i := 1; i < len(r.completions); i++ {
			if r.completions[i] < r.completions[i-1] {
				t.Errorf("%s: completions out of order: %v", c.name, r.completions)
			}
		}
		// The input is left as it was: a second run gives the same.
		if r2 := simulate(cs, js, c.cap, c.overhead, 0, true); !reflect.DeepEqual(r, r2) {
			t.Errorf("%s: a second simulation differs: %+v vs %+v", c.name, r, r2)
		}
	}
}

func TestSimulateInFlightRetryAndVaults(t *testing.T) {
	// A job in flight holds a slot from the start, even past the cap.
	cs, js := chainsOf([]float64{2, 3}, []float64{1})
	js[0].inFlight = true
	if r := simulate(cs, js, 1, 0, 0, false); r.makespan != 6 {
		t.Errorf("in flight, cap 1: makespan %v, want 6 (2 in flight, then 3 and 1 in turn)", r.makespan)
	}
	// A retry waits for its time.
	cs, js = chainsOf([]float64{1})
	cs[0].ready = 10
	if r := simulate(cs, js, 5, 0, 0, false); r.makespan != 11 {
		t.Errorf("retry at 10: makespan %v, want 11", r.makespan)
	}
	// Vaults are taken round-robin: vault 1's short chain is not starved
	// by vault 0's long ones.
	cs, js = chainsOf([]float64{10}, []float64{9}, []float64{1})
	cs[2].vault = 1
	r := simulate(cs, js, 2, 0, 0, true)
	if r.makespan != 10 || r.completions[0] != 1 {
		t.Errorf("round-robin: makespan %v, completions %v; want the vault-1 chain to start first and finish at 1", r.makespan, r.completions)
	}
}

func TestSimulateWindows(t *testing.T) {
	cs, js := chainsOf([]float64{4}, []float64{4}, []float64{4})
	// Window 5: two start at 0, the third at 4 (before the end) runs past it.
	if r := simulate(cs, js, 2, 0, 5, false); r.windows != 1 || r.lastWindow != 8 {
		t.Errorf("window 5: %d windows, last busy %v; want 1, 8", r.windows, r.lastWindow)
	}
	// Window 3.9: the third starts in the next window.
	if r := simulate(cs, js, 2, 0, 3.9, false); r.windows != 2 || r.lastWindow != 4 {
		t.Errorf("window 3.9: %d windows, last busy %v; want 2, 4", r.windows, r.lastWindow)
	}
	// A chain goes on in the next window after its job ended in the gap
	// (the second job starts at 3, before the end, and runs past it).
	cs, js = chainsOf([]float64{3, 3, 3})
	if r := simulate(cs, js, 1, 0, 4, false); r.windows != 2 || r.lastWindow != 3 {
		t.Errorf("chain over windows: %d windows, last busy %v; want 2, 3", r.windows, r.lastWindow)
	}
}

func TestSimulateAMillionJobsQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("1M-job simulation")
	}
	var cs []simChain
	js := make([]simJob, 0, 1_000_000)
	for i := 0; len(js) < cap(js); i++ {
		n := 1 + i%17
		cs = append(cs, simChain{first: int32(len(js)), n: int32(min(n, cap(js)-len(js))), vault: int32(i % 13)})
		for k := 0; k < n && len(js) < cap(js); k++ {
			d := 100 + float64((i*31+k*7)%1000)
			js = append(js, simJob{dur: d, est: d})
		}
	}
	start := time.Now()
	r := simulate(cs, js, 100, 2, 0, true)
	el := time.Since(start)
	t.Logf("%d jobs over %d chains: makespan %.0f s, simulated in %s", len(js), len(cs), r.makespan, el)
	if len(r.completions) != len(js) {
		t.Fatalf("%d completions, want %d", len(r.completions), len(js))
	}
	if el > 10*time.Second {
		t.Errorf("simulating 1M jobs took %s", el)
	}
}

// forecastFixture writes a state with a known history. EBS copies take
// 100 s + size / 50 MB/s and S3 copies 50 s + size / 100 MB/s; a
// resource's next copy starts 10 s after the previous one ended.
func forecastFixture(t *testing.T, now time.Time) *state.Store {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dur := map[string]func(int64) float64{
		"EBS": func(s int64) float64 { return 100 + float64(s)/50e6 },
		"S3":  func(s int64) float64 { return 50 + float64(s)/100e6 },
	}
	type rpSpec struct {
		res, typ string
		size     int64
		copy     string // "" queued, else a copy state
	}
	var specs []rpSpec
	// History: 4 resources per type, 5 completed copies each.
	for _, typ := range []string{"EBS", "S3"} {
		for r := range 4 {
			for k := range 5 {
				specs = append(specs, rpSpec{fmt.Sprintf("%s-done-%d", typ, r), typ, int64(1+r*3+k) * 1e9, state.CopyCompleted})
			}
		}
	}
	// Remaining: R1 = a job in flight (5 GB, started 50 s ago) and two
	// queued 10 GB; R2 = three queued S3 1 GB; R3 = a retry (0 B, due in
	// 30 s); one failed.
	specs = append(specs,
		rpSpec{"R1", "EBS", 5e9, state.CopyRunning}, rpSpec{"R1", "EBS", 10e9, ""}, rpSpec{"R1", "EBS", 10e9, ""},
		rpSpec{"R2", "S3", 1e9, ""}, rpSpec{"R2", "S3", 1e9, ""}, rpSpec{"R2", "S3", 1e9, ""},
		rpSpec{"R3", "EBS", 0, state.CopyRetry},
		rpSpec{"R4", "EBS", 7e9, state.CopyFailed},
	)
	part := &state.Partition{Vault: "v", ID: state.PartitionID("", 0), Generation: 1}
	var rps []*state.RP
	var recs []*state.CopyRecord
	base := now.Add(-100 * time.Hour)
	ends := map[string]time.Time{}
	for i, s := range specs {
		rp := &state.RP{Arn: fmt.Sprintf("arn:rp:%04d", i), Vault: "v", ResourceArn: "arn:res:" + s.res, ResourceType: s.typ,
			Status: "COMPLETED", CreationDate: base.Add(time.Duration(i) * time.Minute), Size: s.size,
			Decision: &state.Decision{Outcome: state.Included, Reason: "test"}}
		rps = append(rps, rp)
		if s.copy == "" {
			continue
		}
		rp.Copy = state.CopyingRP
		c := &state.CopyRecord{Vault: "v", Arn: rp.Arn, State: s.copy, Attempt: 1, ResourceArn: rp.ResourceArn, ResourceType: s.typ,
			Size: s.size, Created: rp.CreationDate, IntentAt: now}
		switch s.copy {
		case state.CopyCompleted:
			start, ok := ends[s.res]
			if !ok {
				start = base.Add(time.Duration(len(ends)) * time.Hour)
			} else {
				start = start.Add(10 * time.Second)
			}
			end := start.Add(time.Duration(dur[s.typ](s.size) * float64(time.Second)))
			ends[s.res] = end
			c.StartedAt, c.CompletedAt = &start, &end
		case state.CopyRunning:
			start := now.Add(-50 * time.Second)
			c.StartedAt, c.JobID = &start, "job-1"
		case state.CopyRetry:
			next := now.Add(30 * time.Second)
			c.NextAt, c.Reason = &next, "ThrottlingException: slow down"
		case state.CopyFailed:
			c.Reason, c.Category = "AccessDenied: no", "AccessDenied"
		}
		recs = append(recs, c)
	}
	if _, err := st.SavePage(part, rps, now); err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch(state.EpochDecision)
	for _, rp := range rps {
		if err := b.Put(rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRun(state.Run{Command: "run", Start: base, End: base.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestForecastOnAKnownState(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := forecastFixture(t, now)
	ctx := context.Background()

	s, err := ReadStatus(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{state.CopyCompleted: 40, state.CopyRunning: 1, state.CopyIntent: 0, state.CopyRetry: 1, query.Queued: 5, state.CopyFailed: 1}
	if !reflect.DeepEqual(s.States, want) {
		t.Errorf("states %v, want %v", s.States, want)
	}
	if s.Remaining != 7 || s.RemainingBytes != 5e9+20e9+3e9 || s.Included != 48 || s.Failed != 1 || s.FailedByReason["AccessDenied"] != 1 {
		t.Errorf("remaining %d (%d B), included %d, failed %d %v", s.Remaining, s.RemainingBytes, s.Included, s.Failed, s.FailedByReason)
	}
	if len(s.ByType) != 2 || s.ByType[0].ResourceType != "EBS" || s.ByType[0].Remaining != 4 || s.ByType[1].Remaining != 3 || s.ByType[0].Failed != 1 {
		t.Errorf("by type: %+v", s.ByType)
	}

	f, err := Make(ctx, st, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]TypeRate{}
	for _, r := range f.Rates.ByType {
		models[r.ResourceType] = r
	}
	if m := models["EBS"]; m.Method != "fit" || !near(m.SetupSeconds, 100, 1e-6) || !near(m.BytesPerSecond, 50e6, 1e-6) || m.Samples != 20 {
		t.Errorf("EBS model %+v; want a fit of 100 s + size / 50 MB/s on 20 samples", m)
	}
	if m := models["S3"]; m.Method != "fit" || !near(m.SetupSeconds, 50, 1e-6) || !near(m.BytesPerSecond, 100e6, 1e-6) {
		t.Errorf("S3 model %+v", m)
	}
	if r := f.Rates; !near(r.OverheadSeconds, 10, 1e-6) || r.OverheadSamples != 32 || !near(r.RunHours, 2, 1e-9) || r.CompletedPerHour <= 0 {
		t.Errorf("rates: overhead %v (%d), run hours %v, %v/h", r.OverheadSeconds, r.OverheadSamples, r.RunHours, r.CompletedPerHour)
	}
	// R1: 150 s left of the job in flight, then 2 × (10 s + 300 s) = 770 s.
	p := f.Projection
	if !near(p.RemainingSeconds, 770, 1e-6) || p.InFlight != 1 || p.Queued != 6 || p.Resources != 3 {
		t.Errorf("projection %+v; want 770 s, 1 in flight, 6 queued, 3 resources", p)
	}
	if p.Finish == nil || !p.Finish.Equal(now.Add(770*time.Second)) || !near(p.LongestJobSeconds, 300, 1e-6) || !near(p.LongestChainSeconds, 750, 1e-6) {
		t.Errorf("finish %v, longest job %v, longest chain %v", p.Finish, p.LongestJobSeconds, p.LongestChainSeconds)
	}

	// One slot: everything in turn, no idle time: 160 + 2×310 + 3×70 + 110 - 10.
	f1, err := Make(ctx, st, Options{Now: now, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !near(f1.Projection.RemainingSeconds, 1090, 1e-6) {
		t.Errorf("cap 1: %v s, want 1090", f1.Projection.RemainingSeconds)
	}

	// Windows of 400 s: R1's last job goes to the second window.
	fw, err := Make(ctx, st, Options{Now: now, Window: 400 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if w := fw.Projection.Window; w == nil || w.Windows != 2 || !near(w.LastWindowSeconds, 300, 1e-6) || w.TooShort {
		t.Errorf("400 s windows: %+v; want 2, the last busy 300 s", w)
	}
	fs, err := Make(ctx, st, Options{Now: now, Window: 250 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if w := fs.Projection.Window; w == nil || !w.TooShort || !strings.Contains(w.Note, "at least as long as the longest single job") {
		t.Errorf("250 s windows: %+v; want flagged too short", w)
	}

	// Deterministic: the same state and time give the same forecast.
	f2, err := Make(ctx, st, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(f2)
	if string(a) != string(b) {
		t.Errorf("two forecasts of one state differ:\n%s\n%s", a, b)
	}

	// The chart series (the CLI draws them).
	prog, proj := f.ChartSeries()
	if len(prog) != 40 || prog[len(prog)-1].Y != 40 || len(proj) != 8 || proj[len(proj)-1].Y != 47 {
		t.Errorf("chart series: %d progress points (last %v), %d projection points (last %v)", len(prog), prog[len(prog)-1], len(proj), proj[len(proj)-1])
	}
}

func TestForecastWithoutHistoryUsesThePrior(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	part := &state.Partition{Vault: "v", ID: state.PartitionID("", 0), Generation: 1}
	rp := &state.RP{Arn: "arn:rp:1", Vault: "v", ResourceArn: "arn:res:1", ResourceType: "EBS", Status: "COMPLETED", Size: 50e9,
		Decision: &state.Decision{Outcome: state.Included}}
	if _, err := st.SavePage(part, []*state.RP{rp}, now); err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch(state.EpochDecision)
	_ = b.Put(rp)
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := Make(context.Background(), st, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rates.ByType) != 1 || f.Rates.ByType[0].Method != "prior" || !near(f.Projection.RemainingSeconds, 300+1000, 1e-6) {
		t.Errorf("no history: %+v, %v s; want the prior, 1300 s", f.Rates.ByType, f.Projection.RemainingSeconds)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 250 * time.Millisecond: "250ms", 4200 * time.Millisecond: "4.2s", 45 * time.Second: "45s",
		12*time.Minute + 5*time.Second: "12m 5s", 8 * time.Hour: "8h", 3*time.Hour + 20*time.Minute: "3h 20m",
		52 * time.Hour: "2d 4h", 48 * time.Hour: "2d",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// A forecast from the entries the state keeps with its records equals
// the forecast from a scan of every record.
func TestForecastFromEntriesEqualsAScan(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := forecastFixture(t, now)
	for _, window := range []time.Duration{0, 8 * time.Hour} {
		o := Options{Now: now, Window: window}
		fromEntries, err := Make(context.Background(), st, o)
		if err != nil {
			t.Fatal(err)
		}
		scanOnly = true
		fromScan, err := Make(context.Background(), st, o)
		scanOnly = false
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(fromEntries)
		b, _ := json.Marshal(fromScan)
		if string(a) != string(b) {
			t.Errorf("window %v: from the entries\n%s\nfrom a scan\n%s", window, a, b)
		}
		if fromEntries.Projection.Queued == 0 || fromEntries.Rates.Pooled.Samples == 0 {
			t.Errorf("the fixture forecast has no work or no history: %+v", fromEntries.Projection)
		}
	}
}

// The lag counts included RPs not copied that were created more than
// the threshold ago, by vault, from the counters.
func TestLagFromTheCounters(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	st := forecastFixture(t, now)
	lag, err := ReadLag(st, now, DefaultLagAfter)
	if err != nil {
		t.Fatal(err)
	}
	// Not copied: R1's job in flight and its two queued, R2's three, R3's
	// retry and R4's failure; all created about 100 hours ago.
	if lag == nil || lag.RecoveryPoints != 8 || len(lag.ByVault) != 1 || lag.ByVault[0].RecoveryPoints != 8 || lag.Oldest == nil {
		t.Fatalf("lag %+v", lag)
	}
	if age := now.Sub(*lag.Oldest); age < 100*time.Hour || age > 101*time.Hour {
		t.Fatalf("oldest not copied created %v ago, want about 100h", age)
	}
	lag, err = ReadLag(st, now, 200*time.Hour)
	if err != nil || lag.RecoveryPoints != 0 || lag.Oldest == nil {
		t.Fatalf("with a 200h threshold: %+v, %v", lag, err)
	}
}

// A job whose RP's delete date comes before the simulation starts it is
// at risk; one started in time, or in flight, is not.
func TestSimulateCountsJobsStartedAfterTheirDeleteDate(t *testing.T) {
	cs, js := chainsOf([]float64{10, 10, 10}, []float64{5})
	js[1].deleteAt = 5   // its chain reaches it at 10: at risk
	js[2].deleteAt = 100 // reached at 20: in time
	js[3].deleteAt = -60 // already past, its chain waits behind the other: at risk
	r := simulate(cs, js, 1, 0, 0, false)
	if r.atRisk != 2 || r.atRiskFirst != -60 {
		t.Fatalf("at risk %d (first %v), want 2 (first -60)", r.atRisk, r.atRiskFirst)
	}
	js[0].inFlight, js[0].deleteAt = true, -1 // a job already started is never at risk
	if r = simulate(cs, js, 1, 0, 0, false); r.atRisk != 2 {
		t.Fatalf("with the first job in flight: %d at risk, want 2", r.atRisk)
	}
}

// The order puts a chain whose next RP is about to be deleted first, so
// the simulation (like the copier) starts it before longer chains.
func TestSimulateStartsTheExpiringFirst(t *testing.T) {
	cs, js := chainsOf([]float64{100}, []float64{10})
	js[1].deleteAt = 50 // within copier.UrgentWithin
	if r := simulate(cs, js, 1, 0, 0, false); r.atRisk != 0 {
		t.Fatalf("%d at risk: the expiring chain waited behind the longer one", r.atRisk)
	}
}
