package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// CopyOptions tune the copy engine. Zero values pick the defaults.
type CopyOptions struct {
	MaxInFlight  int           // jobs in flight at once (default 100: AWS's per-account quota)
	VaultCap     int           // jobs in flight per destination vault (0: no cap until AWS answers LimitExceeded for a vault)
	MaxAttempts  int           // attempts per RP when copy jobs fail in a retryable way (default 3)
	RetryBase    time.Duration // wait after a failed attempt: RetryBase × 2^(attempt-1) (default 5 min)
	StartWorkers int           // StartCopyJob calls at once (default 16)
	StartTPS     float64       // initial StartCopyJob calls per second (default 50; adapted)
	PollMin      time.Duration // shortest interval between completion polls (default 200 ms)
	PollMax      time.Duration // longest (default 60 s)
	Overlap      time.Duration // how far each poll looks back past the last completion seen (at most; default 2 min)
	StaleAfter   time.Duration // ask DescribeCopyJob about a job not seen to end this long after it started (default 2 h 30 min)
	// NoWait returns as soon as nothing more can start, leaving jobs in
	// flight for the next run; by default Run waits for them.
	NoWait bool
	// Deadline: no job starts at or after it (zero: none).
	Deadline time.Time
	// Cutoff is what happens near the deadline: "soft" (the default)
	// stops starting jobs at the deadline and returns without waiting for
	// AWS; "cautious" also starts no job expected to end after the
	// deadline (expected from the durations observed per resource type
	// and size); "drain" stops starting at the deadline and waits for the
	// jobs in flight until Deadline + Grace.
	Cutoff string
	Grace  time.Duration
}

// Cutoff modes.
const (
	CutoffSoft     = "soft"
	CutoffCautious = "cautious"
	CutoffDrain    = "drain"
)

func (o *CopyOptions) defaults() {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Minute
	}
	if o.StartWorkers <= 0 {
		o.StartWorkers = 16
	}
	if o.PollMin <= 0 {
		o.PollMin = 200 * time.Millisecond
	}
	if o.PollMax <= 0 {
		o.PollMax = time.Minute
	}
	if o.PollMax < o.PollMin {
		o.PollMax = o.PollMin
	}
	if o.Overlap <= 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 150 * time.Minute
	}
}

// CopyTarget is where one source vault's RPs are copied to.
type CopyTarget struct {
	Arn    string // destination vault ARN
	Ready  bool   // copies may start
	Reason string // why not, when not ready
	Wait   WaitReason
	// Awaited: not ready yet, and watched (Copier.VaultUpdates) so its
	// RPs can start in this run once it is.
	Awaited bool
}

// Tag states of a completed copy.
const (
	TagApplied     = "applied"
	TagNone        = "none"        // the tag policy gave no tags
	TagUnsupported = "unsupported" // tags on these RPs live on the underlying snapshot
	TagError       = "error"
)

// TaggableTypes are the resource types whose recovery points AWS Backup
// itself tags (TagResource on the RP ARN). The others are snapshots and
// images owned by their service, tagged through that service's API.
var TaggableTypes = FullyManagedTypes

// CopySummary is what a copy pass did, and the state it left.
type CopySummary struct {
	Started      int64 `json:"started"`       // jobs started by this run
	CompletedNow int64 `json:"completed_now"` // jobs that finished by this run
	BytesNow     int64 `json:"bytes_now"`

	Completed int64 `json:"completed"` // every completed copy, all runs
	Bytes     int64 `json:"bytes"`
	Failed    int64 `json:"failed"` // permanently failed, all runs
	Running   int64 `json:"running"`
	Retrying  int64 `json:"retrying"`
	Queued    int64 `json:"queued"`  // included and not started yet
	Waiting   int64 `json:"waiting"` // included, but the destination vault is not ready

	FailedByReason map[string]int64  `json:"failed_by_reason"`
	WaitingByVault map[string]int64  `json:"waiting_by_vault"`
	WaitingReasons map[string]string `json:"waiting_reasons"`
	Tagged         int64             `json:"tagged"`
	TagErrors      int64             `json:"tag_errors"`
	APICalls       map[string]int64  `json:"api_calls"`
	Elapsed        time.Duration     `json:"elapsed_ns"`
	PeakInFlight   int               `json:"peak_in_flight"`
	Stopped        string            `json:"stopped,omitempty"` // why the run returned early: deadline, interrupted

	// WaitingWhy is the typed reason of each vault in WaitingByVault.
	WaitingWhy map[string]WaitReason `json:"waiting_why"`
	// VaultsReady are vaults that became ready during this run, with
	// how long after the copy step started.
	VaultsReady map[string]time.Duration `json:"vaults_ready,omitempty"`
	// Adopt is what the run found in AWS that the state had no record
	// of (adopt.go).
	Adopt AdoptSummary `json:"adopt"`
}

