package approval

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The approved-plan file at scale: write, verify, read, load and the
// drift comparison over a synthetic set of decisions with the field
// sizes of a real estate (recovery point and resource ARNs, vault names,
// key ARNs, five tags). SHUFFLE_BENCH_APPROVAL_N sets the number of
// decisions (default 10,000; make bench-approval runs 1,000,000):
//
//	SHUFFLE_BENCH_APPROVAL_N=1000000 go test -run '^$' -bench BenchmarkApproval -benchtime 1x ./engine/approval/
//
// Each benchmark reports its time per decision and for the whole set
// (s/set), so that -benchtime 1x at a million gives the operator's
// figures directly.

// benchN is the number of decisions the benchmarks use.
func benchN(b *testing.B) int {
	s := os.Getenv("SHUFFLE_BENCH_APPROVAL_N")
	if s == "" {
		return 10_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("SHUFFLE_BENCH_APPROVAL_N=%q: want a positive number", s)
	}
	return n
}

var benchVaults = []string{
	"prod-ebs-daily", "prod-ebs-weekly", "prod-rds-daily", "prod-rds-monthly", "prod-efs-daily", "prod-ec2-daily",
	"prod-dynamodb-daily", "prod-s3-daily", "prod-fsx-weekly", "prod-aurora-daily", "prod-ebs-monthly", "prod-ec2-weekly",
	"test-ebs-daily", "dev-misc-weekly",
}

// benchSet is a synthetic set of decisions, made once per size.
type benchSet struct {
	decisions []Decision
	created   []time.Time
}

var (
	benchSetsMu sync.Mutex
	benchSets   = map[int]*benchSet{}
)

// hex16 is 16 hex digits of i (an ID as AWS writes them).
func hex16(i uint64) string { return fmt.Sprintf("%016x", i*0x9e3779b97f4a7c15) }

// uuidOf is a UUID-shaped string of i.
func uuidOf(i uint64) string {
	h := hex16(i) + hex16(i+1)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// decisionsFor makes (once) n decisions spread over the vaults, with
// 1,000 distinct tag sets shared between them as the writer sees them
// (the tags policy's maps; a read makes its own).
func decisionsFor(n int) *benchSet {
	benchSetsMu.Lock()
	defer benchSetsMu.Unlock()
	if s, ok := benchSets[n]; ok {
		return s
	}
	tagSets := make([]map[string]string, 1000)
	for i := range tagSets {
		tagSets[i] = map[string]string{
			"apmid":                fmt.Sprintf("APM%07d", 2000+i),
			"Owner":                fmt.Sprintf("team-%03d@example.com", i%97),
			"CostCenter":           fmt.Sprintf("CC-%05d", 10000+i%211),
			"Environment":          "production",
			"shuffle:source-vault": benchVaults[i%len(benchVaults)],
		}
	}
	keys := make([]string, len(benchVaults))
	for i := range keys {
		keys[i] = "arn:aws:kms:us-east-1:222222222222:key/" + uuidOf(uint64(1_000_000_000+i))
	}
	s := &benchSet{decisions: make([]Decision, n), created: make([]time.Time, n)}
	base := time.Date(2024, 1, 1, 3, 0, 0, 0, time.UTC)
	for i := range n {
		v := i * len(benchVaults) / n // sorted by vault, as the state is
		u := uint64(i)
		var rp, res, typ string
		switch i % 3 {
		case 0:
			rp = "arn:aws:ec2:us-east-1::snapshot/snap-" + (hex16(u) + hex16(u+7))[:17]
			res = "arn:aws:ec2:us-east-1:111111111111:volume/vol-" + (hex16(u/30) + hex16(u/30+3))[:17]
			typ = "EBS"
		case 1:
			rp = "arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-" + uuidOf(u)
			res = "arn:aws:rds:us-east-1:111111111111:db:orders-" + hex16(u / 30)[:8]
			typ = "RDS"
		default:
			rp = "arn:aws:backup:us-east-1:111111111111:recovery-point:" + uuidOf(u)
			res = "arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-" + hex16(u / 30)[:8]
			typ = "EFS"
		}
		s.decisions[i] = Decision{
			SourceVault: benchVaults[v], RecoveryPoint: rp, ResourceArn: res, ResourceType: typ,
			Bytes: int64(1<<30 + i%1000*1<<20), DestinationVault: benchVaults[v] + "-migrated", DestinationKey: keys[v],
			Tags: tagSets[i%len(tagSets)],
		}
		s.created[i] = base.Add(time.Duration(i) * time.Minute)
	}
	benchSets[n] = s
	return s
}

// writeBenchPlan writes the set into path as plan --out does: every RP
// listed for the fingerprint, every decision added.
func writeBenchPlan(tb testing.TB, path string, s *benchSet) {
	w, err := Create(path, Header{Script: "migrate.lua", PolicyHash: "sha256:bench", SourceAccount: "111111111111", DestinationAccount: "222222222222", Region: "us-east-1"})
	if err != nil {
		tb.Fatal(err)
	}
	for i, d := range s.decisions {
		w.Listed(d.SourceVault, d.RecoveryPoint, s.created[i], "COMPLETED")
		if err := w.Add(d); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// reportSet adds the time per decision and per set to b's figures.
func reportSet(b *testing.B, n int, elapsed time.Duration) {
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/float64(n), "ns/decision")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/set")
	b.ReportMetric(float64(n), "decisions")
}

// BenchmarkApprovalWrite: plan --out's share of the work (the walk of
// the state and the tags policy aside): encode, checksum, gzip, fsync.
func BenchmarkApprovalWrite(b *testing.B) {
	n := benchN(b)
	s := decisionsFor(n)
	path := filepath.Join(b.TempDir(), "plan.gz")
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		writeBenchPlan(b, path, s)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportSet(b, n, elapsed)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/decision")
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
}

// benchPlanFile writes the set for a benchmark that reads it (untimed).
func benchPlanFile(b *testing.B, n int) string {
	path := filepath.Join(b.TempDir(), "plan.gz")
	writeBenchPlan(b, path, decisionsFor(n))
	return path
}

// BenchmarkApprovalVerify: the checksum check of show and of plan
// --out's summary (Read without decoding the decisions).
func BenchmarkApprovalVerify(b *testing.B) {
	n := benchN(b)
	path := benchPlanFile(b, n)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		f, err := Read(path, nil)
		if err != nil || f.Trailer.Decisions != int64(n) {
			b.Fatal(f, err)
		}
	}
	reportSet(b, n, time.Since(start))
}

// BenchmarkApprovalRead: every decision decoded (show --decisions, and
// the read under Load).
func BenchmarkApprovalRead(b *testing.B) {
	n := benchN(b)
	path := benchPlanFile(b, n)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var got int
		if _, err := Read(path, func(Decision) error { got++; return nil }); err != nil || got != n {
			b.Fatal(got, err)
		}
	}
	reportSet(b, n, time.Since(start))
}

