package inventory_test

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// sourceTotal counts the source RPs through the SDK, independently of
// the engine.
func sourceTotal(t *testing.T, c *backup.Client) (total int, arns map[string]bool) {
	t.Helper()
	arns = map[string]bool{}
	vp := backup.NewListBackupVaultsPaginator(c, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.BackupVaultList {
			rp := backup.NewListRecoveryPointsByBackupVaultPaginator(c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: v.BackupVaultName})
			for rp.HasMorePages() {
				p, err := rp.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.RecoveryPoints {
					arns[aws.ToString(v.BackupVaultName)+" "+aws.ToString(r.RecoveryPointArn)] = true
				}
			}
		}
	}
	return len(arns), arns
}

func openStore(t testing.TB) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// dump renders the inventory part of the state for comparison.
func dump(t *testing.T, st *state.Store) []string {
	t.Helper()
	var out []string
	err := st.ScanRPs(func(rp *state.RP) error {
		if !rp.Gone {
			out = append(out, rp.Vault+" "+rp.Arn+" "+rp.Status+" "+rp.ResourceArn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestInventoryListsEverySourceRP(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 3000})
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	dst := backup.NewFromConfig(env.Config(t, testenv.ProfileDestination))
	want, arns := sourceTotal(t, src)

	st := openStore(t)
	// A low split threshold exercises per-type partitions and the
	// catch-all completeness check on the small data set.
	inv := &inventory.Inventory{Store: st, Source: src, Destination: dst, SplitAbove: 200, PageSize: 50}
	sum, err := inv.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.RecoveryPoints != int64(want) {
		t.Fatalf("inventory has %d RPs, the source lists %d", sum.RecoveryPoints, want)
	}
	if sum.New != int64(want) || sum.Changed != 0 {
		t.Fatalf("a first inventory counts %d new and %d changed, want %d new", sum.New, sum.Changed, want)
	}
	if sum.Partitions <= sum.Vaults {
		t.Fatalf("expected large vaults to be split: %d partitions for %d vaults", sum.Partitions, sum.Vaults)
	}
	for _, line := range dump(t, st) {
		var vault, arn string
		for i, c := range line {
			if c == ' ' {
				vault = line[:i]
				rest := line[i+1:]
				for j, d := range rest {
					if d == ' ' {
						arn = rest[:j]
						break
					}
				}
				break
			}
		}
		if !arns[vault+" "+arn] {
			t.Fatalf("state holds %s in %s, which the source does not list", arn, vault)
		}
	}
	dv, err := st.Vaults(state.Destination)
	if err != nil || len(dv) != 2 {
		t.Fatalf("destination vaults: %d, %v; want the 2 testenv seeds", len(dv), err)
	}

	// A second run lists each vault from its high-water mark: one page
	// each here, nothing new, no vault's settings read again, and no
	// vault listed whole (every count agrees).
	calls := env.Counters().Calls("ListRecoveryPointsByBackupVault")
	policies := env.Counters().Calls("GetBackupVaultAccessPolicy")
	sum2, err := inv.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Counters().Calls("ListRecoveryPointsByBackupVault") - calls; got != int64(sum.Vaults) || sum2.Deltas != sum.Vaults || sum2.New != 0 || len(sum2.Reconciled) != 0 {
		t.Fatalf("second inventory: %d list calls for %d vaults, %+v; want one delta page per vault, nothing new, nothing reconciled", got, sum.Vaults, sum2)
	}
	if got := env.Counters().Calls("GetBackupVaultAccessPolicy") - policies; got != 0 {
		t.Fatalf("a delta read %d access policies again, want none", got)
	}
	if sum2.RecoveryPoints != sum.RecoveryPoints {
		t.Fatalf("resumed inventory counts %d, first run %d", sum2.RecoveryPoints, sum.RecoveryPoints)
	}
}

// failAfter lets n list calls through, then fails every call, as a
// crash or a lost network would.
type failAfter struct {
	inventory.BackupReader
	n atomic.Int64
}

var errCrash = errors.New("simulated crash")

func (f *failAfter) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, o ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	if f.n.Add(-1) < 0 {
		return nil, errCrash
	}
	return f.BackupReader.ListRecoveryPointsByBackupVault(ctx, in, o...)
}

func TestInventoryCrashMidVaultResumesToIdenticalState(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 2500})
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))

	clean := openStore(t)
	if _, err := (&inventory.Inventory{Store: clean, Source: src, PageSize: 40, SplitAbove: 300}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean)

	st := openStore(t)
	crashes := 0
	for _, budget := range []int64{3, 7, 11, 19} {
		f := &failAfter{BackupReader: src}
		f.n.Store(budget)
		_, err := (&inventory.Inventory{Store: st, Source: f, PageSize: 40, SplitAbove: 300, Workers: 3}).Run(context.Background())
		if !errors.Is(err, errCrash) {
			t.Fatalf("budget %d: expected the simulated crash, got %v", budget, err)
		}
		crashes++
	}
	before := env.Counters().Calls("ListRecoveryPointsByBackupVault")
	sum, err := (&inventory.Inventory{Store: st, Source: src, PageSize: 40, SplitAbove: 300}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, st)
	if len(got) != len(want) {
		t.Fatalf("after %d crashes the state has %d RPs, a clean run %d", crashes, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("state differs at %d: %q vs clean %q", i, got[i], want[i])
		}
	}
	// The resumed run must not have listed everything again.
	full := int64(0)
	for _, v := range want {
		_ = v
		full++
	}
	// Requests the crashed runs had in flight may reach the server late,
	// so the server's count may exceed the summary by up to their
	// worker count (3).
	listed := env.Counters().Calls("ListRecoveryPointsByBackupVault") - before
	if listed < sum.ListedPages || listed > sum.ListedPages+3 || sum.ListedPages >= full/40+20 {
		t.Fatalf("resume listed %d pages (server saw %d calls); finished partitions must not be listed again", sum.ListedPages, listed)
	}
}

func TestInventoryMarksGoneAndRelistsOnNewGeneration(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 400})
	src := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))
	st := openStore(t)
	inv := &inventory.Inventory{Store: st, Source: src}
	first, err := inv.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Pretend an RP vanished from the source: rewrite one record with a
	// made-up ARN, which no listing will confirm.
	var victim *state.RP
	_ = st.ScanRPs(func(rp *state.RP) error {
		if victim == nil {
			victim = rp
		}
		return nil
	})
	ghost := *victim
	ghost.Arn = victim.Arn + "-ghost"
	b := st.NewBatch(state.EpochDecision)
	if err := b.Put(&ghost); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.NewGeneration(); err != nil {
		t.Fatal(err)
	}
	second, err := inv.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.Gone != 1 || second.RecoveryPoints != first.RecoveryPoints || second.New != 0 {
		t.Fatalf("new generation: gone=%d new=%d rps=%d; want gone=1 new=0 rps=%d", second.Gone, second.New, second.RecoveryPoints, first.RecoveryPoints)
	}
	g, ok, err := st.GetRP(ghost.Vault, ghost.Arn)
	if err != nil || !ok || !g.Gone {
		t.Fatalf("the vanished RP must be kept and marked gone: ok=%v gone=%v err=%v", ok, g.Gone, err)
	}
}