// Copier runs the copy queue: it starts copy jobs within the quotas,
// tracks them to completion, retries what is worth retrying and tags
// the copies.
type Copier struct {
	Store *state.Store
	// Pending, when set, are the included RPs not queued or copied yet
	// (count and bytes by vault) of the state as it is: Preview then
	// needs no scan when no copy record is open (Aggregate.Pending).
	Pending map[string]*[2]int64
	Jobs    CopyJobs // source account
	// Dest lists destination vaults' recovery points: adoption looks
	// there for copies the state has no record of (adopt.go).
	Dest RecoveryPointLister
	Tags Tagger // destination account; nil: no tagging
	// TagsFor returns the tag mapping of one RP; it is called from
	// NewTagsFor's functions, one per tagging goroutine (Lua states are
	// not shared). Nil: no tagging.
	NewTagsFor func() (tagsFor func(ctx context.Context, rp *state.RP) (map[string]string, error), closeFn func(), err error)
	CopyRole   string
	Targets    map[string]CopyTarget // by source vault name
	Opts       CopyOptions
	Now        func() time.Time
	Progress   *Progress
	Counts     *APICounts
	Log        *slog.Logger // nil: no log
	// VaultUpdates brings the awaited vaults' readiness
	// (PendingVaults.Watch); nil when none is awaited.
	VaultUpdates <-chan VaultUpdate

	api        *pacedJobs
	s          sched
	inflight   map[string]*copyItem // by job id
	intents    []*copyItem          // adopted or re-called on resume
	dirty      map[*state.CopyRecord]bool
	sum        CopySummary
	pending    int // start calls in flight
	wm         time.Time
	meanDur    float64 // EWMA of job duration, seconds
	emptyPolls int
	// fatal stops the run: an error no retry fixes and that is not the
	// RP's fault (the copy role cannot be passed, StartCopyJob is denied).
	fatal  error
	probed bool // the first start of this run has answered
	model  durations
	// cutoff holds chains whose next job is expected to end after the
	// deadline (cautious mode): not started in this run.
	cutoff []*chain
	// chains are the schedule's chains by resource ARN (from load).
	chains map[string]*chain
	// requeueCh carries requeues from the REPL to the dispatcher while
	// it runs (EnableRequeue); loopDone is closed when Run returns.
	requeueCh chan requeueReq
	loopDone  chan struct{}
	// parked are the RPs of awaited vaults, by source vault, until the
	// vault settles; settled is how each awaited vault settled.
	parked  map[string][]parkedRP
	settled map[string]VaultUpdate
	// adopt is the summary of an Adopt made before Run (adopt.go).
	preAdopt *AdoptSummary
}

type requeueReq struct {
	keys []state.CopyKey
	resp chan requeueRes
}

type requeueRes struct {
	n   int
	err error
}

// CopyAccessError is StartCopyJob being refused for a permission: the
// copy role cannot be passed, or the caller may not start copy jobs.
// shuffle stops before starting anything else; no RP is marked failed.
type CopyAccessError struct {
	Role, Code, Message string
}

func (e *CopyAccessError) Error() string {
	return fmt.Sprintf("StartCopyJob was refused (%s: %s). Check that the source profile may call backup:StartCopyJob and iam:PassRole on %s with iam:PassedToService=backup.amazonaws.com, and that the role exists; no recovery point was marked failed, so run again once it is fixed",
		e.Code, e.Message, e.Role)
}

type startReq struct {
	it *copyItem
	in *backup.StartCopyJobInput
}

type startRes struct {
	it  *copyItem
	out *backup.StartCopyJobOutput
	err error
}

type pollRes struct {
	jobs []types.CopyJob
	err  error
	at   time.Time
}

type tagReq struct {
	rec state.CopyRecord
}

type tagRes struct {
	vault, arn string
	state      string
	err        string
}

// init fills the defaults and the empty in-memory state.
func (c *Copier) init() {
	c.Opts.defaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Counts == nil {
		c.Counts = &APICounts{}
	}
	if c.Progress == nil {
		c.Progress = NewProgress()
	}
	c.inflight = map[string]*copyItem{}
	c.dirty = map[*state.CopyRecord]bool{}
	c.sum.FailedByReason, c.sum.WaitingByVault, c.sum.WaitingReasons = map[string]int64{}, map[string]int64{}, map[string]string{}
	c.sum.WaitingWhy = map[string]WaitReason{}
	c.parked, c.settled = map[string][]parkedRP{}, map[string]VaultUpdate{}
	c.sum.Adopt.HeldByReason = map[string]int64{}
}

// Run copies until nothing is left that can start (and, unless NoWait,
// every job has ended), the deadline passes or ctx is cancelled. State
// is flushed before it returns, in every case.
func (c *Copier) Run(ctx context.Context) (CopySummary, error) {
	if c.loopDone != nil {
		defer close(c.loopDone)
	}
	c.init()
	start := c.Now()
	c.api = newPacedJobs(c.Jobs, c.Counts, c.Opts.StartTPS)
	var err error
	if c.wm, err = c.Store.CopyWatermark(); err != nil {
		return c.sum, err
	}
	// Before anything is scheduled: copies AWS has that the state does
	// not know of are recorded first (ADR 0002, adoption), unless Adopt
	// already did.
	if c.preAdopt != nil {
		c.sum.Adopt = *c.preAdopt
	} else if err := c.adoptExisting(ctx); err != nil {
		return c.sum, c.finish(start, err)
	}
	tagQueue, err := c.load(ctx)
	if err != nil {
		return c.sum, err
	}
	if err := c.reconcile(ctx); err != nil {
		return c.sum, c.finish(start, err)
	}
	err = c.loop(ctx, tagQueue)
	return c.sum, c.finish(start, err)
}

