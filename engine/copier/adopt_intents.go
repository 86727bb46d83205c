package copier

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// intentSkew allows for the difference between this machine's clock
// (an intent's time) and AWS's (a job's creation date).
const intentSkew = 10 * time.Minute

// jobHistoryFloor is the one assumption made about AWS's job history:
// ListCopyJobs lists a job for at least this long after its creation.
// AWS documents 30 days for backup jobs and for copy-job summaries, and
// nothing for ListCopyJobs; a job may sit in CREATED for 2 hours, and no
// one could follow a job that vanished sooner. An intent younger than
// this that no listing shows made no job.
const jobHistoryFloor = time.Hour

// settleIntents decides the intents ListCopyJobs did not explain (ADR
// 0002, transition 4). Sending one again with its own token is safe
// only if AWS still remembers the token, which AWS does not document.
// So, in order:
//
//  1. A COMPLETED copy in the destination vault that matches the intent
//     unambiguously is adopted: the job was made, and has ended.
//  2. A match that is ambiguous or not COMPLETED holds the RP.
//  3. If the job history reaches back past the intent (a job created
//     before it is still listed, or the intent is younger than
//     jobHistoryFloor), no job was made: the intent is sent again (with
//     its token, which is harmless either way).
//  4. Otherwise nothing can tell whether a job was made: the RP is held
//     and reported, never sent again blindly.
//
// from is the oldest intent's time; oldestSeen the oldest job the
// reconcile listing returned (zero: none).
func (c *Copier) settleIntents(ctx context.Context, from, oldestSeen time.Time) error {
	var open []*copyItem
	for _, it := range c.intents {
		if it.rec.State == state.CopyIntent {
			open = append(open, it)
		}
	}
	c.intents = nil
	if len(open) == 0 {
		return nil
	}
	reach := oldestSeen
	if reach.IsZero() || reach.After(from.Add(-intentSkew)) {
		// Like the listing pages before it, a throttle or a 5xx here is
		// retried: the copy pacer leaves them to its callers.
		out, err := awsclient.NextPage(ctx, func(ctx context.Context) (*backup.ListCopyJobsOutput, error) {
			return c.api.ListCopyJobs(ctx, &backup.ListCopyJobsInput{ByCreatedBefore: aws.Time(from.Add(-intentSkew)), MaxResults: aws.Int32(1)})
		})
		if err != nil {
			return fmt.Errorf("reconcile copy intents: ListCopyJobs (how far back the job history reaches): %w", err)
		}
		for _, j := range out.CopyJobs {
			if t := j.CreationDate; t != nil && (reach.IsZero() || t.Before(reach)) {
				reach = *t
			}
		}
	}
	cands, err := c.intentCopies(ctx, open)
	if err != nil {
		return err
	}
	for _, it := range open {
		cand := cands[it]
		switch {
		case cand != nil && cand.destRP != "" && !cand.ambiguous:
			c.adoptCopied(it, cand)
		case cand != nil && cand.ambiguous:
			c.hold(it, HoldAmbiguous, "its StartCopyJob may have reached AWS, and a recovery point in "+it.rec.DestVaultArn+
				" matches this RP and another source RP alike; check, then requeue it to copy")
		case cand != nil && cand.destState != "":
			c.hold(it, HoldDestState, "its StartCopyJob reached AWS: a copy is in "+it.rec.DestVaultArn+" in status "+cand.destState+"; shuffle looks again on the next run")
		case !reach.IsZero() && !reach.After(it.rec.IntentAt.Add(-intentSkew)),
			c.Now().Sub(it.rec.IntentAt) < jobHistoryFloor-intentSkew:
			c.sum.Adopt.Resent++
			if it.behind {
				// Safe to send again, but only when its chain reaches it
				// (one job per resource): with its own token, then.
				it.behind = false
				c.release(it, false)
				continue
			}
			c.intents = append(c.intents, it)
		default:
			c.hold(it, HoldUnknown, "shuffle stopped after recording this copy's intent; no copy job is listed for it, but the job history does not reach back to the intent ("+
				it.rec.IntentAt.Format(time.RFC3339)+") and no copy is in "+it.rec.DestVaultArn+" yet, so AWS may have started a job that it no longer lists; shuffle looks again on the next run; requeue it to copy once you have checked")
		}
	}
	return nil
}

