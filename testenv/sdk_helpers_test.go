package testenv_test

// Shared helpers for the tests that drive the emulator through the real
// aws-sdk-go-v2 clients (sdk_*_test.go). Every helper is prefixed with
// "sdk" so it cannot collide with helpers of other test files in this
// package.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

var sdkCtx = context.Background()

// sdkClock is a controllable clock for Options.Now. It is frozen at the
// time it was made plus whatever Advance added, so tests decide exactly
// when simulated deadlines pass. Keep the total offset (and the real
// time the test runs) well under 15 minutes unless requests are signed
// with sdkClockSigner, or the server rejects them as clock-skewed.
type sdkClock struct {
	base time.Time
	off  atomic.Int64
}

func newSDKClock() *sdkClock { return &sdkClock{base: time.Now()} }

func (c *sdkClock) Now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *sdkClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// sdkRunningClock runs with real time, shifted by an adjustable offset.
type sdkRunningClock struct{ off atomic.Int64 }

func (c *sdkRunningClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *sdkRunningClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// sdkSignWith makes a Backup client sign with now
// (testenvtest.ClockSigner).
func sdkSignWith(now func() time.Time) func(*backup.Options) { return testenvtest.SignWith(now) }

func sdkV4() *v4.Signer { return v4.NewSigner() }

// sdkBackup returns a Backup client for profile.
func sdkBackup(t testing.TB, env *testenvtest.Env, profile string, optFns ...func(*backup.Options)) *backup.Client {
	t.Helper()
	return backup.NewFromConfig(env.Config(t, profile), optFns...)
}

func sdkSTS(t testing.TB, env *testenvtest.Env, profile string, optFns ...func(*sts.Options)) *sts.Client {
	t.Helper()
	return sts.NewFromConfig(env.Config(t, profile), optFns...)
}

func sdkIAM(t testing.TB, env *testenvtest.Env, profile string, optFns ...func(*iam.Options)) *iam.Client {
	t.Helper()
	return iam.NewFromConfig(env.Config(t, profile), optFns...)
}

// sdkStatus is the HTTP status of an SDK error, or 0 when there was no
// HTTP response.
func sdkStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// sdkWantErr asserts err is an API error with code and HTTP status and
// returns its message.
func sdkWantErr(t testing.TB, err error, code string, status int) string {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (HTTP %d), got success", code, status)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s (HTTP %d), got non-API error %T: %v", code, status, err, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want error code %s, got %s: %v", code, ae.ErrorCode(), err)
	}
	if got := sdkStatus(err); got != status {
		t.Fatalf("want HTTP %d for %s, got %d: %v", status, code, got, err)
	}
	if ae.ErrorMessage() == "" {
		t.Fatalf("%s has an empty message", code)
	}
	return ae.ErrorMessage()
}

// sdkWantTyped asserts err is (or wraps) a *T with the given status.
func sdkWantTyped[T error](t testing.TB, err error, status int) T {
	t.Helper()
	var target T
	if err == nil {
		t.Fatalf("want %T (HTTP %d), got success", target, status)
	}
	if !errors.As(err, &target) {
		t.Fatalf("want %T, got %T: %v", target, err, err)
	}
	if got := sdkStatus(err); got != status {
		t.Fatalf("want HTTP %d for %T, got %d: %v", status, target, got, err)
	}
	return target
}

func sdkNoErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sdkRP is a source recovery point with the vault it lives in.
type sdkRP struct {
	Vault string
	types.RecoveryPointByBackupVault
}

func (r sdkRP) Arn() string { return aws.ToString(r.RecoveryPointArn) }

// sdkListRPs lists every recovery point of a vault with the paginator.
func sdkListRPs(t testing.TB, c *backup.Client, in *backup.ListRecoveryPointsByBackupVaultInput) ([]types.RecoveryPointByBackupVault, int) {
	t.Helper()
	var out []types.RecoveryPointByBackupVault
	pages := 0
	p := backup.NewListRecoveryPointsByBackupVaultPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		if err != nil {
			t.Fatalf("ListRecoveryPointsByBackupVault %s page %d: %v", aws.ToString(in.BackupVaultName), pages+1, err)
		}
		pages++
		out = append(out, page.RecoveryPoints...)
	}
	return out, pages
}

// sdkVaultNames lists the vault names of an account in order.
func sdkVaultNames(t testing.TB, c *backup.Client) []string {
	t.Helper()
	var names []string
	p := backup.NewListBackupVaultsPaginator(c, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListBackupVaults")
		for _, v := range page.BackupVaultList {
			names = append(names, aws.ToString(v.BackupVaultName))
		}
	}
	return names
}

