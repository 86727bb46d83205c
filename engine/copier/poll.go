package copier

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Polling for the jobs that ended, the watermark that bounds the polls,
// the stale check for jobs no poll saw end, and what a job's end does.

type pollRes struct {
	jobs []types.CopyJob
	err  error
	at   time.Time
}

// poll lists the jobs that ended since the watermark, in the background;
// the answer comes on out.
func (c *Copier) poll(ctx context.Context, out chan<- pollRes) {
	in := c.pollInput()
	go func() {
		at := c.Now()
		var jobs []types.CopyJob
		p := backup.NewListCopyJobsPaginator(c.api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				out <- pollRes{err: err, at: at}
				return
			}
			jobs = append(jobs, page.CopyJobs...)
		}
		out <- pollRes{jobs: jobs, at: at}
	}()
}

// polled applies a poll's answer: it moves the watermark, ends the jobs
// that ended (queueing their copies for tagging) and commits it all. It
// returns when to poll next.
func (c *Copier) polled(r pollRes, queueTag func(tagReq)) (time.Time, error) {
	if r.err != nil {
		if ce := awsclient.Classify(r.err); ce.Class == awsclient.Permanent {
			return time.Time{}, fmt.Errorf("poll copy jobs: ListCopyJobs: %s: %s (shuffle needs backup:ListCopyJobs in the source account)", ce.Code, ce.Message)
		}
		return c.Now().Add(c.pollInterval() * 4), nil
	}
	c.advanceWatermark(r)
	var done []*copyItem
	for _, j := range r.jobs {
		if it := c.inflight[aws.ToString(j.CopyJobId)]; it != nil && jobEnded(j.State) {
			c.ended(it, j)
			if it.rec.State == state.CopyCompleted {
				done = append(done, it)
			}
		}
	}
	for _, it := range done {
		queueTag(tagReq{rec: *it.rec})
	}
	if len(done) == 0 {
		c.emptyPolls++
	} else {
		c.emptyPolls = 0
	}
	var wm *time.Time
	if !c.wm.IsZero() {
		w := c.wm
		wm = &w
	}
	if err := c.flush(wm); err != nil {
		return time.Time{}, err
	}
	return r.at.Add(c.pollInterval()), nil
}

// advanceWatermark moves the watermark past the poll's completions.
// Only a poll moves it: it saw every job that ended after the old one,
// so none before the new one is missed. (A job adopted on resume or
// found stale says nothing about the others.) It never passes the
// poll's own start: a job that ended while later pages were read may be
// missing from this poll, and must still be inside the next one's
// window.
func (c *Copier) advanceWatermark(r pollRes) {
	ov := c.overlap()
	for _, j := range r.jobs {
		if t := j.CompletionDate; t != nil {
			w := t.Add(-ov)
			if start := r.at.Add(-ov); w.After(start) {
				w = start
			}
			if w.After(c.wm) {
				c.wm = w
			}
		}
	}
}

// ended applies a job's end (COMPLETED, FAILED or PARTIAL).
func (c *Copier) ended(it *copyItem, j types.CopyJob) {
	defer c.wakeRefused(it.dest) // its slot is free (limits.go)
	rec := it.rec
	a := rec.Last()
	a.State, a.Message, a.Category = string(j.State), aws.ToString(j.StatusMessage), aws.ToString(j.MessageCategory)
	a.End = utcPtr(j.CompletionDate)
	c.dirty[rec] = true
	if j.State == types.CopyJobStateCompleted {
		c.completed(it, j)
		return
	}
	f := readJobFailure(a.Category, a.Message)
	reason := f.reason(a.State, a.Category, a.Message)
	a.Retryable = f.Retry
	if !f.Retry || rec.Attempt >= c.Opts.MaxAttempts {
		if f.Retry {
			reason = fmt.Sprintf("%s (gave up after %d attempts)", reason, rec.Attempt)
		}
		c.fail(it, reason, f.Category)
		return
	}
	// A new attempt, with a new token, after a backoff. JobID stays set
	// until the next intent, which is how intent() knows to count up.
	at := c.Now().Add(jitter(c.Opts.RetryBase << (rec.Attempt - 1)))
	rec.State, rec.Reason, rec.Category, rec.NextAt = state.CopyRetry, reason, f.Category, &at
	c.count(progress.CopyRetried, it, 0)
	c.logRetry(it, at, reason, true)
	c.failed(it, reason, f.Category, false)
	delete(c.inflight, rec.JobID)
	it.dest.inflight--
	ch := it.chain
	ch.busy, ch.notBefore = false, at
	c.s.park(ch, c.Now())
}