func (c *Copier) finish(start time.Time, err error) error {
	if ferr := c.flush(nil); ferr != nil && err == nil {
		err = ferr
	}
	c.sum.Elapsed = c.Now().Sub(start)
	c.sum.APICalls = c.Counts.Snapshot()
	c.countLeft()
	c.publish()
	return err
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
				c.model.add(r.ResourceType, r.Size, r.CompletedAt.Sub(*r.StartedAt))
			}
			switch {
			case r.TagState == TagApplied:
				c.sum.Tagged++
			case (r.TagState == "" || r.TagState == TagError) && c.Tags != nil && c.NewTagsFor != nil:
				tagQueue = append(tagQueue, tagReq{rec: *r})
			case r.TagState == TagError:
				c.sum.TagErrors++
			}
		case state.CopyFailed:
			c.sum.Failed++
			c.sum.FailedByReason[failureKey(r)]++
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
	vcap := math.Inf(1)
	if c.Opts.VaultCap > 0 {
		vcap = float64(c.Opts.VaultCap)
	}
	chains := map[string]*chain{}
	c.chains = chains
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
		t, ok := c.Targets[rp.Vault]
		if !ok || !t.Ready {
			if rec == nil || rec.State == state.CopyRetry {
				c.countWaiting(rp.Vault, 1)
				c.park(rp, rec)
				return nil
			}
			// A job already in AWS is tracked whatever the vault's state.
		}
		v := c.s.byName[rp.Vault]
		if v == nil {
			destArn := t.Arn
			if rec != nil && rec.DestVaultArn != "" {
				destArn = rec.DestVaultArn
			}
			v = &vaultSched{name: rp.Vault, destArn: destArn, cap: vcap, maxCap: vcap}
			c.s.byName[rp.Vault] = v
			c.s.vaults = append(c.s.vaults, v)
		}
		it := newCopyItem(rp, rec, v)
		ch := chains[rp.ResourceArn]
		if ch == nil {
			ch = &chain{resource: rp.ResourceArn, heapIdx: -1, waitIdx: -1}
			chains[rp.ResourceArn] = ch
		}
		it.chain = ch
		ch.items = append(ch.items, it)
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	sort.Slice(c.s.vaults, func(i, j int) bool { return c.s.vaults[i].name < c.s.vaults[j].name })
	now := c.Now()
	for _, ch := range chains {
		// Jobs already in AWS first, then oldest first.
		sort.SliceStable(ch.items, func(i, j int) bool {
			a, b := ch.items[i], ch.items[j]
			if ao, bo := a.rec != nil && a.rec.State != state.CopyRetry, b.rec != nil && b.rec.State != state.CopyRetry; ao != bo {
				return ao
			}
			return a.created < b.created
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
		// Other chains' records in running or intent (two jobs of one
		// resource, from an older version or a requeue) are tracked too.
		for _, it := range ch.items[1:] {
			if it.rec != nil && it.rec.State == state.CopyRunning {
				c.inflight[it.rec.JobID] = it
				it.dest.inflight++
			}
		}
		c.s.park(ch, now)
	}
	c.publishTotal(chains)
	return nil
}

func failureKey(r *state.CopyRecord) string {
	if r.Category != "" {
		return r.Category
	}
	if i := strings.IndexByte(r.Reason, ':'); i > 0 {
		return r.Reason[:i]
	}
	return r.Reason
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
		out, err := nextPage(ctx, func(ctx context.Context) (*backup.ListCopyJobsOutput, error) { return p.NextPage(ctx) })
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
	switch j.State {
	case types.CopyJobStateCompleted, types.CopyJobStateFailed, types.CopyJobStatePartial:
		c.ended(it, j)
	}
}

func ptrTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// loop is the dispatcher.
func (c *Copier) loop(ctx context.Context, tagQueue []tagReq) error {
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	startCh := make(chan startReq, c.Opts.MaxInFlight+len(c.intents))
	startOut := make(chan startRes, c.Opts.MaxInFlight+len(c.intents))
	var wg sync.WaitGroup
	for i := 0; i < c.Opts.StartWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range startCh {
				out, err := c.api.StartCopyJob(callCtx, r.in)
				startOut <- startRes{it: r.it, out: out, err: err}
			}
		}()
	}
	defer func() {
		// Calls already made get a few seconds to answer, so their job
		// ids are recorded; after that they are cancelled and their
		// intents are reconciled on resume.
		close(startCh)
		go func() { wg.Wait(); close(startOut) }()
		grace := time.AfterFunc(3*time.Second, cancelCalls)
		defer grace.Stop()
		for r := range startOut {
			c.started(r)
		}
	}()

	const tagInFlight = 64
	tagCh := make(chan tagReq, tagInFlight)
	tagOut := make(chan tagRes, 1024)
	tagWorkers := 0
	var tagWG sync.WaitGroup
	if c.Tags != nil && c.NewTagsFor != nil {
		for i := 0; i < 4; i++ {
			tagsFor, closeFn, err := c.NewTagsFor()
			if err != nil {
				return err
			}
			tagWorkers++
			tagWG.Add(1)
			go func() {
				defer tagWG.Done()
				defer closeFn()
				for r := range tagCh {
					tagOut <- c.tag(callCtx, tagsFor, r.rec)
				}
			}()
		}
	}
	tagPending := 0
	var tagBacklog []tagReq
	queueTag := func(r tagReq) {
		if tagWorkers == 0 {
			return
		}
		tagBacklog = append(tagBacklog, r)
	}
	for _, r := range tagQueue {
		queueTag(r)
	}
	defer func() {
		// Tags not yet applied stay pending in the state; the next run
		// applies them.
		close(tagCh)
		go func() { tagWG.Wait(); close(tagOut) }()
		for r := range tagOut {
			c.tagged(r)
		}
	}()

	// Intents left by an earlier process go first, with their own tokens.
	for _, it := range c.intents {
		c.pending++
		startCh <- startReq{it: it, in: c.startInput(it)}
	}
	c.intents = nil

	var polling bool
	pollCh := make(chan pollRes, 1)
	nextPoll := c.Now()
	lastStale := c.Now()
	stopped := ""
	for {
		now := c.Now()
		// Ask about jobs not seen to end; what it finds frees slots the
		// fill below can use at once.
		if len(c.inflight) > 0 && now.Sub(lastStale) > c.staleAfter()/4 {
			lastStale = now
			c.checkStale(now)
		}
		nextDue := c.s.promote(now)
		if stopped == "" {
			if !c.Opts.Deadline.IsZero() && !now.Before(c.Opts.Deadline) {
				stopped = "deadline"
			}
		}
		// Fill free slots.
		if c.fatal != nil && stopped == "" {
			stopped = "error"
		}
		if stopped == "" {
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
			for float64(len(c.inflight)+c.pending+len(batch)) < limit {
				ch := c.s.pick()
				if ch == nil {
					break
				}
				it := ch.head()
				if c.Opts.Cutoff == CutoffCautious && !c.Opts.Deadline.IsZero() {
					if d, ok := c.model.predict(it.typ, it.size); ok && now.Add(d).After(c.Opts.Deadline) {
						c.cutoff = append(c.cutoff, ch) // it would end after the window
						continue
					}
				}
				ch.busy = true
				it.dest.inflight++
				batch = append(batch, it)
			}
			if len(batch) > 0 {
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
					c.pending++
					c.sum.Started++
					startCh <- startReq{it: it, in: c.startInput(it)}
				}
			}
		}
		if n := len(c.inflight) + c.pending; n > c.sum.PeakInFlight {
			c.sum.PeakInFlight = n
		}
		// Hand tagging work to the workers without blocking.
		for len(tagBacklog) > 0 && tagPending < tagInFlight {
			select {
			case tagCh <- tagBacklog[0]:
				tagBacklog = tagBacklog[1:]
				tagPending++
				continue
			default:
			}
			break
		}
		if err := c.flush(nil); err != nil {
			return err
		}
		c.publish()

		// Done?
		idle := c.pending == 0 && !polling && tagPending == 0 && len(tagBacklog) == 0
		switch {
		case stopped != "" && idle && (c.Opts.NoWait || len(c.inflight) == 0 || stopped != "deadline" || c.Opts.Cutoff != CutoffDrain ||
			!now.Before(c.Opts.Deadline.Add(c.Opts.Grace))):
			c.sum.Stopped = stopped
			return c.fatal
		case stopped == "" && idle && len(c.inflight) == 0 && c.s.readyCount() == 0 && c.s.waiting.Len() == 0 && len(c.parked) == 0:
			if len(c.cutoff) > 0 {
				c.sum.Stopped = "deadline" // nothing left fits in the window
			}
			return nil
		case stopped == "" && idle && c.Opts.NoWait && c.s.readyCount() == 0 && c.s.waiting.Len() == 0 && len(c.parked) == 0:
			return nil
		}

		// Poll when due.
		if len(c.inflight) > 0 && !polling && !now.Before(nextPoll) {
			polling = true
			go func(in *backup.ListCopyJobsInput) {
				at := c.Now()
				var jobs []types.CopyJob
				p := backup.NewListCopyJobsPaginator(c.api, in)
				for p.HasMorePages() {
					out, err := p.NextPage(callCtx)
					if err != nil {
						pollCh <- pollRes{err: err, at: at}
						return
					}
					jobs = append(jobs, out.CopyJobs...)
				}
				pollCh <- pollRes{jobs: jobs, at: at}
			}(c.pollInput())
		}

		// Wait for something to happen.
		wait := time.Hour
		if len(c.inflight) > 0 && !polling {
			wait = max(0, nextPoll.Sub(now))
		}
		if len(c.inflight) > 0 {
			wait = min(wait, max(0, lastStale.Add(c.staleAfter()/4).Sub(now)+time.Millisecond))
		}
		if !nextDue.IsZero() {
			wait = min(wait, max(0, nextDue.Sub(now)))
		}
		if !c.Opts.Deadline.IsZero() && stopped == "" {
			wait = min(wait, max(0, c.Opts.Deadline.Sub(now)))
		}
		if stopped == "deadline" && c.Opts.Cutoff == CutoffDrain {
			wait = min(wait, max(0, c.Opts.Deadline.Add(c.Opts.Grace).Sub(now)))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			c.sum.Stopped = "interrupted"
			return ctx.Err()
		case r := <-startOut:
			c.started(r)
		drainStarts:
			for {
				select {
				case r := <-startOut:
					c.started(r)
				default:
					break drainStarts
				}
			}
		case r := <-pollCh:
			polling = false
			if r.err != nil {
				kind, code, msg := classifyAWS(r.err)
				if kind == errPermanent {
					timer.Stop()
					return fmt.Errorf("poll copy jobs: ListCopyJobs: %s: %s (shuffle needs backup:ListCopyJobs in the source account)", code, msg)
				}
				nextPoll = c.Now().Add(c.pollInterval() * 4)
				break
			}
			var done []*copyItem
			// Only a poll moves the watermark: it saw every job that ended
			// after the old one, so none before the new one is missed. (A
			// job adopted on resume or found stale says nothing about the
			// others.)
			// It never passes the poll's own start: a job that ended while
			// later pages were read may be missing from this poll, and
			// must still be inside the next one's window.
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
			for _, j := range r.jobs {
				if it := c.inflight[aws.ToString(j.CopyJobId)]; it != nil {
					switch j.State {
					case types.CopyJobStateCompleted, types.CopyJobStateFailed, types.CopyJobStatePartial:
						c.ended(it, j)
						if it.rec.State == state.CopyCompleted {
							done = append(done, it)
						}
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
				timer.Stop()
				return err
			}
			nextPoll = r.at.Add(c.pollInterval())
		case u, ok := <-c.VaultUpdates:
			c.vaultUpdate(u, ok, c.Now())
		case r := <-tagOut:
			tagPending--
			c.tagged(r)
		case req := <-c.requeueCh:
			n, err := c.requeue(req.keys)
			req.resp <- requeueRes{n: n, err: err}
			if err != nil {
				timer.Stop()
				return err
			}
		case <-timer.C:
		}
		timer.Stop()
	}
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
	it, rec := r.it, r.it.rec
	now := c.Now()
	if r.err == nil {
		id := aws.ToString(r.out.CopyJobId)
		if other := c.inflight[id]; other != nil && other != it {
			// Cannot happen with distinct tokens; refuse to double-track.
			c.release(it, false)
			rec.State, rec.Reason = state.CopyFailed, "AWS returned job "+id+", which belongs to "+other.arn
			c.sum.Failed++
			c.dirty[rec] = true
			return
		}
		rec.JobID, rec.StartedAt = id, utcPtr(r.out.CreationDate)
		rec.State, rec.Reason, rec.Category = state.CopyRunning, "", ""
		a := rec.Last()
		a.JobID, a.State = id, "CREATED"
		c.inflight[id] = it
		c.dirty[rec] = true
		if t := r.out.CreationDate; t != nil && t.Before(rec.IntentAt.Add(-time.Minute)) {
			// AWS answered the token with a job made long before this
			// call (a state made afresh, or a token AWS still remembers):
			// it may have ended before the polls' window, so ask now.
			c.describeNow(id, it)
		}
		return
	}
	if errors.Is(r.err, context.Canceled) {
		// Interrupted: the intent stays and is reconciled on resume.
		c.release(it, false)
		return
	}
	kind, code, msg := classifyAWS(r.err)
	a := rec.Last()
	a.State, a.Message, a.Category = "ERROR", msg, code
	if code == "" {
		a.Category = kind.String()
	}
	reason := strings.TrimPrefix(code+": "+msg, ": ")
	it.callErrs++
	ch := it.chain
	if code == "AccessDeniedException" || code == "AccessDenied" {
		if c.fatal == nil {
			c.fatal = &CopyAccessError{Role: c.CopyRole, Code: code, Message: msg}
		}
		c.retryLater(it, now, reason) // not the RP's fault: it stays queued
		return
	}
	switch kind {
	case errThrottle:
		c.retryLater(it, now.Add(jitter(time.Second)), reason)
	case errLimitResource:
		// Something else (a backup job, another copy) holds the resource.
		ch.resBusy++
		c.retryLater(it, now.Add(min(30*time.Minute, time.Minute<<min(ch.resBusy-1, 5))), reason)
	case errLimitVault:
		v := it.dest
		v.cap = max(1, float64(v.inflight-1)) // this one included
		if v.maxCap > v.cap || math.IsInf(v.maxCap, 1) {
			v.maxCap = v.cap + 1 // AWS told us where the ceiling is; probe just above it
		}
		c.retryLater(it, now.Add(jitter(5*time.Second)), reason)
	case errLimitAccount:
		c.s.cap = max(1, math.Floor(float64(len(c.inflight)+c.pending+1)*0.7))
		c.s.capHoldUntil = now.Add(30 * time.Second)
		c.retryLater(it, now.Add(jitter(5*time.Second)), reason)
	case errAuth, errRetryable:
		if it.callErrs >= 10 {
			c.fail(it, reason, a.Category)
			return
		}
		c.retryLater(it, now.Add(jitter(time.Duration(it.callErrs)*10*time.Second)), reason)
	default:
		c.fail(it, reason, code)
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
	c.logRetry(it, at, reason, false)
	c.release(it, false)
}

func (c *Copier) fail(it *copyItem, reason, category string) {
	rec := it.rec
	rec.State, rec.Reason, rec.Category, rec.NextAt = state.CopyFailed, reason, category, nil
	c.dirty[rec] = true
	c.sum.Failed++
	c.sum.FailedByReason[failureKey(rec)]++
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
		}
	}
	c.s.park(ch, c.Now())
}

