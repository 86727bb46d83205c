package copier

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Starting copy jobs: the pool of StartCopyJob workers, the batches the
// dispatcher hands them, and the reactions to their answers, AIMD on the
// in-flight caps included.

type startReq struct {
	it *copyItem
	in *backup.StartCopyJobInput
}

type startRes struct {
	it  *copyItem
	out *backup.StartCopyJobOutput
	err error
}

// startPool is the StartCopyJob workers.
type startPool struct {
	ch  chan startReq
	out chan startRes
	wg  sync.WaitGroup
}

// startStarters starts the workers; their calls use ctx.
func (c *Copier) startStarters(ctx context.Context) *startPool {
	p := &startPool{
		ch:  make(chan startReq, c.Opts.MaxInFlight+len(c.intents)),
		out: make(chan startRes, c.Opts.MaxInFlight+len(c.intents)),
	}
	for i := 0; i < c.Opts.StartWorkers; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for r := range p.ch {
				out, err := c.api.StartCopyJob(ctx, r.in)
				p.out <- startRes{it: r.it, out: out, err: err}
			}
		}()
	}
	return p
}

// stop ends the pool. Calls already made get a few seconds to answer,
// so their job ids are recorded; after that they are cancelled (cancel)
// and their intents are reconciled on resume.
func (p *startPool) stop(c *Copier, cancel func()) {
	close(p.ch)
	go func() { p.wg.Wait(); close(p.out) }()
	grace := time.AfterFunc(3*time.Second, cancel)
	defer grace.Stop()
	for r := range p.out {
		c.started(r)
	}
}

// send hands one start to the workers.
func (c *Copier) send(p *startPool, it *copyItem) {
	c.pending++
	c.sendSeq++
	it.sent = c.sendSeq
	p.ch <- startReq{it: it, in: c.startInput(it)}
}

// fill starts jobs in the free slots: it writes their intents, then
// hands them to the workers.
func (c *Copier) fill(now time.Time, b Bounds, p *startPool) error {
	batch := c.pickBatch(now, b)
	if len(batch) == 0 {
		return nil
	}
	recs := make([]*state.CopyRecord, 0, len(batch))
	for _, it := range batch {
		recs = append(recs, c.intent(it, now))
	}
	if err := c.Store.PutIntents(recs); err != nil {
		return err
	}
	c.logBatch(batch)
	for _, it := range batch {
		delete(c.dirty, it.rec) // the intent just written is the record
		c.sum.Started++
		c.count(progress.CopyStarted, it, 0)
		c.send(p, it)
	}
	return nil
}

// pickBatch takes the chains to start now, up to the cap. In cautious
// mode a chain whose next job is expected to end after the window is
// set aside for the next run.
func (c *Copier) pickBatch(now time.Time, b Bounds) []*copyItem {
	var batch []*copyItem
	limit := math.Floor(c.s.cap)
	if !c.probed {
		// The first start goes alone: a copy role that cannot be
		// passed fails one call, not a hundred.
		limit = float64(len(c.inflight) + 1)
		if c.pending > 0 {
			limit = 0
		}
	}
	end, windowed := b.feedEnd()
	for float64(len(c.inflight)+c.pending+len(batch)) < limit {
		ch := c.s.pick()
		if ch == nil {
			break
		}
		it := ch.head()
		if b.Cutoff == CutoffCautious && windowed {
			if d, ok := c.model.Predict(it.typ, it.size); ok && now.Add(d).After(end) {
				c.cutoff = append(c.cutoff, ch) // it would end after the window
				continue
			}
		}
		ch.busy = true
		it.dest.inflight++
		batch = append(batch, it)
	}
	return batch
}

