package copier

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Adoption: before its first StartCopyJob, a state that has never looked
// (no adoption mark: fresh, rebuilt, pointed at a new directory) asks
// AWS which of its queued RPs are copied already or being copied, and
// records them, so that it never starts a second copy (ADR 0002,
// "Adoption"). Two sources, because neither is complete on its own:
//
//   - ListCopyJobs in the source account maps a source RP to its job and
//     destination RP exactly, but AWS does not document how long it
//     keeps job history.
//   - The destination vault's recovery points stay as long as the copy
//     does. A copy keeps its source's creation date (AWS: "the creation
//     date refers to when the source was created") and carries the
//     source vault (SourceBackupVaultArn) and the resource (ResourceArn),
//     but no field names the source RP. So a copy is matched on (source
//     vault, resource, creation second); a key that more than one source
//     RP shares is ambiguous and holds those RPs out (never copies them)
//     for the operator.

// AdoptSummary is what adoption and intent reconciliation found in AWS.
type AdoptSummary struct {
	Swept     bool  `json:"swept"`     // this run looked in AWS for copies the state had no record of
	Jobs      int64 `json:"jobs"`      // copy jobs listed for the sweep
	DestRPs   int64 `json:"dest_rps"`  // destination recovery points listed
	Completed int64 `json:"completed"` // RPs found copied already (this run)
	Running   int64 `json:"running"`   // RPs found with a job in flight, tracked like any other (this run)
	HeldNow   int64 `json:"held_now"`  // RPs this run held out
	Resent    int64 `json:"resent"`    // crashed intents sent again: the job history proved no job was made
	// Held counts every held RP in the state (all runs): possibly copied,
	// so shuffle starts none; the operator checks and requeues them.
	Held         int64            `json:"held"`
	HeldByReason map[string]int64 `json:"held_by_reason,omitempty"`
}

// Hold reasons (the record's category).
const (
	HoldAmbiguous = "ambiguous-copy"  // a destination RP matches more than one source RP
	HoldDestState = "copy-unfinished" // a destination RP matches, but is not COMPLETED
	HoldUnknown   = "outcome-unknown" // an intent no job listing covers and no copy explains
)

