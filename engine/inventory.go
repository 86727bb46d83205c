package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

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
	Progress   *Progress
	// Prepare, when set, is called once the vaults are listed. It returns
	// a factory that each listing worker calls once for its own function
	// (and its release) to apply to every RP a page adds or changes,
	// before the page's transaction opens (state.PageOptions.Prepare). empty says
	// that the state held no RP at all when the run began.
	Prepare func(ctx context.Context, empty bool) (func() (func(rp *state.RP, lookedUp bool) error, func(), error), error)
	// LiveCount, when set, is asked at the end of a run that began with
	// no RP in the state and saved every page through Prepare (no
	// catch-all listing was needed): Prepare has then seen every RP the
	// state holds. When it answers ok, its count stands for the live RPs
	// and the count scan is skipped.
	LiveCount func() (n int64, ok bool)
}

// InventorySummary is what one inventory pass did.
type InventorySummary struct {
	Vaults         int   `json:"vaults"`
	RecoveryPoints int64 `json:"recovery_points"`
	Partitions     int   `json:"partitions"`
	ListedPages    int64 `json:"listed_pages"`
	New            int64 `json:"new"`
	Changed        int64 `json:"changed"`
	Gone           int64 `json:"gone"`
	Resumed        bool  `json:"resumed"`
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
		inv.Progress = NewProgress()
	}
}