// completed records a COMPLETED job: the copy, the duration it took
// (for the model and the poll interval) and one more slot (AIMD).
func (c *Copier) completed(it *copyItem, j types.CopyJob) {
	rec := it.rec
	rec.State, rec.Reason, rec.Category = state.CopyCompleted, "", ""
	rec.DestRPArn, rec.CompletedAt = aws.ToString(j.DestinationRecoveryPointArn), utcPtr(j.CompletionDate)
	rec.DestSize = aws.ToInt64(j.BackupSizeInBytes)
	c.sum.Completed++
	c.sum.CompletedNow++
	c.sum.Bytes += rec.Size
	c.sum.BytesNow += rec.Size
	c.count(progress.CopyCompleted, it, rec.Size)
	if j.CreationDate != nil && j.CompletionDate != nil {
		c.model.Add(rec.ResourceType, rec.Size, j.CompletionDate.Sub(*j.CreationDate))
		d := j.CompletionDate.Sub(*j.CreationDate).Seconds()
		if c.meanDur == 0 {
			c.meanDur = d
		} else {
			c.meanDur = 0.9*c.meanDur + 0.1*d
		}
	}
	c.grow(it)
	c.release(it, true)
}

// pollInterval is about 5% of the mean job duration: the time a slot
// stays idle after its job ends is half of it on average, and a poll
// costs one call for however many jobs ended.
func (c *Copier) pollInterval() time.Duration {
	var d time.Duration
	if c.meanDur == 0 {
		d = c.Opts.PollMin << min(c.emptyPolls, 4)
		d = min(d, 2*time.Second)
	} else {
		d = time.Duration(c.meanDur * 0.05 * float64(time.Second))
	}
	return min(c.Opts.PollMax, max(c.Opts.PollMin, d))
}

// overlap is how far each poll looks back before the watermark: enough
// for clock skew and for AWS listing a job a little after it ended.
func (c *Copier) overlap() time.Duration {
	return min(c.Opts.Overlap, max(20*time.Millisecond, 2*c.pollInterval()))
}

// pollInput asks for every job that ended since the watermark among
// those created since the oldest job in flight.
func (c *Copier) pollInput() *backup.ListCopyJobsInput {
	// Every job in flight has its CreationDate from AWS, so the bound is
	// in AWS's clock and needs no allowance for skew; a job whose answer
	// carried no date widens it by our intent time less a minute.
	var oldest time.Time
	margin := time.Second
	for _, it := range c.inflight {
		t := it.rec.StartedAt
		if t == nil {
			t, margin = &it.rec.IntentAt, time.Minute
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = *t
		}
	}
	in := &backup.ListCopyJobsInput{MaxResults: aws.Int32(1000)}
	if !oldest.IsZero() {
		in.ByCreatedAfter = aws.Time(oldest.Add(-margin))
	}
	if !c.wm.IsZero() {
		in.ByCompleteAfter = aws.Time(c.wm)
	}
	return in
}

// staleAfter is how long a job may go unseen before shuffle asks about
// it on its own: five typical job durations (at least a second), and at
// most StaleAfter. AWS may hold a job in CREATED for hours; asking costs
// one DescribeCopyJob and changes nothing then.
func (c *Copier) staleAfter() time.Duration {
	d := time.Duration(5 * c.meanDur * float64(time.Second))
	if c.meanDur == 0 {
		d = c.Opts.StaleAfter
	}
	return min(c.Opts.StaleAfter, max(time.Second, d))
}

// checkStale asks about jobs not seen to end long after they started:
// a completion that fell outside every poll's window is found here.
func (c *Copier) checkStale(now time.Time) {
	after := c.staleAfter()
	for id, it := range c.inflight {
		t := it.rec.StartedAt
		if t == nil || now.Sub(*t) < after || now.Sub(it.checked) < after {
			continue
		}
		c.describeNow(id, it)
	}
}

// describeNow asks AWS about one job and applies its end, if it ended.
func (c *Copier) describeNow(id string, it *copyItem) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.api.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
	if err != nil || out.CopyJob == nil {
		return // the stale check asks again later
	}
	it.checked = c.Now()
	if jobEnded(out.CopyJob.State) {
		c.ended(it, *out.CopyJob)
	}
}
