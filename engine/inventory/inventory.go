// Package inventory lists the source account's vaults and recovery
// points (and the destination's vaults) into the state, resumably: each
// vault is split into partitions, each partition listed page by page,
// and each page saved with its cursor in one transaction. A
// ListingDecider, when given, decides the RPs of a page on the page's
// slice before that transaction (the state never calls a policy inside
// one). DescribeVault reads one vault with the same settings, for
// replication and the compliance check, and saves nothing.
//
// It must not run policies itself, join metadata or know of the Lua
// surface: deciding comes in through ListingDecider, progress through
// Progress. It reads AWS only through BackupReader (SettingsReader for
// DescribeVault), and never writes to AWS.
package inventory

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// BackupReader is the part of AWS Backup that inventory uses. The SDK
// client satisfies it; wrappers (retry, credential refresh) may too.
type BackupReader interface {
	ListBackupVaults(ctx context.Context, in *backup.ListBackupVaultsInput, opts ...func(*backup.Options)) (*backup.ListBackupVaultsOutput, error)
	GetBackupVaultAccessPolicy(ctx context.Context, in *backup.GetBackupVaultAccessPolicyInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error)
	GetBackupVaultNotifications(ctx context.Context, in *backup.GetBackupVaultNotificationsInput, opts ...func(*backup.Options)) (*backup.GetBackupVaultNotificationsOutput, error)
	ListTags(ctx context.Context, in *backup.ListTagsInput, opts ...func(*backup.Options)) (*backup.ListTagsOutput, error)
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

var _ BackupReader = (*backup.Client)(nil)

// ResourceTypes are the AWS Backup resource types inventory partitions
// large vaults by. A vault whose partitions together list fewer RPs than
// ListBackupVaults reported gets a catch-all partition as well, so a type
// missing here is never missed.
var ResourceTypes = []string{
	"Aurora", "CloudFormation", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune",
	"RDS", "Redshift", "S3", "SAP HANA on Amazon EC2", "Storage Gateway", "Timestream", "VirtualMachine",
}

// Inventory lists every source recovery point into the state, resumably.
type Inventory struct {
	Store       *state.Store
	Source      BackupReader
	Destination BackupReader // nil: destination vaults are not listed
	Workers     int          // concurrent partitions (default 8)
	PageSize    int32        // MaxResults per page (default 1000)
	// SplitAbove: vaults with more RPs than this are split into one
	// partition per resource type (default 20000); above 10x it, each
	// type is also split by creation year.
	SplitAbove int64
	Now        func() time.Time
	Progress   Progress // nil: none is reported
	// Decider, when set, decides the RPs each page adds or changes
	// before the page is saved; nil leaves that to a later step.
	Decider ListingDecider
	// Delta tunes how vaults already listed are listed again (delta.go).
	Delta DeltaOptions
}

// Progress is told how far the listing of each vault is.
type Progress interface {
	// SetExpected sets how many RPs the vault holds, as ListBackupVaults
	// reported.
	SetExpected(vault string, n int64)
	// AddListed adds n RPs listed from the vault.
	AddListed(vault string, n int64)
}

type noProgress struct{}

func (noProgress) SetExpected(string, int64) {}
func (noProgress) AddListed(string, int64)   {}

// ListingDecider decides the RPs the inventory lists, page by page,
// before each page is saved (Inventory.Decider). Nil leaves deciding to
// the decide step.
type ListingDecider interface {
	// Begin starts a listing, once the vaults are listed. empty says
	// that the state held no RP at all when the run began.
	Begin(ctx context.Context, empty bool) error
	// Worker is one listing worker's own decider (a policy worker is
	// not safe for concurrent use); the worker ends it when it stops.
	Worker() (PageDecider, error)
	// LiveCount is asked at the end of a run that began with no RP in
	// the state and decided every page (no catch-all listing was
	// needed): the decider has then seen every RP the state holds. When
	// it answers ok, n stands for the live RPs and the count scan is
	// skipped.
	LiveCount() (n int64, ok bool)
}

// PageDecider decides the RPs of one worker's pages.
type PageDecider interface {
	// Decide decides rp (and joins what it needs to). It is called on
	// the page's slice before the page's transaction opens, for each RP
	// the page adds or changes while its copy is pending
	// (state.PageOptions.Prepare); lookedUp says whether the page looked
	// it up in the state. An error saves nothing of the page.
	Decide(ctx context.Context, rp *state.RP, lookedUp bool) error
	// End releases the worker's decider.
	End()
}

// Summary is what one inventory pass did.
type Summary struct {
	Vaults         int   `json:"vaults"`
	RecoveryPoints int64 `json:"recovery_points"`
	Partitions     int   `json:"partitions"`
	ListedPages    int64 `json:"listed_pages"`
	New            int64 `json:"new"`
	Changed        int64 `json:"changed"`
	Gone           int64 `json:"gone"`
	Resumed        bool  `json:"resumed"`
	// Deltas counts the vaults listed from their high-water mark;
	// Reconciled names those listed whole, and why.
	Deltas     int          `json:"deltas"`
	Reconciled []Reconciled `json:"reconciled,omitempty"`
}

func (inv *Inventory) defaults() {
	if inv.Workers <= 0 {
		inv.Workers = 8
	}
	if inv.PageSize <= 0 {
		inv.PageSize = 1000
	}
	if inv.SplitAbove <= 0 {
		inv.SplitAbove = 20000
	}
	if inv.Now == nil {
		inv.Now = time.Now
	}
	if inv.Progress == nil {
		inv.Progress = noProgress{}
	}
	if inv.Delta.Margin <= 0 {
		inv.Delta.Margin = DefaultDeltaMargin
	}
	if inv.Delta.ReconcileEvery == 0 {
		inv.Delta.ReconcileEvery = DefaultReconcileEvery
	}
	if inv.Delta.RunTime == nil {
		inv.Delta.RunTime = runTimeSince(inv.Store)
	}
}

// Run lists vaults and recovery points: a vault never listed to its
// end is listed whole (an interrupted partition resumes from its saved
// NextToken), one listed before from its high-water mark (a delta), and
// whole again when a reconciliation is due (delta.go).
func (inv *Inventory) Run(ctx context.Context) (Summary, error) {
	inv.defaults()
	var sum Summary
	gen, err := inv.Store.Generation()
	if err != nil {
		return sum, err
	}
	run := &inventoryRun{vaultGen: map[string]uint64{}, fresh: map[string]bool{}, mode: map[string]vaultMode{}, listed: map[string]*state.PageResult{}, live: map[string]int64{}}
	vaults, err := inv.listVaults(ctx, inv.Source, state.Source, gen, run)
	if err != nil {
		return sum, fmt.Errorf("source: %w", err)
	}
	if inv.Destination != nil {
		if _, err := inv.listVaults(ctx, inv.Destination, state.Destination, gen, nil); err != nil {
			return sum, fmt.Errorf("destination: %w", err)
		}
	}
	sum.Vaults = len(vaults)
	hasAny, err := inv.Store.HasAnyRP()
	if err != nil {
		return sum, err
	}
	if inv.Decider != nil {
		if err := inv.Decider.Begin(ctx, !hasAny); err != nil {
			return sum, err
		}
	}
	run.allDecided = !hasAny && inv.Decider != nil
	recheck, err := inv.listVaultsOnce(ctx, vaults, gen, run, &sum)
	if err != nil {
		return sum, err
	}
	if len(recheck) > 0 {
		// A count that disagrees after a delta: list those vaults whole
		// now (transition 8). What their full listings find is counted
		// apart from what the deltas found.
		for _, v := range recheck {
			delete(run.listed, v.Name)
		}
		if _, err := inv.listVaultsOnce(ctx, recheck, gen, run, &sum); err != nil {
			return sum, err
		}
	}
	if run.allDecided {
		if n, ok := inv.Decider.LiveCount(); ok {
			sum.RecoveryPoints = n
			return sum, putLiveCount(inv.Store, n)
		}
	}
	// Every vault counted as it closed: their sum is the live count,
	// without another scan of every record.
	var n int64
	for _, v := range vaults {
		c, ok := run.live[v.Name]
		if !ok {
			sum.RecoveryPoints, err = countLive(inv.Store)
			return sum, err
		}
		n += c
	}
	sum.RecoveryPoints = n
	return sum, putLiveCount(inv.Store, n)
}

// listVaultsOnce lists vaults as their modes say and closes them; it
// returns the vaults whose count asks for a reconciliation, with their
// generation bumped.
func (inv *Inventory) listVaultsOnce(ctx context.Context, vaults []*state.Vault, gen uint64, run *inventoryRun, sum *Summary) ([]*state.Vault, error) {
	todo, err := inv.openPartitions(vaults, gen, run, sum)
	if err != nil {
		return nil, err
	}
	sum.Resumed = sum.Resumed || len(todo) == 0
	if err := inv.listPartitions(ctx, todo, run, sum); err != nil {
		return nil, err
	}
	var recheck []*state.Vault
	for _, v := range vaults {
		again, err := inv.closeVault(ctx, v, run, sum)
		if err != nil {
			return nil, err
		}
		if again {
			recheck = append(recheck, v)
		}
	}
	return recheck, nil
}

// inventoryRun is what one Run knows of its vaults.
type inventoryRun struct {
	vaultGen map[string]uint64    // the generation each vault is listed in
	fresh    map[string]bool      // vaults with no RP in the state yet
	mode     map[string]vaultMode // how each source vault is listed
	// listed is what the listing did per vault (guarded by mu).
	mu     sync.Mutex
	listed map[string]*state.PageResult
	// live is each vault's live RPs as counted when it closed.
	live map[string]int64
	// allDecided: the state held no RP when the run began and every
	// page went through the Decider so far.
	allDecided bool
}

// listTotals are the listing workers' counts.
type listTotals struct{ pages, new, changed atomic.Int64 }

func (t *listTotals) add(pages int64, res state.PageResult) {
	t.pages.Add(pages)
	t.new.Add(int64(res.New))
	t.changed.Add(int64(res.Changed))
}

// listPartitions lists the partitions with inv.Workers workers, vaults
// interleaved so that every vault makes progress; the first error stops
// the listing.
func (inv *Inventory) listPartitions(ctx context.Context, todo []partitionJob, run *inventoryRun, sum *Summary) error {
	var (
		mu       sync.Mutex
		firstErr error
		totals   listTotals
		wg       sync.WaitGroup
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	ch := make(chan partitionJob)
	for i := 0; i < inv.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv.listWorker(ctx, lctx, ch, run, &totals, fail)
		}()
	}
	sort.SliceStable(todo, func(a, b int) bool { return todo[a].p.ID < todo[b].p.ID })
feed:
	for _, j := range todo {
		select {
		case ch <- j:
		case <-lctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	sum.ListedPages += totals.pages.Load()
	sum.New += totals.new.Load()
	sum.Changed += totals.changed.Load()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// listWorker lists the partitions it receives until the channel closes,
// deciding each page through its own PageDecider (if any). The listing
// stops on lctx; policies decide under the run's ctx, so that another
// partition's failure stops the listing, not the page being saved.
func (inv *Inventory) listWorker(ctx, lctx context.Context, jobs <-chan partitionJob, run *inventoryRun, totals *listTotals, fail func(error)) {
	var o state.PageOptions
	if inv.Decider != nil {
		pd, err := inv.Decider.Worker()
		if err != nil {
			fail(err)
			for range jobs {
			}
			return
		}
		defer pd.End()
		o.Prepare = func(rp *state.RP, lookedUp bool) error { return pd.Decide(ctx, rp, lookedUp) }
	}
	for j := range jobs {
		o.MayExist = mayExist(run.fresh[j.v.Name], j.p)
		n, res, err := inv.listPartition(lctx, j.v, j.p, o)
		totals.add(n, res)
		run.note(j.v.Name, res)
		if err != nil {
			fail(err)
		}
	}
}