// Run lists vaults and recovery points. Finished partitions are never
// listed again in the same generation; an interrupted one resumes from
// its saved NextToken.
func (inv *Inventory) Run(ctx context.Context) (InventorySummary, error) {
	inv.defaults()
	var sum InventorySummary
	gen, err := inv.Store.Generation()
	if err != nil {
		return sum, err
	}
	vaults, err := inv.listVaults(ctx, inv.Source, state.Source)
	if err != nil {
		return sum, fmt.Errorf("source: %w", err)
	}
	if inv.Destination != nil {
		if _, err := inv.listVaults(ctx, inv.Destination, state.Destination); err != nil {
			return sum, fmt.Errorf("destination: %w", err)
		}
	}
	sum.Vaults = len(vaults)
	sum.Resumed = true
	hasAny, err := inv.Store.HasAnyRP()
	if err != nil {
		return sum, err
	}
	newPrep := func() (func(*state.RP, bool) error, func(), error) { return nil, func() {}, nil }
	if inv.Prepare != nil {
		if newPrep, err = inv.Prepare(ctx, !hasAny); err != nil {
			return sum, err
		}
	}
	allPrepared := !hasAny && inv.Prepare != nil

	type job struct {
		v *state.Vault
		p *state.Partition
	}
	var todo []job
	vaultGen := map[string]uint64{}
	fresh := map[string]bool{} // vaults with no RP in the state yet
	for _, v := range vaults {
		has, err := inv.Store.HasRPs(v.Name)
		if err != nil {
			return sum, err
		}
		fresh[v.Name] = !has
		g := max(gen, v.Generation)
		vaultGen[v.Name] = g
		inv.Progress.SetExpected(v.Name, v.NumberOfRecoveryPoints)
		parts, err := inv.Store.Partitions(v.Name)
		if err != nil {
			return sum, err
		}
		if len(parts) == 0 || parts[0].Generation != g {
			parts = inv.layout(v, g)
			if err := inv.Store.PutPartitions(parts); err != nil {
				return sum, err
			}
		}
		sum.Partitions += len(parts)
		var seen int64
		for _, p := range parts {
			seen += p.Seen
			if !p.Done {
				todo = append(todo, job{v, p})
			}
		}
		inv.Progress.AddListed(v.Name, seen)
	}
	if len(todo) > 0 {
		sum.Resumed = false
	}

	var (
		mu       sync.Mutex
		firstErr error
		pages    atomic.Int64
		newN     atomic.Int64
		changedN atomic.Int64
	)
	ch := make(chan job)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := 0; i < inv.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prep, release, err := newPrep()
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				for range ch {
				}
				return
			}
			defer release()
			for j := range ch {
				n, res, err := inv.listPartition(ctx, j.v, j.p, state.PageOptions{Prepare: prep, MayExist: mayExist(fresh[j.v.Name], j.p)})
				pages.Add(n)
				newN.Add(int64(res.New))
				changedN.Add(int64(res.Changed))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Interleave vaults so that every vault makes progress.
	sort.SliceStable(todo, func(a, b int) bool { return todo[a].p.ID < todo[b].p.ID })
feed:
	for _, j := range todo {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	sum.ListedPages, sum.New, sum.Changed = pages.Load(), newN.Load(), changedN.Load()
	if firstErr != nil {
		return sum, firstErr
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}

	// Close each vault: completeness check, then mark what is gone.
	for _, v := range vaults {
		g := vaultGen[v.Name]
		if v.InventoryDone == g {
			continue
		}
		parts, err := inv.Store.Partitions(v.Name)
		if err != nil {
			return sum, err
		}
		var seen int64
		catchAll := false
		for _, p := range parts {
			seen += p.Seen
			catchAll = catchAll || p.ResourceType == ""
		}
		if !catchAll && seen < v.NumberOfRecoveryPoints {
			// Some RPs are of a type not in ResourceTypes: list the vault whole.
			allPrepared = false
			p := &state.Partition{Vault: v.Name, ID: state.PartitionID("", 0), Generation: g}
			if err := inv.Store.PutPartitions([]*state.Partition{p}); err != nil {
				return sum, err
			}
			n, res, err := inv.listPartition(ctx, v, p, state.PageOptions{})
			sum.ListedPages += n
			sum.New += int64(res.New)
			sum.Changed += int64(res.Changed)
			if err != nil {
				return sum, err
			}
		}
		// A vault with no RP when the run began has only RPs this
		// generation listed: none can be gone, so skip the scan.
		if !fresh[v.Name] {
			gone, err := inv.Store.MarkGone(v.Name, g)
			if err != nil {
				return sum, err
			}
			sum.Gone += int64(gone)
		}
		cur, _, err := inv.Store.GetVault(state.Source, v.Name)
		if err != nil {
			return sum, err
		}
		cur.InventoryDone = g
		if err := inv.Store.PutVault(cur); err != nil {
			return sum, err
		}
	}
	if allPrepared && inv.LiveCount != nil {
		if n, ok := inv.LiveCount(); ok {
			sum.RecoveryPoints = n
			return sum, putLiveCount(inv.Store, n)
		}
	}
	sum.RecoveryPoints, err = countLive(inv.Store)
	return sum, err
}

// layout splits a vault into partitions for generation g.
func (inv *Inventory) layout(v *state.Vault, g uint64) []*state.Partition {
	if v.NumberOfRecoveryPoints <= inv.SplitAbove {
		return []*state.Partition{{Vault: v.Name, ID: state.PartitionID("", 0), Generation: g}}
	}
	var out []*state.Partition
	for _, t := range ResourceTypes {
		if v.NumberOfRecoveryPoints <= 10*inv.SplitAbove {
			out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, 0), ResourceType: t, Generation: g})
			continue
		}
		// Yearly ranges back ten years, plus everything older. Bounds
		// overlap by a second so that no RP on a boundary is missed,
		// whether AWS treats the bounds as strict or not; the overlap is
		// deduplicated by ARN.
		year := inv.Now().UTC().Year()
		var before int64
		for y := year; y > year-10; y-- {
			after := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, after), ResourceType: t, After: after - 1, Before: before, Generation: g})
			before = after + 1
		}
		out = append(out, &state.Partition{Vault: v.Name, ID: state.PartitionID(t, 1), ResourceType: t, Before: before, Generation: g})
	}
	return out
}