// sdkAllSourceRPs lists every recovery point of every source vault.
func sdkAllSourceRPs(t testing.TB, env *testenvtest.Env) []sdkRP {
	t.Helper()
	c := sdkBackup(t, env, testenv.ProfileSource)
	var all []sdkRP
	for _, name := range sdkVaultNames(t, c) {
		rps, _ := sdkListRPs(t, c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name)})
		for _, rp := range rps {
			all = append(all, sdkRP{Vault: name, RecoveryPointByBackupVault: rp})
		}
	}
	if len(all) == 0 {
		t.Fatal("the source account has no recovery points")
	}
	return all
}

// sdkContinuous reports whether an RP ARN names a continuous backup.
func sdkContinuous(rp sdkRP) bool { return strings.Contains(rp.Arn(), ":recovery-point:continuous:") }

// sdkMaybeCold reports whether an RP's lifecycle says it may be in cold storage.
func sdkMaybeCold(rp sdkRP) bool {
	return rp.CalculatedLifecycle != nil && rp.CalculatedLifecycle.MoveToColdStorageAt != nil
}

var sdkNotFullyManaged = map[string]bool{"EC2": true, "EBS": true, "RDS": true, "Aurora": true, "FSx": true, "Redshift": true}

// sdkCopyable reports whether an RP should copy cross-account cleanly:
// COMPLETED, not continuous, never cold, a type that copies across
// accounts and no AWS-managed key on a type that keeps its source key.
func sdkCopyable(rp sdkRP) bool {
	typ := aws.ToString(rp.ResourceType)
	return rp.Status == types.RecoveryPointStatusCompleted && !sdkContinuous(rp) && !sdkMaybeCold(rp) &&
		typ != "Redshift" && !(sdkNotFullyManaged[typ] && rp.EncryptionKeyType == "")
}

// sdkPick returns RPs matching f, from distinct resources, up to n
// (n <= 0: all). It fails the test if none match.
func sdkPick(t testing.TB, rps []sdkRP, n int, f func(sdkRP) bool) []sdkRP {
	t.Helper()
	seen := map[string]bool{}
	var out []sdkRP
	for _, rp := range rps {
		res := aws.ToString(rp.ResourceArn)
		if seen[res] || !f(rp) {
			continue
		}
		seen[res] = true
		out = append(out, rp)
		if n > 0 && len(out) == n {
			break
		}
	}
	if len(out) == 0 || (n > 0 && len(out) < n) {
		t.Fatalf("the seed data has %d matching recovery points from distinct resources, want %d", len(out), n)
	}
	return out
}

// sdkDestVault creates a vault in the destination account whose access
// policy lets the source account copy in, and returns its ARN.
func sdkDestVault(t testing.TB, env *testenvtest.Env, name string, withPolicy bool) string {
	t.Helper()
	c := sdkBackup(t, env, testenv.ProfileDestination)
	out, err := c.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(name)})
	sdkNoErr(t, err, "CreateBackupVault "+name)
	if withPolicy {
		_, err = c.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{
			BackupVaultName: aws.String(name), Policy: aws.String(sdkCopyInPolicy)})
		sdkNoErr(t, err, "PutBackupVaultAccessPolicy "+name)
	}
	return aws.ToString(out.BackupVaultArn)
}

const sdkCopyInPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AllowSourceCopy","Effect":"Allow",` +
	`"Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`

// sdkStartCopy starts a copy of rp into destVaultArn from the source profile.
func sdkStartCopy(c *backup.Client, rp sdkRP, destVaultArn string, mod ...func(*backup.StartCopyJobInput)) (string, error) {
	in := &backup.StartCopyJobInput{
		RecoveryPointArn:          rp.RecoveryPointArn,
		SourceBackupVaultName:     aws.String(rp.Vault),
		DestinationBackupVaultArn: aws.String(destVaultArn),
		IamRoleArn:                aws.String(testenv.CopyRoleArn),
	}
	for _, m := range mod {
		m(in)
	}
	out, err := c.StartCopyJob(sdkCtx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.CopyJobId), nil
}

// sdkWaitJob polls DescribeCopyJob until the job is COMPLETED or FAILED.
func sdkWaitJob(t testing.TB, c *backup.Client, id string) types.CopyJob {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
		sdkNoErr(t, err, "DescribeCopyJob "+id)
		j := *out.CopyJob
		if j.State == types.CopyJobStateCompleted || j.State == types.CopyJobStateFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("copy job %s still %s after 10s", id, j.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sdkBodyTamper is an HTTP client that rewrites each request after the
// SDK signed it.
type sdkBodyTamper struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
	mu   sync.Mutex
	edit func(r *http.Request, body []byte) []byte
	seen int
}

func (c *sdkBodyTamper) Do(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		body = b
	}
	c.mu.Lock()
	body = c.edit(r, body)
	c.seen++
	c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return c.inner.Do(r)
}