// adoptKey is the hash of (source vault, resource ARN, creation second):
// the only link AWS documents between a copy and its source.
func adoptKey(vault, resource string, created time.Time) uint64 {
	h := fnv.New64a()
	h.Write([]byte(vault))
	h.Write([]byte{0})
	h.Write([]byte(resource))
	h.Write([]byte{0})
	var b [8]byte
	s := created.Unix()
	for i := range b {
		b[i] = byte(s >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

// adoptCand is one RP the sweep looks for: queued and never started by
// this state, or held by an earlier run.
type adoptCand struct {
	rec       *state.CopyRecord // the record to write (held ones: the stored record)
	sameKey   *adoptCand        // the next wanted RP with the same adoptKey
	job       *adoptJob
	destRP    string // a COMPLETED destination RP matched to it
	destState string // the status of a matched destination RP that is not COMPLETED
	ambiguous bool
}

// adoptJob is what the sweep keeps of a listed copy job.
type adoptJob struct {
	id, state, destRP string
	created, ended    *time.Time
	size              int64
}

func jobRank(s string) int {
	switch types.CopyJobState(s) {
	case types.CopyJobStateCompleted:
		return 3
	case types.CopyJobStateRunning, types.CopyJobStateCreated:
		return 2
	}
	return 0 // FAILED, PARTIAL: no copy; the RP is copied as usual
}

// adoptGroup is every candidate bound for one destination vault.
type adoptGroup struct {
	destArn   string
	srcVaults map[string]string // source vault ARN -> name
	want      map[string]*adoptCand
	byKey     map[uint64]*adoptCand // wanted RPs by adoptKey
	keys      map[uint64]int        // how many source RPs (any state) share each key
	oldest    time.Time             // the oldest wanted RP's creation
}

// adoptExisting sweeps AWS for the candidates: included RPs with no
// copy record that the last sweep did not cover (its destination vault
// was not swept, or the RP was decided since the sweep began: a new or
// re-decided RP), and the held records. It commits what it finds
// (PutAdopted) before returning, and the mark last. With no candidate it
// lists nothing.
func (c *Copier) adoptExisting(ctx context.Context) error {
	began := c.Now().UTC()
	mark, _, err := c.Store.Adoption()
	if err != nil {
		return err
	}
	ep, err := c.Store.Epochs()
	if err != nil {
		return err
	}
	swept := map[string]bool{}
	for _, v := range mark.Vaults {
		swept[v] = true
	}
	held, err := c.heldRecords()
	if err != nil {
		return err
	}
	if len(held) == 0 && mark.DecEpoch != "" && mark.DecEpoch == ep.Dec && mark.InvEpoch == ep.Inv && c.allSwept(swept) {
		// Every vault was swept and nothing decided since: no RP can be
		// a candidate, and the scan of every RP would find none.
		return nil
	}
	groups, all, err := c.adoptGroups(ctx, held, swept, mark.At)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		if c.Dest == nil {
			return errors.New("copy: no destination reader to look for existing copies with; shuffle cannot prove it would not copy twice")
		}
		c.sum.Adopt.Swept = true
	}
	for _, g := range groups {
		if err := c.sweepGroup(ctx, g); err != nil {
			return err
		}
	}
	fresh := false
	for _, v := range all {
		if !swept[v] {
			swept[v], fresh = true, true
		}
	}
	if len(groups) == 0 && !fresh {
		// No candidate since the last sweep: it now reaches to began.
		if (mark.DecEpoch == ep.Dec && mark.InvEpoch == ep.Inv) || len(mark.Vaults) == 0 {
			return nil
		}
		mark.At, mark.InvEpoch, mark.DecEpoch = began, ep.Inv, ep.Dec
		return c.Store.MarkAdopted(mark)
	}
	vaults := make([]string, 0, len(swept))
	for v := range swept {
		vaults = append(vaults, v)
	}
	sort.Strings(vaults)
	a := c.sum.Adopt
	return c.Store.MarkAdopted(state.AdoptionMark{At: began, Vaults: vaults, Jobs: a.Jobs, DestRPs: a.DestRPs,
		Adopted: a.Completed + a.Running, Held: a.HeldNow, InvEpoch: ep.Inv, DecEpoch: ep.Dec})
}

// adoptGroups finds the candidates by destination vault (one scan of the
// RPs), then counts the ambiguity keys of every RP of the source vaults
// that have candidates. all is every destination vault ARN considered.
func (c *Copier) adoptGroups(ctx context.Context, held map[string]*state.CopyRecord, swept map[string]bool, since time.Time) (groups []*adoptGroup, all []string, err error) {
	byDest := map[string]*adoptGroup{}
	vaultGroup := map[string]*adoptGroup{}
	vaultArn := map[string]string{}
	for name, t := range c.Targets {
		if t.Arn == "" {
			continue
		}
		v, ok, err := c.Store.GetVault(state.Source, name)
		if err != nil {
			return nil, nil, err
		}
		if !ok || v.Arn == "" {
			continue
		}
		g := byDest[t.Arn]
		if g == nil {
			g = &adoptGroup{destArn: t.Arn, srcVaults: map[string]string{}, want: map[string]*adoptCand{},
				byKey: map[uint64]*adoptCand{}, keys: map[uint64]int{}}
			byDest[t.Arn] = g
			all = append(all, t.Arn)
		}
		g.srcVaults[v.Arn] = name
		vaultGroup[name] = g
		vaultArn[name] = v.Arn
	}
	err = c.Store.ScanRPs(func(rp *state.RP) error {
		g := vaultGroup[rp.Vault]
		if g == nil {
			return nil
		}
		var rec *state.CopyRecord
		switch {
		case held[rp.Vault+"\x00"+rp.Arn] != nil:
			rec = held[rp.Vault+"\x00"+rp.Arn]
		case rp.Copy == state.CopyPending && rp.Decision != nil && rp.Decision.Outcome == state.Included &&
			(!swept[g.destArn] || !rp.Decision.At.Before(since)):
			rec = &state.CopyRecord{Vault: rp.Vault, Arn: rp.Arn, ResourceArn: rp.ResourceArn, ResourceType: rp.ResourceType,
				Size: rp.Size, Created: rp.CreationDate.UTC(), DestVaultArn: g.destArn}
		default:
			return ctx.Err()
		}
		k := adoptKey(vaultArn[rp.Vault], rp.ResourceArn, rp.CreationDate)
		cand := &adoptCand{rec: rec, sameKey: g.byKey[k]}
		g.want[rp.Arn] = cand
		g.byKey[k] = cand
		if g.oldest.IsZero() || rp.CreationDate.Before(g.oldest) {
			g.oldest = rp.CreationDate
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	for _, g := range byDest {
		if len(g.want) == 0 {
			continue
		}
		groups = append(groups, g)
		for arn, name := range g.srcVaults {
			err := c.Store.ScanVault(name, func(rp *state.RP) error {
				g.keys[adoptKey(arn, rp.ResourceArn, rp.CreationDate)]++
				return ctx.Err()
			})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].destArn < groups[j].destArn })
	return groups, all, nil
}

// sweepGroup lists one destination vault's jobs and recovery points,
// decides each candidate and commits the decisions.
func (c *Copier) sweepGroup(ctx context.Context, g *adoptGroup) error {
	// No job for an RP can be older than the RP: that bound reaches back
	// as far as AWS keeps job history, whatever that is.
	in := &backup.ListCopyJobsInput{ByDestinationVaultArn: aws.String(g.destArn),
		ByCreatedAfter: aws.Time(g.oldest.Add(-time.Hour)), MaxResults: aws.Int32(1000)}
	p := backup.NewListCopyJobsPaginator(c.api, in)
	for p.HasMorePages() {
		out, err := awsclient.NextPage(ctx, func(ctx context.Context) (*backup.ListCopyJobsOutput, error) { return p.NextPage(ctx) })
		if err != nil {
			return fmt.Errorf("before the first copy into %s, shuffle looks for copy jobs already made: ListCopyJobs: %w", g.destArn, err)
		}
		for i := range out.CopyJobs {
			c.sum.Adopt.Jobs++
			j := &out.CopyJobs[i]
			cand := g.want[aws.ToString(j.SourceRecoveryPointArn)]
			if cand == nil || aws.ToString(j.DestinationBackupVaultArn) != g.destArn {
				continue
			}
			if cand.job != nil && jobRank(cand.job.state) >= jobRank(string(j.State)) {
				continue
			}
			cand.job = &adoptJob{id: aws.ToString(j.CopyJobId), state: string(j.State), destRP: aws.ToString(j.DestinationRecoveryPointArn),
				created: utcPtr(j.CreationDate), ended: utcPtr(j.CompletionDate), size: aws.ToInt64(j.BackupSizeInBytes)}
		}
	}
	if err := c.matchDestRPs(ctx, g); err != nil {
		return err
	}
	var recs []*state.CopyRecord
	for _, cand := range g.want {
		if r := c.decideCand(cand); r != nil {
			recs = append(recs, r)
		}
	}
	return c.Store.PutAdopted(recs)
}

// matchDestRPs lists the destination vault and matches each copy of one
// of the group's source vaults to the candidates.
func (c *Copier) matchDestRPs(ctx context.Context, g *adoptGroup) error {
	name := g.destArn[strings.LastIndexByte(g.destArn, ':')+1:]
	// A copy keeps its source's creation date: none of the candidates'
	// copies is older than the oldest candidate.
	p := backup.NewListRecoveryPointsByBackupVaultPaginator(c.Dest, &backup.ListRecoveryPointsByBackupVaultInput{
		BackupVaultName: aws.String(name), MaxResults: aws.Int32(1000), ByCreatedAfter: aws.Time(g.oldest.Add(-time.Hour))})
	for p.HasMorePages() {
		out, err := awsclient.NextPage(ctx, func(ctx context.Context) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
			return p.NextPage(ctx)
		})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil // the vault does not exist yet: nothing was copied into it
		}
		if err != nil {
			return fmt.Errorf("before the first copy into %s, shuffle looks for copies already there: ListRecoveryPointsByBackupVault (destination account): %w", g.destArn, err)
		}
		for i := range out.RecoveryPoints {
			c.sum.Adopt.DestRPs++
			d := &out.RecoveryPoints[i]
			if d.CreationDate == nil {
				continue
			}
			src := aws.ToString(d.SourceBackupVaultArn)
			if _, ok := g.srcVaults[src]; !ok {
				continue
			}
			k := adoptKey(src, aws.ToString(d.ResourceArn), *d.CreationDate)
			cand := g.byKey[k]
			if cand == nil {
				continue // the copy of an RP this state knows (or no longer lists)
			}
			if g.keys[k] > 1 {
				for ; cand != nil; cand = cand.sameKey {
					cand.ambiguous = true
				}
				continue
			}
			if cand.destRP != "" {
				continue // a second copy from the past: copied already either way
			}
			if d.Status == types.RecoveryPointStatusCompleted {
				cand.destRP, cand.destState = aws.ToString(d.RecoveryPointArn), ""
				if d.CompletionDate != nil {
					cand.rec.CompletedAt = utcPtr(d.CompletionDate)
				}
				cand.rec.DestSize = aws.ToInt64(d.BackupSizeInBytes)
			} else {
				cand.destState = string(d.Status)
			}
		}
	}
	return nil
}

// decideCand turns what the listings said about one candidate into the
// record to commit, or nil when it stays queued (or held as it was).
func (c *Copier) decideCand(cand *adoptCand) *state.CopyRecord {
	r := cand.rec
	wasHeld := r.State == state.CopyHeld
	j := cand.job
	switch {
	case j != nil && jobRank(j.state) > 0:
		if r.Attempt == 0 {
			r.Attempt = 1
		}
		r.Token = state.CopyToken(r.Arn, r.DestVaultArn, r.Attempt)
		r.JobID, r.StartedAt, r.Reason, r.Category, r.NextAt = j.id, j.created, "", "", nil
		a := r.Last()
		a.JobID, a.State, a.At = j.id, j.state, ptrTime(j.created)
		if j.state == string(types.CopyJobStateCompleted) {
			r.State, r.DestRPArn, r.CompletedAt, r.DestSize = state.CopyCompleted, j.destRP, j.ended, j.size
			a.End = j.ended
			c.sum.Adopt.Completed++
		} else {
			r.State = state.CopyRunning
			c.sum.Adopt.Running++
		}
	case cand.destRP != "" && !cand.ambiguous:
		r.State, r.DestRPArn, r.Reason, r.Category, r.NextAt = state.CopyCompleted, cand.destRP, "", "", nil
		c.sum.Adopt.Completed++
	case cand.ambiguous:
		if wasHeld {
			return nil
		}
		r.State, r.Category = state.CopyHeld, HoldAmbiguous
		r.Reason = "a recovery point in " + r.DestVaultArn + " has this RP's source vault, resource and creation time, and so does another source RP: it may be this RP's copy; check, then requeue it to copy"
		c.sum.Adopt.HeldNow++
	case cand.destState != "":
		if wasHeld {
			return nil
		}
		r.State, r.Category = state.CopyHeld, HoldDestState
		r.Reason = "a copy of this RP is in " + r.DestVaultArn + " in status " + cand.destState + "; shuffle looks again on the next run"
		c.sum.Adopt.HeldNow++
	default:
		// Nothing in AWS: queued as usual. A held RP whose copy is no
		// longer there stays held for the operator.
		return nil
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	if r.Token == "" {
		r.Token = state.CopyToken(r.Arn, r.DestVaultArn, r.Attempt)
	}
	if r.IntentAt.IsZero() {
		r.IntentAt = c.Now().UTC()
	}
	return r
}

// Adopt runs the sweep on its own, before Run (which then does not run
// it again): the caller can finish it before the copy step's progress
// begins.
func (c *Copier) Adopt(ctx context.Context) error {
	c.init()
	c.api = newPacedJobs(c.Jobs, c.Counts, c.Opts.StartTPS)
	if err := c.adoptExisting(ctx); err != nil {
		return err
	}
	a := c.sum.Adopt
	c.preAdopt = &a
	return nil
}

// heldRecords are the copy records held for the operator (ADR 0002,
// adoption), by vault and ARN. The counters say when there are none,
// and then no copy record is read.
func (c *Copier) heldRecords() (map[string]*state.CopyRecord, error) {
	held := map[string]*state.CopyRecord{}
	if sum, err := c.Store.Summary(state.CubeReasons); err == nil {
		n := int64(0)
		for cell, m := range sum.Cells {
			if cell.Status == state.CopyHeld {
				n += m.N
			}
		}
		if n == 0 {
			return held, nil
		}
	} else if !errors.Is(err, state.ErrNoSummary) {
		return nil, err
	}
	err := c.Store.ScanCopies(func(r *state.CopyRecord) error {
		if r.State == state.CopyHeld {
			held[r.Vault+"\x00"+r.Arn] = r
		}
		return nil
	})
	return held, err
}

// allSwept reports whether every destination vault the copy targets was
// swept already.
func (c *Copier) allSwept(swept map[string]bool) bool {
	for _, t := range c.Targets {
		if t.Arn != "" && !swept[t.Arn] {
			return false
		}
	}
	return true
}