// listPartition lists one partition to its end, saving every page with
// its cursor in one transaction.
func (inv *Inventory) listPartition(ctx context.Context, v *state.Vault, p *state.Partition, o state.PageOptions) (pages int64, res state.PageResult, err error) {
	for !p.Done {
		if err := ctx.Err(); err != nil {
			return pages, res, err
		}
		in := &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(v.Name),
			MaxResults:      aws.Int32(inv.PageSize),
		}
		if p.NextToken != "" {
			in.NextToken = aws.String(p.NextToken)
		}
		if p.ResourceType != "" {
			in.ByResourceType = aws.String(p.ResourceType)
		}
		if p.After != 0 {
			in.ByCreatedAfter = aws.Time(time.Unix(p.After, 0))
		}
		if p.Before != 0 {
			in.ByCreatedBefore = aws.Time(time.Unix(p.Before, 0))
		}
		out, err := inv.Source.ListRecoveryPointsByBackupVault(ctx, in)
		if err != nil {
			return pages, res, fmt.Errorf("list recovery points of vault %s (partition %s): %w", v.Name, partitionLabel(p), err)
		}
		rps := make([]*state.RP, 0, len(out.RecoveryPoints))
		for i := range out.RecoveryPoints {
			rps = append(rps, rpFromSDK(v.Name, &out.RecoveryPoints[i]))
		}
		p.NextToken = aws.ToString(out.NextToken)
		p.Done = p.NextToken == ""
		p.Pages++
		p.Seen += int64(len(rps))
		r, err := inv.Store.SavePageWith(p, rps, inv.Now().UTC(), o)
		if err != nil {
			return pages, res, fmt.Errorf("save page of vault %s: %w", v.Name, err)
		}
		pages++
		res.New += r.New
		res.Changed += r.Changed
		res.Unchanged += r.Unchanged
		inv.Progress.AddListed(v.Name, int64(len(rps)))
	}
	return pages, res, nil
}

// mayExist tells SavePageWith which RPs of partition p it must look up.
// In a vault that had no RP when the run began, an RP can be in the
// state already only if another partition listed it: partitions of
// different types never share an RP, and partitions of one type share
// only the overlap at their date bounds (layout). Elsewhere every RP is
// looked up.
func mayExist(fresh bool, p *state.Partition) func(*state.RP) bool {
	switch {
	case !fresh:
		return nil
	case p.ResourceType == "" && p.After == 0 && p.Before == 0:
		// The vault's only partition being listed: a small vault's, or
		// the catch-all of a vault whose typed partitions found nothing.
		return func(*state.RP) bool { return false }
	case p.ResourceType == "":
		return nil
	}
	near := func(t time.Time, bound int64) bool {
		d := t.Unix() - bound
		return bound != 0 && d >= -2 && d <= 2
	}
	return func(rp *state.RP) bool {
		return rp.ResourceType != p.ResourceType || near(rp.CreationDate, p.After) || near(rp.CreationDate, p.Before)
	}
}

func partitionLabel(p *state.Partition) string {
	t := p.ResourceType
	if t == "" {
		t = "all types"
	}
	if p.After != 0 || p.Before != 0 {
		return fmt.Sprintf("%s, created %d..%d", t, p.After, p.Before)
	}
	return t
}