// intent prepares the record of the next attempt of it.
func (c *Copier) intent(it *copyItem, now time.Time) *state.CopyRecord {
	r := it.rec
	if r == nil {
		r = &state.CopyRecord{Vault: it.vault, Arn: it.arn, ResourceArn: it.chain.resource, ResourceType: it.typ,
			Size: it.size, Created: time.Unix(0, it.created).UTC(), Attempt: 1}
		it.rec = r
	}
	if r.State == state.CopyRetry && r.JobID != "" {
		// The previous attempt's job ended FAILED: this is a new attempt.
		r.Attempt++
		r.JobID = ""
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	r.DestVaultArn = it.dest.destArn
	r.Token = state.CopyToken(it.arn, r.DestVaultArn, r.Attempt)
	r.State, r.IntentAt, r.NextAt, r.StartedAt = state.CopyIntent, now.UTC(), nil, nil
	a := r.Last()
	a.State, a.At = "INTENT", now.UTC()
	return r
}

func (c *Copier) startInput(it *copyItem) *backup.StartCopyJobInput {
	in := &backup.StartCopyJobInput{
		RecoveryPointArn:          aws.String(it.arn),
		SourceBackupVaultName:     aws.String(it.vault),
		DestinationBackupVaultArn: aws.String(it.rec.DestVaultArn),
		IamRoleArn:                aws.String(c.CopyRole),
		IdempotencyToken:          aws.String(it.rec.Token),
	}
	// Like for like: the copy keeps the source's lifecycle (the lock
	// check at decide time assumed exactly this).
	if it.deleteAft >= 0 || it.coldAft >= 0 {
		lc := &types.Lifecycle{}
		if it.deleteAft >= 0 {
			lc.DeleteAfterDays = aws.Int64(it.deleteAft)
		}
		if it.coldAft >= 0 {
			lc.MoveToColdStorageAfterDays = aws.Int64(it.coldAft)
		}
		in.Lifecycle = lc
	}
	return in
}

// started applies the answer to one StartCopyJob call.
func (c *Copier) started(r startRes) {
	c.pending--
	c.probed = true
	switch {
	case r.err == nil:
		c.startedJob(r.it, r.out)
	case errors.Is(r.err, context.Canceled):
		// Interrupted: the intent stays and is reconciled on resume.
		c.release(r.it, false)
	default:
		c.startFailed(r.it, r.err)
	}
}

// startedJob records the job AWS made for it.
func (c *Copier) startedJob(it *copyItem, out *backup.StartCopyJobOutput) {
	rec := it.rec
	id := aws.ToString(out.CopyJobId)
	if other := c.inflight[id]; other != nil && other != it {
		// Cannot happen with distinct tokens; refuse to double-track.
		c.release(it, false)
		rec.State, rec.Reason = state.CopyFailed, "AWS returned job "+id+", which belongs to "+other.arn
		c.sum.Failed++
		c.count(progress.CopyFailed, it, 0)
		c.dirty[rec] = true
		return
	}
	rec.JobID, rec.StartedAt = id, utcPtr(out.CreationDate)
	rec.State, rec.Reason, rec.Category = state.CopyRunning, "", ""
	a := rec.Last()
	a.JobID, a.State = id, "CREATED"
	c.inflight[id] = it
	c.limits.started(it.dest, it.sent)
	c.dirty[rec] = true
	if t := out.CreationDate; t != nil && t.Before(rec.IntentAt.Add(-time.Minute)) {
		// AWS answered the token with a job made long before this
		// call (a state made afresh, or a token AWS still remembers):
		// it may have ended before the polls' window, so ask now.
		c.describeNow(id, it)
	}
}

// startFailed reacts to a refused StartCopyJob by the error's class:
// slow down, back off the resource or shrink a cap (limits.go: the
// multiplicative decrease), retry, or fail the RP.
func (c *Copier) startFailed(it *copyItem, err error) {
	now := c.Now()
	ce := awsclient.Classify(err)
	code, msg := ce.Code, ce.Message
	a := it.rec.Last()
	a.State, a.Message, a.Category = "ERROR", msg, code
	if code == "" {
		a.Category = ce.Class.String()
	}
	reason := strings.TrimPrefix(code+": "+msg, ": ")
	it.callErrs++
	if ce.Denied() {
		if c.fatal == nil {
			c.fatal = &AccessError{Role: c.CopyRole, Code: code, Message: msg}
		}
		c.retryLater(it, now, reason) // not the RP's fault: it stays queued
		return
	}
	switch ce.Class {
	case awsclient.Throttle:
		c.retryLater(it, now.Add(jitter(time.Second)), reason)
	case awsclient.LimitResource, awsclient.LimitVault, awsclient.LimitAccount, awsclient.LimitUnknown:
		c.limitRefused(it, ce.Class, now, reason)
	case awsclient.Auth, awsclient.Retryable:
		if it.callErrs >= 10 {
			c.fail(it, reason, a.Category)
			return
		}
		c.retryLater(it, now.Add(jitter(time.Duration(it.callErrs)*c.Opts.CallBackoff)), reason)
	default:
		c.fail(it, reason, code)
	}
}

// grow is the additive increase after a completion: one more slot per
// cap's worth of completions, globally and in it's vault.
func (c *Copier) grow(it *copyItem) {
	if now := c.Now(); now.After(c.s.capHoldUntil) && c.s.cap < c.s.maxCap {
		c.s.cap = min(c.s.maxCap, c.s.cap+1/math.Max(1, c.s.cap))
	}
	if v := it.dest; v.cap < v.maxCap {
		v.cap = min(v.maxCap, v.cap+1/math.Max(1, v.cap))
	}
}

// retryLater puts it back at the head of its chain until at. No job
// exists for the attempt, so its number (and token) stay the same.
func (c *Copier) retryLater(it *copyItem, at time.Time, reason string) {
	rec := it.rec
	rec.State, rec.Reason, rec.NextAt = state.CopyRetry, reason, &at
	rec.JobID = ""
	c.dirty[rec] = true
	it.chain.notBefore = at
	c.count(progress.CopyRetried, it, 0)
	c.logRetry(it, at, reason, false)
	c.release(it, false)
}

func (c *Copier) fail(it *copyItem, reason, category string) {
	rec := it.rec
	rec.State, rec.Reason, rec.Category, rec.NextAt = state.CopyFailed, reason, category, nil
	c.dirty[rec] = true
	c.sum.Failed++
	c.sum.FailedByReason[rec.FailureKey()]++
	c.count(progress.CopyFailed, it, 0)
	c.logFailed(it, reason, category)
	c.release(it, true)
}

// release frees it's slots; advance moves its chain past it.
func (c *Copier) release(it *copyItem, advance bool) {
	if it.rec != nil && it.rec.JobID != "" && c.inflight[it.rec.JobID] == it {
		delete(c.inflight, it.rec.JobID)
	}
	it.dest.inflight--
	ch := it.chain
	if ch.head() == it {
		ch.busy = false
		if advance {
			ch.remaining -= it.est
			ch.next++
			ch.resBusy = 0
			ch.skipSettled()
		}
	}
	c.s.park(ch, c.Now())
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}
