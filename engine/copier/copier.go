package copier

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/estimate"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Options tune the copy engine. Zero values pick the defaults.
type Options struct {
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
	BusyBackoff  time.Duration // first wait of a resource refused as busy, doubled on each refusal up to 30× (default 1 min)
	CallBackoff  time.Duration // wait after a StartCopyJob call failed (5xx, network, auth) past the SDK's retries: CallBackoff × failures (default 10 s, jittered)
	LimitBackoff time.Duration // wait of a start refused for a vault's or the account's cap (default 5 s, jittered)
	CapHold      time.Duration // no growth of the global cap this long after it was lowered (default 30 s)
	// NoWait returns as soon as nothing more can start, leaving jobs in
	// flight for the next run; by default Run waits for them.
	NoWait bool
}

func (o *Options) defaults() {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Minute
	}
	if o.CallBackoff <= 0 {
		o.CallBackoff = 10 * time.Second
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
	if o.BusyBackoff <= 0 {
		o.BusyBackoff = time.Minute
	}
	if o.LimitBackoff <= 0 {
		o.LimitBackoff = 5 * time.Second
	}
	if o.CapHold <= 0 {
		o.CapHold = 30 * time.Second
	}
}

// Target is where one source vault's RPs are copied to.
type Target struct {
	Arn    string // destination vault ARN
	Ready  bool   // copies may start
	Reason string // why not, when not ready
	Wait   WaitReason
	// Awaited: not ready yet, and watched (Copier.VaultUpdates) so its
	// RPs can start in this run once it is.
	Awaited bool
}

// Summary is what a copy pass did, and the state it left.
type Summary struct {
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
	Stopped        StopReason        `json:"stopped,omitempty"` // why the run returned early

	// WaitingWhy is the typed reason of each vault in WaitingByVault.
	WaitingWhy map[string]WaitReason `json:"waiting_why"`
	// VaultsReady are vaults that became ready during this run, with
	// how long after the copy step started.
	VaultsReady map[string]time.Duration `json:"vaults_ready,omitempty"`
	// Adopt is what the run found in AWS that the state had no record
	// of (adopt.go).
	Adopt AdoptSummary `json:"adopt"`
	// NotApproved are the included RPs not started because the approved
	// plan the run follows does not allow them (Copier.Only).
	NotApproved int64 `json:"not_approved,omitempty"`
}

// WaitingCreating counts the RPs waiting for a vault AWS is still
// creating: work a later run does by itself, unlike blocked RPs.
func (s Summary) WaitingCreating() int64 {
	var n int64
	for v, c := range s.WaitingByVault {
		if s.WaitingWhy[v] == WaitCreating {
			n += c
		}
	}
	return n
}

// Copier runs the copy queue: it starts copy jobs within the quotas,
// tracks them to completion, retries what is worth retrying and tags
// the copies.
type Copier struct {
	Store *state.Store
	// Only, when set, is the approved plan a run follows: an RP it does
	// not allow is never started (nor a retry of it); it stays queued in
	// the state, counted in Summary.NotApproved.
	Only func(arn string) bool
	// Pending, when set, are the included RPs not queued or copied yet
	// (count and bytes by vault) of the state as it is: Preview then
	// needs no scan when no copy record is open (the decide pass counts them).
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
	// Taggable are the resource types whose recovery points AWS Backup
	// itself tags (TagResource on the RP ARN). The others are snapshots
	// and images owned by their service, tagged through that service's
	// API: their tag state is TagUnsupported.
	Taggable map[string]bool
	CopyRole string
	Targets  map[string]Target // by source vault name
	Opts     Options
	Now      func() time.Time
	Progress *progress.Progress
	Counts   *APICounts
	Log      *slog.Logger // nil: no log
	// VaultUpdates brings the awaited vaults' readiness; nil when none
	// is awaited.
	VaultUpdates <-chan VaultUpdate
	// OnFailure, when set, is told of each copy that failed: a job
	// that ended FAILED or PARTIAL (retried or not) and a start refused
	// for good. It runs in the dispatcher: it must return at once.
	OnFailure func(Failure)

	api      *pacedJobs
	s        sched
	inflight map[string]*copyItem // by job id
	intents  []*copyItem          // adopted or re-called on resume
	dirty    map[*state.CopyRecord]bool
	sum      Summary
	pending  int // start calls in flight
	wm       time.Time
	meanDur  float64 // EWMA of job duration, seconds
	// emptyPolls counts the polls in a row that saw no job end.
	emptyPolls int
	// fatal stops the run: an error no retry fixes and that is not the
	// RP's fault (the copy role cannot be passed, StartCopyJob is denied).
	fatal  error
	probed bool // the first start of this run has answered
	model  estimate.Durations
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
	// limits is the evidence that places LimitExceededException
	// refusals; cuts counts the cap decreases it led to (limits.go).
	limits  limitEvidence
	cuts    capCuts
	sendSeq uint64 // StartCopyJob calls sent in this run
}

// AccessError is StartCopyJob being refused for a permission: the copy
// role cannot be passed, or the caller may not start copy jobs. shuffle
// stops before starting anything else; no RP is marked failed.
type AccessError struct {
	Role, Code, Message string
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("StartCopyJob was refused (%s: %s). Check that the source profile may call backup:StartCopyJob and iam:PassRole on %s with iam:PassedToService=backup.amazonaws.com, and that the role exists; no recovery point was marked failed, so run again once it is fixed",
		e.Code, e.Message, e.Role)
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
		c.Progress = progress.New()
	}
	c.inflight = map[string]*copyItem{}
	c.dirty = map[*state.CopyRecord]bool{}
	c.sum.FailedByReason, c.sum.WaitingByVault, c.sum.WaitingReasons = map[string]int64{}, map[string]int64{}, map[string]string{}
	c.sum.WaitingWhy = map[string]WaitReason{}
	c.parked, c.settled = map[string][]parkedRP{}, map[string]VaultUpdate{}
	c.sum.Adopt.HeldByReason = map[string]int64{}
	c.limits, c.cuts = limitEvidence{}, capCuts{vault: map[string]int{}}
}

// Run copies until nothing is left that can start (and, unless NoWait,
// every job has ended), b's deadlines pass or ctx is cancelled. State is
// flushed before it returns, in every case.
func (c *Copier) Run(ctx context.Context, b Bounds) (Summary, error) {
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
	err = c.loop(ctx, b, tagQueue)
	return c.sum, c.finish(start, err)
}

// Settled is how each awaited vault settled during Run, by source vault.
// Call it after Run has returned.
func (c *Copier) Settled() map[string]VaultUpdate { return c.settled }

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

// jobEnded says whether a job's state is final.
func jobEnded(s types.CopyJobState) bool {
	switch s {
	case types.CopyJobStateCompleted, types.CopyJobStateFailed, types.CopyJobStatePartial:
		return true
	}
	return false
}

// RecoveryPointLister lists the recovery points of one destination
// vault; the *backup.Client satisfies it.
type RecoveryPointLister interface {
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func ptrTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