func rpFromSDK(vault string, r *types.RecoveryPointByBackupVault) *state.RP {
	rp := &state.RP{
		Arn: aws.ToString(r.RecoveryPointArn), Vault: vault, ResourceArn: aws.ToString(r.ResourceArn),
		ResourceType: aws.ToString(r.ResourceType), ResourceName: aws.ToString(r.ResourceName),
		Status: string(r.Status), StatusMessage: aws.ToString(r.StatusMessage),
		CreationDate: aws.ToTime(r.CreationDate).UTC(), CompletionDate: utcPtr(r.CompletionDate),
		Size: aws.ToInt64(r.BackupSizeInBytes), EncryptionKeyArn: aws.ToString(r.EncryptionKeyArn),
		EncryptionKeyType: string(r.EncryptionKeyType), IsEncrypted: r.IsEncrypted,
		ParentArn: aws.ToString(r.ParentRecoveryPointArn), IamRoleArn: aws.ToString(r.IamRoleArn),
	}
	if r.CreatedBy != nil {
		rp.BackupPlanID = aws.ToString(r.CreatedBy.BackupPlanId)
	}
	if lc := r.Lifecycle; lc != nil {
		rp.DeleteAfterDays, rp.ColdAfterDays = lc.DeleteAfterDays, lc.MoveToColdStorageAfterDays
	}
	if cl := r.CalculatedLifecycle; cl != nil {
		rp.DeleteAt, rp.MoveToColdAt = utcPtr(cl.DeleteAt), utcPtr(cl.MoveToColdStorageAt)
	}
	return rp
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// listVaults lists one side's vaults with their replicable settings and
// saves them, keeping the inventory bookkeeping of known vaults.
func (inv *Inventory) listVaults(ctx context.Context, api BackupReader, side state.Side) ([]*state.Vault, error) {
	var out []*state.Vault
	p := backup.NewListBackupVaultsPaginator(api, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListBackupVaults: %w", err)
		}
		for _, m := range page.BackupVaultList {
			v := &state.Vault{
				Side: side, Name: aws.ToString(m.BackupVaultName), Arn: aws.ToString(m.BackupVaultArn),
				VaultType: string(m.VaultType), VaultState: string(m.VaultState),
				EncryptionKeyArn: aws.ToString(m.EncryptionKeyArn), EncryptionKeyType: string(m.EncryptionKeyType),
				Locked: aws.ToBool(m.Locked), MinRetentionDays: m.MinRetentionDays, MaxRetentionDays: m.MaxRetentionDays,
				LockDate: utcPtr(m.LockDate), NumberOfRecoveryPoints: m.NumberOfRecoveryPoints, ListedAt: inv.Now().UTC(),
			}
			if err := inv.vaultSettings(ctx, api, v); err != nil {
				return nil, err
			}
			if old, ok, err := inv.Store.GetVault(side, v.Name); err != nil {
				return nil, err
			} else if ok {
				v.Generation, v.InventoryDone = old.Generation, old.InventoryDone
			}
			if err := inv.Store.PutVault(v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// vaultSettings reads the access policy, notifications and tags.
func (inv *Inventory) vaultSettings(ctx context.Context, api BackupReader, v *state.Vault) error {
	pol, err := api.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.AccessPolicy = aws.ToString(pol.Policy)
	case !isNotFound(err):
		return fmt.Errorf("GetBackupVaultAccessPolicy %s: %w", v.Name, err)
	}
	n, err := api.GetBackupVaultNotifications(ctx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String(v.Name)})
	switch {
	case err == nil:
		v.SNSTopicArn = aws.ToString(n.SNSTopicArn)
		for _, e := range n.BackupVaultEvents {
			v.Events = append(v.Events, string(e))
		}
	case !isNotFound(err):
		return fmt.Errorf("GetBackupVaultNotifications %s: %w", v.Name, err)
	}
	tp := backup.NewListTagsPaginator(api, &backup.ListTagsInput{ResourceArn: aws.String(v.Arn)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListTags %s: %w", v.Arn, err)
		}
		for k, val := range page.Tags {
			if v.Tags == nil {
				v.Tags = map[string]string{}
			}
			v.Tags[k] = val
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// countLive counts live RPs, reusing the last count while no inventory
// write has happened since.
type liveCountCache struct {
	Inv   string `json:"inv"`
	Count int64  `json:"count"`
}

// putLiveCount records n as the live count of the current inventory.
func putLiveCount(st *state.Store, n int64) error {
	ep, err := st.Epochs()
	if err != nil {
		return err
	}
	return st.PutCache("inventory-count", liveCountCache{Inv: ep.Inv, Count: n})
}

func countLive(st *state.Store) (int64, error) {
	ep, err := st.Epochs()
	if err != nil {
		return 0, err
	}
	var c liveCountCache
	if ok, err := st.GetCache("inventory-count", &c); err != nil {
		return 0, err
	} else if ok && c.Inv == ep.Inv {
		return c.Count, nil
	}
	n, err := st.CountLive()
	if err != nil {
		return 0, err
	}
	return n, st.PutCache("inventory-count", liveCountCache{Inv: ep.Inv, Count: n})
}
