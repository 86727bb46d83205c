package copier

import (
	"testing"
	"time"
)

// BenchmarkLimitWording measures what reading LimitExceededException
// safely costs: the makespan of one workload against the fake AWS
// (quota_fake_test.go) whose refusals are in AWS-like words ("known",
// the fast path) and in words shuffle cannot place ("unknown"), with
// the same quotas and busy resources. It reports both makespans and
// their ratio (unknown/known; issue 15 asks for at most 1.2).
//
// Workload: 4 vaults × 25 resources × 3 RPs (300 copies), jobs of 30 ms,
// shuffle's cap 30. caps+busy: the account's cap 24, one vault's 5, and
// each start finding its resource busy with a backup job (for 30 ms) one
// time in ten. busy: no cap binds, and one start in five finds its
// resource busy. Run with -benchtime=10x or more: each iteration is both
// runs.
func BenchmarkLimitWording(b *testing.B) {
	b.Run("caps+busy", func(b *testing.B) { benchWording(b, 24, 5, 0.1) })
	b.Run("busy", func(b *testing.B) { benchWording(b, 0, 0, 0.2) })
}

func benchWording(b *testing.B, accountCap, vaultCap int, busyP float64) {
	var known, unknown time.Duration
	var refusedKnown, refusedUnknown int
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so neither always runs on a
		// machine warmed (or loaded) by the other.
		for _, unk := range [][]bool{{false, true}, {true, false}}[i%2] {
			f := newQuotaAWS(uint64(i) + 1)
			f.unknown, f.accountCap, f.busyP, f.busyFor = unk, accountCap, busyP, 30*time.Millisecond
			st, targets, closeState := quotaEstate(b, f, 4, 25, 3)
			if vaultCap > 0 {
				f.vaultCaps[targets["v2"].Arn] = vaultCap
			}
			_, sum := runQuota(b, f, st, targets, 30)
			exactlyOnce(b, f, sum)
			closeState() // its Badger must not run beside the next run
			n := f.refusals["account"] + f.refusals["vault"] + f.refusals["busy"] + f.refusals["resource"]
			if unk {
				unknown += sum.Elapsed
				refusedUnknown += n
			} else {
				known += sum.Elapsed
				refusedKnown += n
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(known.Milliseconds())/n, "known-ms")
	b.ReportMetric(float64(unknown.Milliseconds())/n, "unknown-ms")
	b.ReportMetric(unknown.Seconds()/known.Seconds(), "ratio")
	b.ReportMetric(float64(refusedKnown)/n, "known-refusals")
	b.ReportMetric(float64(refusedUnknown)/n, "unknown-refusals")
}
