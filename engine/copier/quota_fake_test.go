package copier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// quotaAWS is a fake source-account Backup API with AWS's three
// concurrency quotas (one job per resource, the account's, each
// destination vault's), source resources kept busy by their own backup
// jobs, jobs that last a given time in real time, and refusal texts in
// AWS-like words or in words shuffle cannot place.
type quotaAWS struct {
	mu         sync.Mutex
	accountCap int            // 0: none
	vaultCaps  map[string]int // by destination vault ARN; absent: none
	busyEvery  int            // every n-th start finds its resource busy (0: never)
	busyP      float64        // or: each start finds it busy with this probability
	busyFor    time.Duration
	unknown    bool // refusal texts name no scope
	misworded  bool // busy resources are refused in the account's words
	dur        time.Duration
	// failing RPs' jobs end FAILED as said, the first n times.
	failing map[string]*failSpec

	rng       *rand.Rand        // busy resources
	texts     *rand.Rand        // unknown texts (apart, so both wordings see the same busy resources)
	resource  map[string]string // RP ARN -> resource ARN
	busyUntil map[string]time.Time
	jobs      []*fakeJob
	byToken   map[string]*fakeJob
	starts    int
	refusals  map[string]int // by true scope: resource, busy, vault, account
	// doubles counts starts for an RP while a job of it was running.
	doubles int
}

type fakeJob struct {
	id, rp, resource, vault string
	created, end            time.Time
	fail                    *failSpec
}

// failSpec is how a failing RP's jobs end: FAILED with msg and category
// (none when ""), the first n times.
type failSpec struct {
	n        int
	msg, cat string
}

func newQuotaAWS(seed uint64) *quotaAWS {
	return &quotaAWS{rng: rand.New(rand.NewPCG(seed, 1)), texts: rand.New(rand.NewPCG(seed, 2)), resource: map[string]string{}, busyUntil: map[string]time.Time{},
		byToken: map[string]*fakeJob{}, refusals: map[string]int{}, failing: map[string]*failSpec{}, vaultCaps: map[string]int{}, dur: 30 * time.Millisecond, busyFor: 20 * time.Millisecond}
}

// unknownTexts are refusals in wordings that name no scope.
var unknownTexts = []string{"Too many concurrent operations. Try again later.", "Request could not be processed at this time",
	"Quota reached", "Limit exceeded"}

func (f *quotaAWS) refuse(scope, known string) error {
	f.refusals[scope]++
	msg := known
	if f.unknown {
		msg = unknownTexts[f.texts.IntN(len(unknownTexts))]
		if f.texts.IntN(4) == 0 {
			msg = fmt.Sprintf("Error %x occurred (ref %d)", f.texts.Uint32(), f.texts.IntN(1e6))
		}
	}
	return &smithy.GenericAPIError{Code: "LimitExceededException", Message: msg, Fault: smithy.FaultClient}
}

func (f *quotaAWS) StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, _ ...func(*backup.Options)) (*backup.StartCopyJobOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if j := f.byToken[aws.ToString(in.IdempotencyToken)]; j != nil {
		return &backup.StartCopyJobOutput{CopyJobId: aws.String(j.id), CreationDate: aws.Time(j.created)}, nil
	}
	f.starts++
	rp, vault := aws.ToString(in.RecoveryPointArn), aws.ToString(in.DestinationBackupVaultArn)
	res := f.resource[rp]
	var acct, inVault int
	for _, j := range f.jobs {
		if !now.Before(j.end) {
			continue
		}
		switch {
		case j.rp == rp:
			f.doubles++
			return nil, f.refuse("resource", "Resource "+res+" already has a job in progress; only 1 concurrent backup or copy job is allowed per resource")
		case j.resource == res:
			return nil, f.refuse("resource", "Resource "+res+" already has a job in progress; only 1 concurrent backup or copy job is allowed per resource")
		}
		acct++
		if j.vault == vault {
			inVault++
		}
	}
	if f.busy(res, now) {
		if f.misworded {
			return nil, f.refuse("busy", "The maximum number of concurrent jobs for account 111111111111 has been reached")
		}
		return nil, f.refuse("busy", "Resource "+res+" already has a job in progress; only 1 concurrent backup or copy job is allowed per resource")
	}
	if f.accountCap > 0 && acct >= f.accountCap {
		return nil, f.refuse("account", "The maximum number of concurrent copy jobs ("+strconv.Itoa(f.accountCap)+") for account 111111111111 has been reached")
	}
	if n, ok := f.vaultCaps[vault]; ok && inVault >= n {
		return nil, f.refuse("vault", "The maximum number of concurrent copy jobs ("+strconv.Itoa(n)+") into backup vault "+vault+" has been reached")
	}
	j := &fakeJob{id: "job-" + strconv.Itoa(len(f.jobs)), rp: rp, resource: res, vault: vault, created: now, end: now.Add(f.dur)}
	if fs := f.failing[rp]; fs != nil && fs.n > 0 {
		fs.n--
		j.fail = fs
	}
	f.jobs = append(f.jobs, j)
	f.byToken[aws.ToString(in.IdempotencyToken)] = j
	return &backup.StartCopyJobOutput{CopyJobId: aws.String(j.id), CreationDate: aws.Time(now)}, nil
}

// busy says whether the source account's own backup job holds res now:
// one may have started since the last look.
func (f *quotaAWS) busy(res string, now time.Time) bool {
	if now.Before(f.busyUntil[res]) {
		return true
	}
	if (f.busyEvery > 0 && f.starts%f.busyEvery == 0) || (f.busyP > 0 && f.rng.Float64() < f.busyP) {
		f.busyUntil[res] = now.Add(f.busyFor)
		return true
	}
	return false
}

