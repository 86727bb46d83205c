package copier

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// A process stopped with two intents on one resource (its first RP's
// job ended and it started the second) two hours ago; AWS lists no job
// and remembers no token. The first RP's copy is in the destination, so
// it is adopted; the second's job may still be running in AWS, so it is
// held. Neither is sent again: sending the second when the chain
// reached it would make a second copy if its job had ended.
func TestIntentBehindItsHeadIsSettledNotSent(t *testing.T) { intentsBehind(t, false) }

// The same, with the call that asks how far back the job history
// reaches throttled once: it is retried, not the run's end (the soak
// stopped a window on it).
func TestIntentReconcileRetriesAThrottle(t *testing.T) { intentsBehind(t, true) }

// throttleReach throttles the first ListCopyJobs that asks for jobs
// created before a time (the job history's reach).
type throttleReach struct {
	*fakeAWS
	throttled int
}

func (f *throttleReach) ListCopyJobs(ctx context.Context, in *backup.ListCopyJobsInput, o ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error) {
	if in.ByCreatedBefore != nil && f.throttled == 0 {
		f.throttled++
		return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	return f.fakeAWS.ListCopyJobs(ctx, in, o...)
}

func intentsBehind(t *testing.T, throttle bool) {
	st := sweepState(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	intentAt := now.Add(-2 * time.Hour)
	b := st.NewBatch(state.EpochDecision)
	var recs []*state.CopyRecord
	rps := map[string]*state.RP{}
	for i, name := range []string{"first", "second"} {
		rp := &state.RP{Arn: "arn:rp:" + name, Vault: "v", ResourceArn: "arn:res:r1", ResourceType: "EBS", Status: "COMPLETED",
			CreationDate: now.Add(-time.Duration(48-24*i) * time.Hour), Size: 1e9, Copy: state.CopyingRP,
			Decision: &state.Decision{Outcome: state.Included, Reason: "ok"}}
		rps[name] = rp
		if err := b.Put(rp); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &state.CopyRecord{Vault: "v", Arn: rp.Arn, ResourceArn: rp.ResourceArn, ResourceType: "EBS", Size: rp.Size,
			Created: rp.CreationDate, Attempt: 1, State: state.CopyIntent, IntentAt: intentAt.Add(time.Duration(i) * time.Minute),
			DestVaultArn: destArn, Token: state.CopyToken(rp.Arn, destArn, 1),
			Attempts: []state.Attempt{{N: 1, State: "INTENT", At: intentAt}}})
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCopies(recs, nil); err != nil {
		t.Fatal(err)
	}
	f := &fakeAWS{t: t, dest: []types.RecoveryPointByBackupVault{{RecoveryPointArn: aws.String("arn:dest:first"),
		SourceBackupVaultArn: aws.String(srcArn), ResourceArn: aws.String("arn:res:r1"),
		CreationDate: aws.Time(rps["first"].CreationDate), Status: types.RecoveryPointStatusCompleted}}}
	var jobs CopyJobs = f
	tr := &throttleReach{fakeAWS: f}
	if throttle {
		jobs = tr
	}
	c := &Copier{Store: st, Jobs: jobs, Dest: f, Targets: map[string]Target{"v": {Arn: destArn, Ready: true}},
		CopyRole: "arn:aws:iam::111111111111:role/copy", Now: func() time.Time { return now },
		Opts: Options{MaxInFlight: 10, PollMin: time.Millisecond, PollMax: 5 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Run(ctx, Bounds{})
	if f.starts != 0 {
		t.Errorf("StartCopyJob called %d times; want none (both intents may have reached AWS)", f.starts)
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if throttle && tr.throttled != 1 {
		t.Fatalf("the reach call was throttled %d times; the test proves nothing", tr.throttled)
	}
	want := map[string]string{"first": state.CopyCompleted, "second": state.CopyHeld}
	for name, w := range want {
		rec, ok, err := st.GetCopy("v", rps[name].Arn)
		if err != nil || !ok || rec.State != w {
			t.Errorf("%s: record %+v (%v); want %s", name, rec, err, w)
		}
	}
}