// ended applies a job's end (COMPLETED, FAILED or PARTIAL).
func (c *Copier) ended(it *copyItem, j types.CopyJob) {
	rec := it.rec
	a := rec.Last()
	a.State, a.Message, a.Category = string(j.State), aws.ToString(j.StatusMessage), aws.ToString(j.MessageCategory)
	a.End = utcPtr(j.CompletionDate)
	c.dirty[rec] = true
	if j.State == types.CopyJobStateCompleted {
		rec.State, rec.Reason, rec.Category = state.CopyCompleted, "", ""
		rec.DestRPArn, rec.CompletedAt = aws.ToString(j.DestinationRecoveryPointArn), utcPtr(j.CompletionDate)
		rec.DestSize = aws.ToInt64(j.BackupSizeInBytes)
		c.sum.Completed++
		c.sum.CompletedNow++
		c.sum.Bytes += rec.Size
		c.sum.BytesNow += rec.Size
		if j.CreationDate != nil && j.CompletionDate != nil {
			c.model.add(rec.ResourceType, rec.Size, j.CompletionDate.Sub(*j.CreationDate))
			d := j.CompletionDate.Sub(*j.CreationDate).Seconds()
			if c.meanDur == 0 {
				c.meanDur = d
			} else {
				c.meanDur = 0.9*c.meanDur + 0.1*d
			}
		}
		// Additive increase: one more slot per cap's worth of completions.
		now := c.Now()
		if now.After(c.s.capHoldUntil) && c.s.cap < c.s.maxCap {
			c.s.cap = min(c.s.maxCap, c.s.cap+1/math.Max(1, c.s.cap))
		}
		if v := it.dest; v.cap < v.maxCap {
			v.cap = min(v.maxCap, v.cap+1/math.Max(1, v.cap))
		}
		c.release(it, true)
		return
	}
	reason := strings.TrimSpace(a.Category + ": " + a.Message)
	retryable := retryableJobFailure(a.Category, a.Message)
	a.Retryable = retryable
	if !retryable || rec.Attempt >= c.Opts.MaxAttempts {
		if retryable {
			reason = fmt.Sprintf("%s (gave up after %d attempts)", reason, rec.Attempt)
		}
		c.fail(it, reason, a.Category)
		return
	}
	// A new attempt, with a new token, after a backoff. JobID stays set
	// until the next intent, which is how intent() knows to count up.
	at := c.Now().Add(jitter(c.Opts.RetryBase << (rec.Attempt - 1)))
	rec.State, rec.Reason, rec.Category, rec.NextAt = state.CopyRetry, reason, a.Category, &at
	c.logRetry(it, at, reason, true)
	delete(c.inflight, rec.JobID)
	it.dest.inflight--
	ch := it.chain
	ch.busy, ch.notBefore = false, at
	c.s.park(ch, c.Now())
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)))
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
	switch out.CopyJob.State {
	case types.CopyJobStateCompleted, types.CopyJobStateFailed, types.CopyJobStatePartial:
		c.ended(it, *out.CopyJob)
	}
}

