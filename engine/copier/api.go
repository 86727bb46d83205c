package copier

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"golang.org/x/time/rate"
)

// CopyJobs is the narrow source-account API the copy engine uses.
type CopyJobs interface {
	StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, opts ...func(*backup.Options)) (*backup.StartCopyJobOutput, error)
	ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, opts ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error)
	DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, opts ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error)
}

// Tagger tags destination recovery points (destination account).
type Tagger interface {
	TagResource(ctx context.Context, in *backup.TagResourceInput, opts ...func(*backup.Options)) (*backup.TagResourceOutput, error)
}

var (
	_ CopyJobs = (*backup.Client)(nil)
	_ Tagger   = (*backup.Client)(nil)
)

// startRetryer is the SDK retryer for StartCopyJob and the completion
// polls: it retries network
// errors and 5xx with the same idempotency token, but leaves throttling
// and LimitExceededException to the scheduler. The SDK counts
// LimitExceededException as a throttle and would otherwise retry it
// blindly, up to its attempt limit, against a quota that frees up only
// when a copy finishes.
func startRetryer(o *backup.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 5
		so.MaxBackoff = 10 * time.Second
		so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if schedulerOwned(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, retry.DefaultRetryables...)
		so.RateLimiter = noQuota{}
	})
}

type noQuota struct{}

func (noQuota) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noQuota) AddTokens(uint) error { return nil }

// APICounts counts AWS calls by operation, for the run summary and the
// benchmark's calls-per-RP figure.
type APICounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *APICounts) add(op string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op]++
	c.mu.Unlock()
}

// Snapshot returns the counts by operation.
func (c *APICounts) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// Total is the number of calls made.
func (c *APICounts) Total() int64 {
	var t int64
	for _, v := range c.Snapshot() {
		t += v
	}
	return t
}

// pacedJobs wraps the copy-job API with the pacing every call shares:
// StartCopyJob goes through an AIMD token bucket that halves when a
// second's calls were throttled more than throttleShare of the time and
// grows back by about one call per second each second (doubling each
// second until the first decrease), and every call is counted. The
// scheduler decides what to start; this layer decides how fast.
//
// The share, not each throttle, is the signal: AWS throttles a caller
// over its rate (then most calls beyond the rate are refused, and the
// share grows with the excess), but a share of calls may be throttled
// at any rate (another caller on the account, a service under load).
// Halving on every throttle then holds the rate near a couple of calls
// per second whatever the quota; with a 10% background share that cut
// the copy rate tenfold (make soak, docs/performance.md).
type pacedJobs struct {
	api    CopyJobs
	counts *APICounts
	start  *rate.Limiter
	max    rate.Limit
	min    rate.Limit
	mu     sync.Mutex
	halved atomic.Int64 // unix ns of the last decrease
	// The current one-second window: its start, calls and throttles.
	winStart           int64
	winCalls, winThrot int
}

// throttleShare is the share of one second's StartCopyJob calls that
// may be throttled before the rate is halved; a second with fewer than
// minWindowCalls calls is judged on minWindowThrottles throttles.
const (
	throttleShare      = 0.25
	minWindowCalls     = 8
	minWindowThrottles = 3
)

func newPacedJobs(api CopyJobs, counts *APICounts, startTPS float64) *pacedJobs {
	if startTPS <= 0 {
		startTPS = 50
	}
	return &pacedJobs{api: api, counts: counts, start: rate.NewLimiter(rate.Limit(startTPS), 10), max: rate.Limit(startTPS * 20), min: 0.2}
}

func (p *pacedJobs) StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, opts ...func(*backup.Options)) (*backup.StartCopyJobOutput, error) {
	if err := p.start.Wait(ctx); err != nil {
		return nil, err
	}
	p.counts.add("StartCopyJob")
	out, err := p.api.StartCopyJob(ctx, in, append(opts, startRetryer)...)
	p.adjust(err)
	return out, err
}

func (p *pacedJobs) adjust(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.start.Limit()
	now := time.Now().UnixNano()
	if now-p.winStart > int64(time.Second) {
		p.winStart, p.winCalls, p.winThrot = now, 0, 0
	}
	p.winCalls++
	if err != nil {
		if awsclient.Classify(err).Class == awsclient.Throttle {
			p.winThrot++
			over := p.winThrot >= minWindowThrottles && float64(p.winThrot) > throttleShare*float64(max(p.winCalls, minWindowCalls))
			// Halve at most once per second: the throttles of calls
			// already in flight are one signal, not many.
			if over && now-p.halved.Load() > int64(time.Second) {
				p.halved.Store(now)
				p.start.SetLimit(max(p.min, l/2))
				p.winStart, p.winCalls, p.winThrot = now, 0, 0
			}
		}
		return
	}
	if l < p.max {
		step := 1 / max(l, 1) // congestion avoidance: +1 call/s per second
		if p.halved.Load() == 0 {
			step = 1 // slow start until the first throttle: doubles every second
		}
		p.start.SetLimit(min(p.max, l+step))
	}
}

// ListCopyJobs is not retried on throttling by the SDK either: a poll
// that is throttled is simply made again at the next poll time (with a
// longer interval), rather than sleeping through exponential backoff
// while jobs end unnoticed.
func (p *pacedJobs) ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, opts ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error) {
	p.counts.add("ListCopyJobs")
	return p.api.ListCopyJobs(ctx, in, append(opts, startRetryer)...)
}

func (p *pacedJobs) DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, opts ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error) {
	p.counts.add("DescribeCopyJob")
	return p.api.DescribeCopyJob(ctx, in, opts...)
}

// CountTags returns t with its TagResource calls counted in counts.
func CountTags(t Tagger, counts *APICounts) Tagger { return countedTagger{api: t, counts: counts} }

// countedTagger counts TagResource calls.
type countedTagger struct {
	api    Tagger
	counts *APICounts
}

func (t countedTagger) TagResource(ctx context.Context, in *backup.TagResourceInput, opts ...func(*backup.Options)) (*backup.TagResourceOutput, error) {
	t.counts.add("TagResource")
	return t.api.TagResource(ctx, in, opts...)
}