func (f *quotaAWS) view(j *fakeJob, now time.Time) types.CopyJob {
	cj := types.CopyJob{CopyJobId: aws.String(j.id), SourceRecoveryPointArn: aws.String(j.rp), ResourceArn: aws.String(j.resource),
		DestinationBackupVaultArn: aws.String(j.vault), CreationDate: aws.Time(j.created), State: types.CopyJobStateRunning}
	if now.Before(j.end) {
		return cj
	}
	cj.CompletionDate = aws.Time(j.end)
	if j.fail != nil {
		cj.State, cj.StatusMessage = types.CopyJobStateFailed, aws.String(j.fail.msg)
		if j.fail.cat != "" {
			cj.MessageCategory = aws.String(j.fail.cat)
		}
		return cj
	}
	cj.State, cj.MessageCategory = types.CopyJobStateCompleted, aws.String("SUCCESS")
	cj.DestinationRecoveryPointArn = aws.String(j.vault + ":copy:" + j.id)
	return cj
}

func (f *quotaAWS) ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, _ ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	var out []types.CopyJob
	for _, j := range f.jobs {
		cj := f.view(j, now)
		switch {
		case in.ByDestinationVaultArn != nil && j.vault != *in.ByDestinationVaultArn,
			in.ByCreatedAfter != nil && !j.created.After(*in.ByCreatedAfter),
			in.ByCompleteAfter != nil && (cj.CompletionDate == nil || !cj.CompletionDate.After(*in.ByCompleteAfter)):
			continue
		}
		out = append(out, cj)
	}
	return &backup.ListCopyJobsOutput{CopyJobs: out}, nil
}

func (f *quotaAWS) DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, _ ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.id == aws.ToString(in.CopyJobId) {
			cj := f.view(j, time.Now())
			return &backup.DescribeCopyJobOutput{CopyJob: &cj}, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no such job", Fault: smithy.FaultClient}
}

func (f *quotaAWS) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	return &backup.ListRecoveryPointsByBackupVaultOutput{}, nil
}

// completedByRP counts the COMPLETED jobs of each RP.
func (f *quotaAWS) completedByRP() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	now := time.Now()
	for _, j := range f.jobs {
		if f.view(j, now).State == types.CopyJobStateCompleted {
			out[j.rp]++
		}
	}
	return out
}

// quotaEstate is a state with vaults×resources×rps included RPs, the
// fake knowing each RP's resource, and the targets to copy them to. The
// state is closed at the end of the test, or by closeState before.
func quotaEstate(t testing.TB, f *quotaAWS, vaults, resources, rps int) (st *state.Store, targets map[string]Target, closeState func()) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeState = func() { once.Do(func() { st.Close() }) }
	t.Cleanup(closeState)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	targets = map[string]Target{}
	b := st.NewBatch(state.EpochDecision)
	for v := 0; v < vaults; v++ {
		name := fmt.Sprintf("v%d", v)
		targets[name] = Target{Arn: "arn:aws:backup:us-east-1:222222222222:backup-vault:d" + strconv.Itoa(v), Ready: true}
		for r := 0; r < resources; r++ {
			res := fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:volume/vol-%d-%d", v, r)
			for k := 0; k < rps; k++ {
				rp := &state.RP{Arn: fmt.Sprintf("arn:aws:ec2:us-east-1::snapshot/snap-%d-%d-%d", v, r, k), Vault: name, ResourceArn: res,
					ResourceType: "EBS", Status: "COMPLETED", CreationDate: t0.Add(time.Duration(k) * time.Hour), Size: 1e9,
					Decision: &state.Decision{Outcome: state.Included, Reason: "ok"}}
				f.resource[rp.Arn] = res
				if err := b.Put(rp); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return st, targets, closeState
}

// runQuota copies the estate against f with durations scaled down to
// milliseconds, and returns the copier (for its caps) and the summary.
func runQuota(t testing.TB, f *quotaAWS, st *state.Store, targets map[string]Target, maxInFlight int) (*Copier, Summary) {
	c := &Copier{Store: st, Jobs: f, Dest: f, Targets: targets, CopyRole: "arn:aws:iam::111111111111:role/copy",
		Opts: Options{MaxInFlight: maxInFlight, StartWorkers: 8, StartTPS: 2000, PollMin: 3 * time.Millisecond, PollMax: 20 * time.Millisecond,
			RetryBase: 10 * time.Millisecond, BusyBackoff: 10 * time.Millisecond, LimitBackoff: 4 * time.Millisecond, CapHold: 20 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := c.Run(ctx, Bounds{})
	if err != nil {
		t.Fatalf("run: %v (summary %+v)", err, sum)
	}
	return c, sum
}

// exactlyOnce checks that every RP of the estate has exactly one
// completed job and that no start came for an RP with a job running.
func exactlyOnce(t testing.TB, f *quotaAWS, sum Summary) {
	t.Helper()
	done := f.completedByRP()
	for rp := range f.resource {
		if done[rp] != 1 {
			t.Errorf("%s: %d completed jobs; want exactly 1", rp, done[rp])
		}
	}
	if f.doubles != 0 {
		t.Errorf("%d starts for an RP whose job was running", f.doubles)
	}
	if sum.Completed != int64(len(f.resource)) || sum.Failed != 0 {
		t.Errorf("summary: %d completed, %d failed; want %d completed", sum.Completed, sum.Failed, len(f.resource))
	}
}