// tag applies the tag mapping to one completed copy (a tagging goroutine).
func (c *Copier) tag(ctx context.Context, tagsFor func(context.Context, *state.RP) (map[string]string, error), rec state.CopyRecord) tagRes {
	res := tagRes{vault: rec.Vault, arn: rec.Arn}
	if !TaggableTypes[rec.ResourceType] {
		res.state = TagUnsupported
		return res
	}
	rp, ok, err := c.Store.GetRP(rec.Vault, rec.Arn)
	if err != nil || !ok {
		res.state, res.err = TagError, fmt.Sprintf("read RP: ok=%v err=%v", ok, err)
		return res
	}
	tags, err := tagsFor(ctx, rp)
	if err != nil {
		res.state, res.err = TagError, "tag policy: "+err.Error()
		return res
	}
	if len(tags) == 0 {
		res.state = TagNone
		return res
	}
	if _, err := c.Tags.TagResource(ctx, &backup.TagResourceInput{ResourceArn: aws.String(rec.DestRPArn), Tags: tags}); err != nil {
		_, code, msg := classifyAWS(err)
		res.state, res.err = TagError, strings.TrimPrefix(code+": "+msg, ": ")
		return res
	}
	res.state = TagApplied
	return res
}

func (c *Copier) tagged(r tagRes) {
	rec, ok, err := c.Store.GetCopy(r.vault, r.arn)
	if err != nil || !ok {
		return
	}
	rec.TagState, rec.TagError = r.state, r.err
	switch r.state {
	case TagApplied:
		c.sum.Tagged++
	case TagError:
		c.sum.TagErrors++
	}
	// The in-memory record (if any) is final; write the stored one.
	c.dirty[rec] = true
}

