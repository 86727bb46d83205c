package testenv_test

// The variants that change StartCopyJob and copy jobs, through the real
// aws-sdk-go-v2 Backup client: other-texts, forget-tokens and
// busy-resources, and the refusal counters.

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// sdkNamesNoPlace fails when a message names a vault or a resource.
func sdkNamesNoPlace(t *testing.T, what, msg string) {
	t.Helper()
	if l := strings.ToLower(msg); strings.Contains(l, "vault") || strings.Contains(l, "resource") {
		t.Errorf("%s under other-texts names a vault or resource: %q", what, msg)
	}
}

func TestVariantOtherTexts(t *testing.T) {
	clk := newSDKClock()
	e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1000, Now: clk.Now, RecoveryPoints: 1500, Variants: []string{"other-texts"}})
	e.env.SetQuotas(testenv.Quotas{OverLimit: true, VaultCopyJobs: 1})
	rps := sdkPick(t, e.all, 31, sdkCopyable)
	_, err := sdkStartCopy(e.src, rps[0], e.dest)
	sdkNoErr(t, err, "first StartCopyJob")
	texts := map[string]int{}
	for _, rp := range rps[1:] {
		_, err := sdkStartCopy(e.src, rp, e.dest)
		msg := sdkWantErr(t, err, "LimitExceededException", 400)
		sdkNamesNoPlace(t, "LimitExceededException", msg)
		texts[msg]++
	}
	if n := e.env.Counters().Refusals(testenv.RefusalVault); n != 30 {
		t.Errorf("Refusals(vault) = %d after 30 refusals of the vault quota", n)
	}
	unknown := 0
	for m := range texts {
		if strings.Contains(m, "reference") {
			unknown++
		}
	}
	if unknown == 0 || len(texts)-unknown < 2 {
		t.Errorf("30 refusals gave %d random texts and %d wordings; want both kinds: %v", unknown, len(texts)-unknown, texts)
	}
	// FAILED jobs: every category in another wording.
	e.env.SetQuotas(testenv.Quotas{})
	if err := e.env.SetFaults(testenv.Faults{CopyFailRate: 1}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute) // the first job is done
	var ids []string
	for _, rp := range rps[1:6] {
		id, err := sdkStartCopy(e.src, rp, e.dest)
		sdkNoErr(t, err, "StartCopyJob bound to fail")
		ids = append(ids, id)
	}
	clk.Advance(3 * time.Minute)
	for _, id := range ids {
		out, err := e.src.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
		sdkNoErr(t, err, "DescribeCopyJob")
		j := out.CopyJob
		if j.State != types.CopyJobStateFailed || aws.ToString(j.StatusMessage) == "" {
			t.Fatalf("job %s: %s %q; want FAILED with a message", id, j.State, aws.ToString(j.StatusMessage))
		}
		sdkNamesNoPlace(t, "FAILED StatusMessage", aws.ToString(j.StatusMessage))
	}
}

func TestVariantForgetTokens(t *testing.T) {
	clk := newSDKClock()
	const speed = 1000 // 24 simulated hours are 86.4 real seconds
	e := newSDKCopyEnv(t, testenv.Options{CopySpeed: speed, Now: clk.Now, RecoveryPoints: 300, Variants: []string{"forget-tokens"}})
	rp := sdkPick(t, e.all, 1, sdkCopyable)[0]
	tok := func(in *backup.StartCopyJobInput) { in.IdempotencyToken = aws.String("variant-token") }
	id1, err := sdkStartCopy(e.src, rp, e.dest, tok)
	sdkNoErr(t, err, "StartCopyJob")
	clk.Advance(23 * time.Hour / speed)
	if id, err := sdkStartCopy(e.src, rp, e.dest, tok); err != nil || id != id1 {
		t.Fatalf("after 23 simulated hours the token gives job %q (%v), want %s", id, err, id1)
	}
	clk.Advance(2 * time.Hour / speed)
	id2, err := sdkStartCopy(e.src, rp, e.dest, tok)
	sdkNoErr(t, err, "StartCopyJob after 25 simulated hours")
	if id2 == id1 || e.env.Counters().JobsCreated(rp.Arn(), e.dest) != 2 {
		t.Fatalf("after 25 simulated hours the token gives job %s (first %s), %d jobs; want a new one", id2, id1, e.env.Counters().JobsCreated(rp.Arn(), e.dest))
	}
	// An explicit memory wins over the variant.
	e.env.SetMemory(testenv.Memory{IdempotencyMemory: -1})
	if id3, _ := sdkStartCopy(e.src, rp, e.dest, tok); id3 == id2 {
		t.Errorf("IdempotencyMemory none still remembered the token under forget-tokens")
	}
}

func TestVariantBusyResources(t *testing.T) {
	clk := newSDKClock()
	e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1000, Now: clk.Now, RecoveryPoints: 1500, Variants: []string{"busy-resources"}})
	rps := sdkPick(t, e.all, 95, sdkCopyable) // within the account quota of 100
	pending := rps
	for round := 0; len(pending) > 0 && round < 100; round++ {
		var next []sdkRP
		for _, rp := range pending {
			_, err := sdkStartCopy(e.src, rp, e.dest)
			var le *types.LimitExceededException
			switch {
			case errors.As(err, &le):
				if !strings.Contains(le.ErrorMessage(), "per resource") {
					t.Fatalf("busy refusal %q does not read as the per-resource quota", le.ErrorMessage())
				}
				next = append(next, rp)
			case err != nil:
				t.Fatalf("StartCopyJob: %v", err)
			}
		}
		pending = next
		clk.Advance(5 * time.Second) // about 80 simulated minutes
	}
	if len(pending) != 0 {
		t.Fatalf("%d resources stayed busy for 100 times 80 simulated minutes", len(pending))
	}
	c := e.env.Counters()
	if c.Refusals(testenv.RefusalBusy) == 0 || c.Refusals(testenv.RefusalResource) != 0 || c.Refusals(testenv.RefusalAccount) != 0 {
		t.Fatalf("refusals: busy %d, resource %d, account %d; want busy ones only",
			c.Refusals(testenv.RefusalBusy), c.Refusals(testenv.RefusalResource), c.Refusals(testenv.RefusalAccount))
	}
	for _, rp := range rps {
		if n := c.JobsCreated(rp.Arn(), e.dest); n != 1 {
			t.Errorf("%d jobs for %s", n, rp.Arn())
		}
	}
	t.Logf("%d busy refusals for %d resources", c.Refusals(testenv.RefusalBusy), len(rps))
}
