package copier

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Loading the schedule from the state, and settling what an earlier
// process left in flight.

// load builds the schedule from the state: included RPs never started,
// and copy records not yet final.
func (c *Copier) load(ctx context.Context) ([]tagReq, error) {
	open, tagQueue, err := c.loadRecords()
	if err != nil {
		return nil, err
	}
	return tagQueue, c.loadRPs(ctx, open)
}

// loadRecords reads the copy records: it counts the final ones and
// returns the open ones (by vault and ARN) and the copies still to tag.
func (c *Copier) loadRecords() (map[string]*state.CopyRecord, []tagReq, error) {
	open := map[string]*state.CopyRecord{}
	var tagQueue []tagReq
	err := c.Store.ScanCopies(func(r *state.CopyRecord) error {
		switch r.State {
		case state.CopyCompleted:
			c.sum.Completed++
			c.sum.Bytes += r.Size
			if r.StartedAt != nil && r.CompletedAt != nil {
				c.model.Add(r.ResourceType, r.Size, r.CompletedAt.Sub(*r.StartedAt))
			}
			switch ts := TagState(r.TagState); {
			case ts == TagApplied:
				c.sum.Tagged++
			case (ts == TagPending || ts == TagError) && c.Tags != nil && c.NewTagsFor != nil:
				tagQueue = append(tagQueue, tagReq{rec: *r})
			case ts == TagError:
				c.sum.TagErrors++
			}
		case state.CopyFailed:
			c.sum.Failed++
			c.sum.FailedByReason[r.FailureKey()]++
		case state.CopyHeld: // possibly copied already: never started (adopt.go)
			c.sum.Adopt.Held++
			c.sum.Adopt.HeldByReason[r.Category]++
		default:
			open[r.Vault+"\x00"+r.Arn] = r
		}
		return nil
	})
	return open, tagQueue, err
}