// flush commits every changed record, with the watermark if given.
func (c *Copier) flush(wm *time.Time) error {
	if len(c.dirty) == 0 && wm == nil {
		return nil
	}
	recs := make([]*state.CopyRecord, 0, len(c.dirty))
	for r := range c.dirty {
		if r.State == "" {
			continue
		}
		recs = append(recs, r)
	}
	if err := c.Store.PutCopies(recs, wm); err != nil {
		return err
	}
	clear(c.dirty)
	return nil
}

// publish hands the UI a snapshot.
func (c *Copier) publish() {
	c.Progress.setCopy(c.withTail(CopySnapshot{
		InFlight: len(c.inflight) + c.pending, Cap: int(math.Floor(c.s.cap)), Started: c.sum.Started,
		Completed: c.sum.Completed, CompletedNow: c.sum.CompletedNow, Failed: c.sum.Failed, BytesNow: c.sum.BytesNow,
		Ready: c.s.readyCount(), Waiting: c.s.waiting.Len(), APICalls: c.Counts.Total(),
		BytesDone: c.sum.Bytes,
	}))
}

// Preview works out what Run would start, without calling AWS.
func (c *Copier) Preview(ctx context.Context) (CopySummary, error) {
	c.init()
	start := c.Now()
	open, _, err := c.loadRecords()
	if err != nil {
		return c.sum, err
	}
	if len(open) == 0 {
		// No job in flight, in retry or intended: nothing to schedule
		// around, so count instead of building the schedule (at a
		// million RPs that is hundreds of thousands of queue items).
		return c.sum, c.previewCount(ctx, start)
	}
	if err := c.loadRPs(ctx, open); err != nil {
		return c.sum, err
	}
	c.dirty = map[*state.CopyRecord]bool{} // nothing is written
	return c.sum, c.finishPreview(start)
}