// intentCopies matches the intents with the copies in their destination
// vaults, like the sweep does (one listing per destination vault).
func (c *Copier) intentCopies(ctx context.Context, open []*copyItem) (map[*copyItem]*adoptCand, error) {
	if c.Dest == nil {
		return nil, nil
	}
	groups := map[string]*adoptGroup{}
	vaults := map[string]map[string]bool{} // destination ARN -> source vault names
	out := map[*copyItem]*adoptCand{}
	arnOf := map[string]string{}
	for _, it := range open {
		d := it.rec.DestVaultArn
		g := groups[d]
		if g == nil {
			g = &adoptGroup{destArn: d, srcVaults: map[string]string{}, want: map[string]*adoptCand{},
				byKey: map[uint64]*adoptCand{}, keys: map[uint64]int{}}
			groups[d], vaults[d] = g, map[string]bool{}
		}
		if _, ok := arnOf[it.vault]; !ok {
			v, ok, err := c.Store.GetVault(state.Source, it.vault)
			if err != nil {
				return nil, err
			}
			if ok {
				arnOf[it.vault] = v.Arn
			} else {
				arnOf[it.vault] = ""
			}
		}
		g.srcVaults[arnOf[it.vault]] = it.vault
		vaults[d][it.vault] = true
		cand := &adoptCand{rec: it.rec}
		out[it] = cand
		g.want[it.arn] = cand
		if created := time.Unix(0, it.created); g.oldest.IsZero() || created.Before(g.oldest) {
			g.oldest = created
		}
	}
	for d, g := range groups {
		for name := range vaults[d] {
			err := c.Store.ScanVault(name, func(rp *state.RP) error {
				k := adoptKey(arnOf[name], rp.ResourceArn, rp.CreationDate)
				g.keys[k]++
				if cand := g.want[rp.Arn]; cand != nil && rp.Vault == cand.rec.Vault {
					cand.sameKey = g.byKey[k]
					g.byKey[k] = cand
				}
				return ctx.Err()
			})
			if err != nil {
				return nil, err
			}
		}
		if err := c.matchDestRPs(ctx, g); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// adoptCopied records that it's intent made the copy cand found.
func (c *Copier) adoptCopied(it *copyItem, cand *adoptCand) {
	r := it.rec
	r.State, r.DestRPArn, r.Reason, r.Category, r.NextAt = state.CopyCompleted, cand.destRP, "", "", nil
	a := r.Last()
	a.State = "COMPLETED"
	c.sum.Adopt.Completed++
	c.sum.Completed++
	c.sum.Bytes += r.Size
	c.dirty[r] = true
	c.release(it, true)
}

// hold takes it out of the copy: possibly copied already.
func (c *Copier) hold(it *copyItem, category, reason string) {
	r := it.rec
	r.State, r.Category, r.Reason, r.NextAt = state.CopyHeld, category, reason, nil
	c.sum.Adopt.HeldNow++
	c.sum.Adopt.Held++
	c.sum.Adopt.HeldByReason[category]++
	c.dirty[r] = true
	if c.Log != nil {
		c.Log.Warn("copy held", "vault", it.vault, "rp", it.arn, "reason", category, "detail", reason)
	}
	c.release(it, true)
}

// releaseHeld updates the counts for a held record the operator
// requeued.
func (c *Copier) releaseHeld(r *state.CopyRecord) {
	c.sum.Adopt.Held--
	if c.sum.Adopt.HeldByReason[r.Category]--; c.sum.Adopt.HeldByReason[r.Category] <= 0 {
		delete(c.sum.Adopt.HeldByReason, r.Category)
	}
}