// BenchmarkApprovalLoad: run --plan's load of the plan into its index,
// with the heap the index keeps (live after a GC) per decision.
func BenchmarkApprovalLoad(b *testing.B) {
	n := benchN(b)
	path := benchPlanFile(b, n)
	var kept uint64
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		c, err := Load(path)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept = after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
		runtime.KeepAlive(c)
		b.StartTimer()
	}
	b.StopTimer()
	reportSet(b, n, elapsed)
	b.ReportMetric(float64(kept)/float64(n), "heap-bytes/decision")
	b.ReportMetric(float64(kept)/(1<<20), "heap-MiB")
}

// BenchmarkApprovalDrift: the gate's comparison after the load: every
// RP listed and its current decision compared, then Finish (which reads
// the file again for examples when anything changed). The current set
// is the plan's with none, or 1% (every 100th RP), decided with other
// tags.
func BenchmarkApprovalDrift(b *testing.B) {
	n := benchN(b)
	s := decisionsFor(n)
	path := benchPlanFile(b, n)
	for _, every := range []int{0, 100} {
		name := "changed=0%"
		now := s.decisions
		if every > 0 {
			name = "changed=1%"
			now = make([]Decision, n)
			copy(now, s.decisions)
			for i := 0; i < n; i += every {
				t := map[string]string{}
				for k, v := range now[i].Tags {
					t[k] = v
				}
				t["Owner"] = "someone-else@example.com"
				now[i].Tags = t
			}
		}
		b.Run(name, func(b *testing.B) {
			var elapsed time.Duration
			var d *Drift
			for range b.N {
				b.StopTimer()
				c, err := Load(path)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for i := range now {
					c.Listed(now[i].SourceVault, now[i].RecoveryPoint, s.created[i], "COMPLETED")
					c.Included(now[i])
				}
				d, err = c.Finish("sha256:bench")
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportSet(b, n, elapsed)
			want := int64(0)
			if every > 0 {
				want = int64((n + every - 1) / every)
			}
			if d.Counts[DriftChanged] != want || d.Approved != int64(n)-want {
				b.Fatalf("changed %d, approved %d; want %d changed", d.Counts[DriftChanged], d.Approved, want)
			}
			b.ReportMetric(float64(d.Counts[DriftChanged]), "changed")
		})
	}
}