// previewCount is Preview when no copy record is open: what loadRPs
// and countLeft would give, counted in one scan, or taken from
// c.Pending when the caller has it.
func (c *Copier) previewCount(ctx context.Context, start time.Time) error {
	var n, bytes int64
	add := func(vault string, count, size int64) {
		if t, ok := c.Targets[vault]; !ok || !t.Ready {
			c.countWaiting(vault, count)
			return
		}
		n += count
		bytes += size
	}
	if c.Pending != nil {
		for vault, p := range c.Pending {
			add(vault, p[0], p[1])
		}
	} else {
		err := c.Store.ScanRPs(func(rp *state.RP) error {
			if rp.Copy != state.CopyPending || rp.Decision == nil || rp.Decision.Outcome != state.Included {
				return nil // copied or copying (its record is final), or not included
			}
			add(rp.Vault, 1, rp.Size)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
	}
	c.sum.Queued = n
	c.Progress.setCopyTotal(c.sum.Completed+c.sum.Failed+n, c.sum.Bytes+bytes)
	c.sum.Elapsed = c.Now().Sub(start)
	return nil
}

func (c *Copier) finishPreview(start time.Time) error {
	c.sum.Elapsed = c.Now().Sub(start)
	c.countLeft()
	return nil
}

// durations predicts how long a copy job takes, from the jobs observed
// (in this run and in the state's history): per resource type, a least-
// squares line through (size, duration); with one observation of a
// type, that duration scaled by size; with none, the same over all
// types.
type durations struct {
	byType map[string]*fit
	all    fit
}

type fit struct{ n, sx, sy, sxx, sxy float64 }

func (f *fit) add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

func (f *fit) predict(x float64) (float64, bool) {
	switch {
	case f.n == 0:
		return 0, false
	case f.n >= 2:
		den := f.n*f.sxx - f.sx*f.sx
		if den > 0 {
			b := (f.n*f.sxy - f.sx*f.sy) / den
			a := (f.sy - b*f.sx) / f.n
			if b >= 0 {
				return max(0, a+b*x), true
			}
		}
	}
	// One point (or no spread): scale it by size, but never below what
	// was observed, so a smaller job is not expected to be quicker than
	// the fixed part of the one seen.
	mx, my := f.sx/f.n, f.sy/f.n
	if mx > 0 && x > mx {
		return my * x / mx, true
	}
	return my, true
}

func (d *durations) add(typ string, size int64, dur time.Duration) {
	if dur <= 0 {
		return
	}
	if d.byType == nil {
		d.byType = map[string]*fit{}
	}
	f := d.byType[typ]
	if f == nil {
		f = &fit{}
		d.byType[typ] = f
	}
	f.add(float64(size), dur.Seconds())
	d.all.add(float64(size), dur.Seconds())
}

// predict returns the expected duration, and false when nothing has
// been observed yet.
func (d *durations) predict(typ string, size int64) (time.Duration, bool) {
	if f := d.byType[typ]; f != nil {
		if s, ok := f.predict(float64(size)); ok {
			return time.Duration(s * float64(time.Second)), true
		}
	}
	s, ok := d.all.predict(float64(size))
	return time.Duration(s * float64(time.Second)), ok
}

// EnableRequeue lets Requeue hand failed copies to this copier while it
// runs. Call it before Run, and before sharing the copier.
func (c *Copier) EnableRequeue() {
	c.requeueCh = make(chan requeueReq)
	c.loopDone = make(chan struct{})
}

// Requeue moves failed copies back to the queue. While the dispatcher
// runs it does so itself, adding them to the live schedule so they start
// without a restart; once Run has returned (or when requeues were never
// enabled) it writes the state for the next run. It is safe to call from
// any goroutine.
func (c *Copier) Requeue(ctx context.Context, keys []state.CopyKey) (int, error) {
	if c.requeueCh != nil {
		req := requeueReq{keys: keys, resp: make(chan requeueRes, 1)}
		select {
		case c.requeueCh <- req:
			select {
			case r := <-req.resp:
				return r.n, r.err
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		case <-c.loopDone:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return StoreRequeuer{Store: c.Store, Now: c.Now}.Requeue(ctx, keys)
}

// requeue (the dispatcher goroutine) moves failed records back to retry,
// due now, and schedules them like load would.
func (c *Copier) requeue(keys []state.CopyKey) (int, error) {
	now := c.Now()
	n := 0
	for _, k := range keys {
		rec, ok, err := c.Store.GetCopy(k.Vault, k.Arn)
		if err != nil {
			return n, err
		}
		if !ok || (rec.State != state.CopyFailed && rec.State != state.CopyHeld) {
			continue
		}
		rp, ok, err := c.Store.GetRP(k.Vault, k.Arn)
		if err != nil {
			return n, err
		}
		if !ok {
			continue // an orphan record: nothing to copy it from
		}
		fk, held := failureKey(rec), rec.State == state.CopyHeld
		rec.Requeue(now)
		c.dirty[rec] = true
		n++
		if held {
			c.releaseHeld(rec)
		} else {
			c.sum.Failed--
			if c.sum.FailedByReason[fk]--; c.sum.FailedByReason[fk] <= 0 {
				delete(c.sum.FailedByReason, fk)
			}
		}
		t, ok := c.Targets[rp.Vault]
		if !ok || !t.Ready {
			c.countWaiting(rp.Vault, 1) // started once its vault is ready
			c.park(rp, rec)
			continue
		}
		v := c.s.byName[rp.Vault]
		if v == nil {
			vcap := math.Inf(1)
			if c.Opts.VaultCap > 0 {
				vcap = float64(c.Opts.VaultCap)
			}
			destArn := t.Arn
			if rec.DestVaultArn != "" {
				destArn = rec.DestVaultArn
			}
			v = &vaultSched{name: rp.Vault, destArn: destArn, cap: vcap, maxCap: vcap}
			c.s.byName[rp.Vault] = v
			c.s.vaults = append(c.s.vaults, v)
			sort.Slice(c.s.vaults, func(i, j int) bool { return c.s.vaults[i].name < c.s.vaults[j].name })
		}
		it := &copyItem{
			vault: rp.Vault, arn: rp.Arn, created: rp.CreationDate.UnixNano(), size: rp.Size, typ: rp.ResourceType,
			deleteAft: -1, coldAft: -1, est: estimate(rp.ResourceType, rp.Size), dest: v, rec: rec,
		}
		if rp.DeleteAfterDays != nil {
			it.deleteAft = *rp.DeleteAfterDays
		}
		if rp.ColdAfterDays != nil {
			it.coldAft = *rp.ColdAfterDays
		}
		if c.chains == nil {
			c.chains = map[string]*chain{}
		}
		ch := c.chains[rp.ResourceArn]
		if ch == nil {
			ch = &chain{resource: rp.ResourceArn, heapIdx: -1, waitIdx: -1}
			c.chains[rp.ResourceArn] = ch
		}
		it.chain = ch
		ch.items = append(ch.items, it)
		ch.remaining += it.est
		// The part of the chain not started yet stays oldest first.
		from := ch.next
		if ch.busy {
			from++
		}
		if from < len(ch.items) {
			rest := ch.items[from:]
			sort.SliceStable(rest, func(i, j int) bool { return rest[i].created < rest[j].created })
		}
		if !ch.busy {
			c.s.park(ch, now)
		}
		if c.Log != nil {
			c.Log.Info("copy requeued", "vault", rp.Vault, "rp", rp.Arn, "attempt", rec.Attempt)
		}
	}
	return n, c.flush(nil)
}