// loadRPs builds the schedule: the included RPs never started and the
// RPs of the open copy records.
func (c *Copier) loadRPs(ctx context.Context, open map[string]*state.CopyRecord) error {
	c.s = sched{byName: map[string]*vaultSched{}, cap: float64(c.Opts.MaxInFlight), maxCap: float64(c.Opts.MaxInFlight)}
	c.chains = map[string]*chain{}
	err := c.Store.ScanRPs(func(rp *state.RP) error {
		var rec *state.CopyRecord
		switch rp.Copy {
		case state.CopyPending:
			if rp.Decision == nil || rp.Decision.Outcome != state.Included {
				return nil
			}
		case state.CopyingRP:
			if rec = open[rp.Vault+"\x00"+rp.Arn]; rec == nil {
				return nil // completed or failed: counted above
			}
		default:
			return nil
		}
		if c.Only != nil && (rec == nil || rec.State == state.CopyRetry) && !c.Only(rp.Arn) {
			// Not in the approved plan (or decided otherwise now): held
			// back; a job already in AWS is still tracked.
			c.sum.NotApproved++
			return nil
		}
		c.loadRP(rp, rec)
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	sort.Slice(c.s.vaults, func(i, j int) bool { return c.s.vaults[i].name < c.s.vaults[j].name })
	now := c.Now()
	for _, ch := range c.chains {
		c.settleChain(ch, now)
	}
	c.publishTotal(c.chains)
	return nil
}

// loadRP adds one RP (and its open record, if any) to the schedule, or
// parks it when its vault is not ready.
func (c *Copier) loadRP(rp *state.RP, rec *state.CopyRecord) {
	t, ok := c.Targets[rp.Vault]
	if !ok || !t.Ready {
		if rec == nil || rec.State == state.CopyRetry {
			c.countWaiting(rp.Vault, 1)
			c.park(rp, rec)
			return
		}
		// A job already in AWS is tracked whatever the vault's state.
	}
	destArn := t.Arn
	if rec != nil && rec.DestVaultArn != "" {
		destArn = rec.DestVaultArn
	}
	v, _ := c.vaultFor(rp.Vault, destArn)
	it := newCopyItem(rp, rec, v)
	ch := c.chainFor(rp.ResourceArn)
	it.chain = ch
	ch.items = append(ch.items, it)
}

// settleChain orders a loaded chain and puts it where its head belongs:
// in flight (a job in AWS, an intent to settle), waiting for a retry, or
// ready.
func (c *Copier) settleChain(ch *chain, now time.Time) {
	// Jobs already in AWS first, then by priority, then oldest first.
	sort.SliceStable(ch.items, func(i, j int) bool {
		a, b := ch.items[i], ch.items[j]
		if ao, bo := a.rec != nil && a.rec.State != state.CopyRetry, b.rec != nil && b.rec.State != state.CopyRetry; ao != bo {
			return ao
		}
		return itemFirst(a, b)
	})
	for _, it := range ch.items {
		ch.remaining += it.est
	}
	head := ch.head()
	switch {
	case head.rec == nil:
	case head.rec.State == state.CopyRunning:
		c.inflight[head.rec.JobID] = head
		head.dest.inflight++
		ch.busy = true
	case head.rec.State == state.CopyIntent:
		c.intents = append(c.intents, head)
		head.dest.inflight++
		ch.busy = true
	case head.rec.State == state.CopyRetry && head.rec.NextAt != nil:
		ch.notBefore = *head.rec.NextAt
	}
	// Other records of the chain in running or intent (two jobs of one
	// resource: an earlier process started the next RP after the head's
	// job ended, or a requeue) are tracked too. An intent behind the
	// head is settled with the head's (reconcile), never just sent when
	// its turn comes: AWS may have made its job and forgotten its token.
	for _, it := range ch.items[1:] {
		switch {
		case it.rec == nil:
		case it.rec.State == state.CopyRunning:
			c.inflight[it.rec.JobID] = it
			it.dest.inflight++
		case it.rec.State == state.CopyIntent:
			c.intents = append(c.intents, it)
			it.dest.inflight++
			it.behind = true
		}
	}
	c.s.park(ch, now)
}

// vaultFor returns the schedule of a source vault, made (copying into
// destArn) if it has none yet; made says which.
func (c *Copier) vaultFor(name, destArn string) (v *vaultSched, made bool) {
	if v := c.s.byName[name]; v != nil {
		return v, false
	}
	vcap := math.Inf(1)
	if c.Opts.VaultCap > 0 {
		vcap = float64(c.Opts.VaultCap)
	}
	v = &vaultSched{name: name, destArn: destArn, cap: vcap, maxCap: vcap}
	c.s.byName[name] = v
	c.s.vaults = append(c.s.vaults, v)
	return v, true
}

// chainFor returns the chain of a resource, made empty if it has none.
func (c *Copier) chainFor(resource string) *chain {
	if c.chains == nil {
		c.chains = map[string]*chain{}
	}
	ch := c.chains[resource]
	if ch == nil {
		ch = &chain{resource: resource, heapIdx: -1, waitIdx: -1}
		c.chains[resource] = ch
	}
	return ch
}

// countLeft sets the summary's running, retrying and queued counts from
// the schedule as it stands.
func (c *Copier) countLeft() {
	var queued, retrying int64
	for _, v := range c.s.vaults {
		for _, ch := range v.ready {
			queued += int64(len(ch.items) - ch.next)
		}
	}
	for _, ch := range c.s.waiting {
		queued += int64(len(ch.items) - ch.next)
		if it := ch.head(); it != nil && it.rec != nil && it.rec.State == state.CopyRetry {
			retrying++
		}
	}
	for _, ch := range c.cutoff {
		queued += int64(len(ch.items) - ch.next)
	}
	busy := append([]*copyItem(nil), c.intents...)
	for _, it := range c.inflight {
		busy = append(busy, it)
	}
	for _, it := range busy {
		queued += int64(len(it.chain.items) - it.chain.next - 1)
	}
	c.sum.Running = int64(len(busy))
	c.sum.Queued, c.sum.Retrying = queued-retrying, retrying
}

// reconcile settles intents left by an earlier process: a job AWS did
// create for one is adopted; the rest are called again with their own
// token (ADR 0002, transition 4).
func (c *Copier) reconcile(ctx context.Context) error {
	if len(c.intents) == 0 {
		return nil
	}
	from := c.intents[0].rec.IntentAt
	for _, it := range c.intents {
		if it.rec.IntentAt.Before(from) {
			from = it.rec.IntentAt
		}
	}
	type key struct{ rp, vault string }
	want := map[key]*copyItem{}
	for _, it := range c.intents {
		want[key{it.arn, it.rec.DestVaultArn}] = it
	}
	in := &backup.ListCopyJobsInput{ByCreatedAfter: aws.Time(from.Add(-10 * time.Minute)), MaxResults: aws.Int32(1000)}
	p := backup.NewListCopyJobsPaginator(c.api, in)
	var oldestSeen time.Time // the oldest job listed: history reaches back at least that far
	for p.HasMorePages() {
		out, err := awsclient.NextPage(ctx, func(ctx context.Context) (*backup.ListCopyJobsOutput, error) { return p.NextPage(ctx) })
		if err != nil {
			return fmt.Errorf("reconcile copy intents: ListCopyJobs: %w", err)
		}
		for _, j := range out.CopyJobs {
			if t := j.CreationDate; t != nil && (oldestSeen.IsZero() || t.Before(oldestSeen)) {
				oldestSeen = *t
			}
			it := want[key{aws.ToString(j.SourceRecoveryPointArn), aws.ToString(j.DestinationBackupVaultArn)}]
			if it == nil || knownJob(it.rec, aws.ToString(j.CopyJobId)) {
				continue
			}
			delete(want, key{it.arn, it.rec.DestVaultArn})
			c.adopt(it, j)
		}
	}
	// Unmatched: settled by the destination's copies and the reach of
	// the job history; the rest are called again with the same token,
	// before anything new (adopt_intents.go).
	return c.settleIntents(ctx, from, oldestSeen)
}

func knownJob(r *state.CopyRecord, id string) bool {
	for _, a := range r.Attempts {
		if a.JobID == id && a.N != r.Attempt {
			return true
		}
	}
	return false
}

// adopt records that job j is the current attempt of it.
func (c *Copier) adopt(it *copyItem, j types.CopyJob) {
	r := it.rec
	r.JobID = aws.ToString(j.CopyJobId)
	r.StartedAt = utcPtr(j.CreationDate)
	a := r.Last()
	a.JobID, a.State, a.At = r.JobID, string(j.State), ptrTime(j.CreationDate)
	r.State = state.CopyRunning
	c.inflight[r.JobID] = it // its vault slot was counted when it was loaded
	c.dirty[r] = true
	if jobEnded(j.State) {
		c.ended(it, j)
	}
}
