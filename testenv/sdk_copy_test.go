package testenv_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// sdkCopyEnv is an emulator where copies finish at once, with a
// destination vault that accepts copies from the source account.
type sdkCopyEnv struct {
	env     *testenvtest.Env
	src     *backup.Client
	dst     *backup.Client
	dest    string // ARN of the destination vault "sdk-copy-dest"
	all     []sdkRP
	sourceV map[string]string // source vault name -> ARN
}

func newSDKCopyEnv(t *testing.T, o testenv.Options) *sdkCopyEnv {
	t.Helper()
	if o.RecoveryPoints == 0 {
		o.RecoveryPoints = 1000
	}
	if o.CopySpeed == 0 {
		o.CopySpeed = 1e6
	}
	env := testenvtest.Start(t, o)
	e := &sdkCopyEnv{env: env, src: sdkBackup(t, env, testenv.ProfileSource), dst: sdkBackup(t, env, testenv.ProfileDestination)}
	e.dest = sdkDestVault(t, env, "sdk-copy-dest", true)
	e.all = sdkAllSourceRPs(t, env)
	e.sourceV = map[string]string{}
	for _, rp := range e.all {
		e.sourceV[rp.Vault] = aws.ToString(rp.BackupVaultArn)
	}
	return e
}

func TestSDKCopySuccess(t *testing.T) {
	e := newSDKCopyEnv(t, testenv.Options{})
	// One of each kind: a fully managed type and one that keeps its CMK.
	for _, typ := range []string{"S3", "EBS", "RDS"} {
		rp := sdkPick(t, e.all, 1, func(r sdkRP) bool { return sdkCopyable(r) && aws.ToString(r.ResourceType) == typ })[0]
		id, err := sdkStartCopy(e.src, rp, e.dest)
		sdkNoErr(t, err, "StartCopyJob "+typ)
		j := sdkWaitJob(t, e.src, id)
		if j.State != types.CopyJobStateCompleted {
			t.Fatalf("%s copy ended %s: %s", typ, j.State, aws.ToString(j.StatusMessage))
		}
		destArn := aws.ToString(j.DestinationRecoveryPointArn)
		switch {
		case destArn == "" || destArn == rp.Arn():
			t.Fatalf("%s copy: DestinationRecoveryPointArn %q, want a new ARN", typ, destArn)
		case aws.ToString(j.AccountId) != testenv.SourceAccount,
			aws.ToString(j.SourceRecoveryPointArn) != rp.Arn(),
			aws.ToString(j.SourceBackupVaultArn) != aws.ToString(rp.BackupVaultArn),
			aws.ToString(j.DestinationBackupVaultArn) != e.dest,
			aws.ToString(j.ResourceArn) != aws.ToString(rp.ResourceArn),
			aws.ToString(j.ResourceType) != typ,
			aws.ToInt64(j.BackupSizeInBytes) != aws.ToInt64(rp.BackupSizeInBytes),
			aws.ToString(j.IamRoleArn) != testenv.CopyRoleArn,
			aws.ToString(j.MessageCategory) != "SUCCESS",
			j.CompletionDate == nil || j.CreationDate == nil || j.CompletionDate.Before(*j.CreationDate),
			aws.ToString(j.DestinationVaultType) != "BACKUP_VAULT",
			aws.ToString(j.DestinationVaultLockState) != "UNLOCKED":
			t.Errorf("%s copy job fields: %+v", typ, j)
		}
		if typ == "S3" && !strings.Contains(destArn, ":222222222222:recovery-point:") {
			t.Errorf("S3 copy RP %s is not a destination-account backup RP", destArn)
		}
		if typ == "RDS" && !strings.HasPrefix(destArn, "arn:aws:rds:us-east-1:222222222222:snapshot:awsbackup:job-") {
			t.Errorf("RDS copy RP %s is not a destination-account RDS snapshot", destArn)
		}

		// The destination profile sees the new RP in the destination vault.
		rps, _ := sdkListRPs(t, e.dst, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("sdk-copy-dest"), ByResourceArn: rp.ResourceArn})
		if len(rps) != 1 || aws.ToString(rps[0].RecoveryPointArn) != destArn {
			t.Fatalf("%s: destination vault lists %v for the resource, want [%s]", typ, sdkArns(rps), destArn)
		}
		got := rps[0]
		if !got.CreationDate.Equal(*rp.CreationDate) {
			t.Errorf("%s copy CreationDate %v, source %v: a copy keeps the source creation date", typ, got.CreationDate, rp.CreationDate)
		}
		if aws.ToString(got.SourceBackupVaultArn) != aws.ToString(rp.BackupVaultArn) || got.Status != types.RecoveryPointStatusCompleted ||
			aws.ToString(got.BackupVaultArn) != e.dest {
			t.Errorf("%s copy RP: source vault %q status %s vault %q", typ, aws.ToString(got.SourceBackupVaultArn), got.Status, aws.ToString(got.BackupVaultArn))
		}
		if rp.Lifecycle != nil && (got.Lifecycle == nil || aws.ToInt64(got.Lifecycle.DeleteAfterDays) != aws.ToInt64(rp.Lifecycle.DeleteAfterDays)) {
			t.Errorf("%s copy lifecycle %+v, source %+v", typ, got.Lifecycle, rp.Lifecycle)
		}
		d, err := e.dst.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("sdk-copy-dest"), RecoveryPointArn: aws.String(destArn)})
		sdkNoErr(t, err, "DescribeRecoveryPoint of the copy")
		if d.StorageClass != types.StorageClassWarm {
			t.Errorf("copy StorageClass %q", d.StorageClass)
		}
		// The source still has its RP.
		if _, err := e.src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(rp.Vault), RecoveryPointArn: rp.RecoveryPointArn}); err != nil {
			t.Errorf("source RP gone after copy: %v", err)
		}
	}

	// A lifecycle given to StartCopyJob replaces the source one.
	rp := sdkPick(t, e.all, 1, func(r sdkRP) bool { return sdkCopyable(r) && aws.ToString(r.ResourceType) == "DynamoDB" })[0]
	id, err := sdkStartCopy(e.src, rp, e.dest, func(in *backup.StartCopyJobInput) {
		in.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(400), MoveToColdStorageAfterDays: aws.Int64(30)}
	})
	sdkNoErr(t, err, "StartCopyJob with lifecycle")
	j := sdkWaitJob(t, e.src, id)
	if j.State != types.CopyJobStateCompleted || j.DestinationRecoveryPointLifecycle == nil || aws.ToInt64(j.DestinationRecoveryPointLifecycle.DeleteAfterDays) != 400 {
		t.Fatalf("copy with lifecycle: %s %+v", j.State, j.DestinationRecoveryPointLifecycle)
	}
	d, err := e.dst.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("sdk-copy-dest"), RecoveryPointArn: j.DestinationRecoveryPointArn})
	sdkNoErr(t, err, "DescribeRecoveryPoint")
	if d.Lifecycle == nil || aws.ToInt64(d.Lifecycle.DeleteAfterDays) != 400 || d.CalculatedLifecycle == nil ||
		!d.CalculatedLifecycle.DeleteAt.Equal(rp.CreationDate.Add(400*24*time.Hour)) {
		t.Errorf("destination RP lifecycle %+v calculated %+v", d.Lifecycle, d.CalculatedLifecycle)
	}
	// Invalid lifecycle: delete must be 90 days after cold.
	_, err = sdkStartCopy(e.src, rp, e.dest, func(in *backup.StartCopyJobInput) {
		in.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(100), MoveToColdStorageAfterDays: aws.Int64(30)}
	})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	// A vault holding copies cannot be deleted.
	_, err = e.dst.DeleteBackupVault(sdkCtx, &backup.DeleteBackupVaultInput{BackupVaultName: aws.String("sdk-copy-dest")})
	sdkWantTyped[*types.InvalidRequestException](t, err, 400)
	dv, err := e.dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-copy-dest")})
	sdkNoErr(t, err, "DescribeBackupVault")
	if dv.NumberOfRecoveryPoints != 4 {
		t.Errorf("destination vault holds %d RPs after 4 copies", dv.NumberOfRecoveryPoints)
	}
}

func TestSDKCopyStateMachine(t *testing.T) {
	clk := newSDKClock()
	const speed = 1000
	e := newSDKCopyEnv(t, testenv.Options{CopySpeed: speed, Now: clk.Now, RecoveryPoints: 300})
	// The smallest copyable RP keeps the simulated run short.
	var rp sdkRP
	for _, r := range e.all {
		if sdkCopyable(r) && aws.ToString(r.ResourceType) == "EBS" && (rp.RecoveryPointArn == nil || aws.ToInt64(r.BackupSizeInBytes) < aws.ToInt64(rp.BackupSizeInBytes)) {
			rp = r
		}
	}
	if rp.RecoveryPointArn == nil {
		t.Fatal("no copyable EBS RP")
	}
	start := clk.Now()
	id, err := sdkStartCopy(e.src, rp, e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	state := func() types.CopyJob {
		t.Helper()
		out, err := e.src.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
		sdkNoErr(t, err, "DescribeCopyJob")
		return *out.CopyJob
	}
	j := state()
	if j.State != types.CopyJobStateCreated || j.CreationDate.Sub(start).Abs() > time.Millisecond {
		t.Fatalf("new job: %s created %v, want CREATED at %v", j.State, j.CreationDate, start)
	}
	if j.CompletionDate != nil || j.MessageCategory != nil || j.DestinationRecoveryPointArn != nil {
		t.Errorf("a CREATED job has completion data: %+v", j)
	}
	// 30 simulated seconds in CREATED.
	queue := 30 * time.Second / speed
	clk.Advance(queue - time.Millisecond)
	if s := state().State; s != types.CopyJobStateCreated {
		t.Fatalf("just before the queue time the job is %s, want CREATED", s)
	}
	clk.Advance(2 * time.Millisecond)
	if s := state().State; s != types.CopyJobStateRunning {
		t.Fatalf("after the queue time the job is %s, want RUNNING", s)
	}
	// Then the type's setup time plus size / throughput.
	run := testenv.CopyDuration("EBS", aws.ToInt64(rp.BackupSizeInBytes)) / speed
	if run <= 240*time.Second/speed {
		t.Fatalf("CopyDuration(EBS, %d) = %v at speed %d: less than the setup time", aws.ToInt64(rp.BackupSizeInBytes), run, speed)
	}
	clk.Advance(run - 3*time.Millisecond)
	if s := state().State; s != types.CopyJobStateRunning {
		t.Fatalf("before the modelled duration the job is %s, want RUNNING", s)
	}
	lst, err := e.dst.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("sdk-copy-dest")})
	sdkNoErr(t, err, "ListRecoveryPointsByBackupVault")
	if len(lst.RecoveryPoints) != 0 {
		t.Fatalf("a RUNNING job already created %d destination RPs", len(lst.RecoveryPoints))
	}
	clk.Advance(3 * time.Millisecond)
	j = state()
	if j.State != types.CopyJobStateCompleted {
		t.Fatalf("after the modelled duration the job is %s, want COMPLETED", j.State)
	}
	if want := start.Add(queue + run); j.CompletionDate == nil || j.CompletionDate.Sub(want).Abs() > 2*time.Millisecond {
		t.Errorf("CompletionDate %v, want about %v", j.CompletionDate, want)
	}

	// A logically air-gapped destination still CREATING (120 simulated
	// seconds) fails the copies started into it meanwhile.
	_, err = e.dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{BackupVaultName: aws.String("sdk-lag-new"),
		MinRetentionDays: aws.Int64(7), MaxRetentionDays: aws.Int64(3650)})
	sdkNoErr(t, err, "CreateLogicallyAirGappedBackupVault")
	_, err = e.dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-lag-new"), Policy: aws.String(sdkCopyInPolicy)})
	sdkNoErr(t, err, "PutBackupVaultAccessPolicy")
	other := sdkPick(t, e.all, 1, func(r sdkRP) bool {
		return sdkCopyable(r) && aws.ToString(r.ResourceArn) != aws.ToString(rp.ResourceArn) && aws.ToString(r.ResourceType) != "EBS"
	})[0]
	id, err = sdkStartCopy(e.src, other, "arn:aws:backup:us-east-1:222222222222:backup-vault:sdk-lag-new", func(in *backup.StartCopyJobInput) {
		in.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(35)}
	})
	sdkNoErr(t, err, "StartCopyJob into a CREATING LAG vault")
	clk.Advance(time.Hour / speed * 24)
	j = state()
	if j.State != types.CopyJobStateFailed || !strings.Contains(aws.ToString(j.StatusMessage), "not AVAILABLE") {
		t.Errorf("copy into a CREATING LAG vault: %s %q, want FAILED (not AVAILABLE)", j.State, aws.ToString(j.StatusMessage))
	}
}

func TestSDKCopyRules(t *testing.T) {
	e := newSDKCopyEnv(t, testenv.Options{RecoveryPoints: 2000})

	// Synchronous refusals.
	refuse := []struct {
		name string
		pick func(sdkRP) bool
	}{
		{"PARTIAL", func(r sdkRP) bool { return r.Status == types.RecoveryPointStatusPartial }},
		{"EXPIRED", func(r sdkRP) bool { return r.Status == types.RecoveryPointStatusExpired }},
		{"DELETING", func(r sdkRP) bool { return r.Status == types.RecoveryPointStatusDeleting }},
		{"continuous", sdkContinuous},
		{"Redshift", func(r sdkRP) bool {
			return aws.ToString(r.ResourceType) == "Redshift" && r.Status == types.RecoveryPointStatusCompleted
		}},
	}
	for _, tc := range refuse {
		rp := sdkPick(t, e.all, 1, tc.pick)[0]
		_, err := sdkStartCopy(e.src, rp, e.dest)
		msg := sdkWantTyped[*types.InvalidRequestException](t, err, 400).ErrorMessage()
		if !strings.Contains(msg, tc.name) {
			t.Errorf("%s: message %q does not say why the copy is refused", tc.name, msg)
		}
		if n := e.env.Counters().JobsCreated(rp.Arn(), e.dest); n != 0 {
			t.Errorf("%s: the refused copy created %d jobs", tc.name, n)
		}
	}
	// Cold: find RPs described as COLD.
	cold := 0
	for _, rp := range e.all {
		if !sdkMaybeCold(rp) || rp.Status != types.RecoveryPointStatusCompleted {
			continue
		}
		d, err := e.src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(rp.Vault), RecoveryPointArn: rp.RecoveryPointArn})
		sdkNoErr(t, err, "DescribeRecoveryPoint")
		if d.StorageClass != types.StorageClassCold {
			continue
		}
		_, err = sdkStartCopy(e.src, rp, e.dest)
		if msg := sdkWantTyped[*types.InvalidRequestException](t, err, 400).ErrorMessage(); !strings.Contains(msg, "cold") {
			t.Errorf("cold RP refusal message %q does not mention cold storage", msg)
		}
		cold++
		break
	}
	if cold == 0 {
		t.Error("no COMPLETED cold RP in the seed data")
	}
	// Unknown RP, RP in another vault, unknown source vault, unknown role.
	good := sdkPick(t, e.all, 1, sdkCopyable)[0]
	_, err := sdkStartCopy(e.src, good, e.dest, func(in *backup.StartCopyJobInput) { in.RecoveryPointArn = aws.String(good.Arn() + "0") })
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = sdkStartCopy(e.src, good, e.dest, func(in *backup.StartCopyJobInput) {
		in.SourceBackupVaultName = aws.String(map[bool]string{true: "Default", false: "staging-mixed"}[good.Vault != "Default"])
	})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = sdkStartCopy(e.src, good, e.dest, func(in *backup.StartCopyJobInput) { in.SourceBackupVaultName = aws.String("no-such-vault") })
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = sdkStartCopy(e.src, good, "arn:aws:backup:us-east-1:222222222222:not-a-vault")
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = sdkStartCopy(e.src, good, e.dest, func(in *backup.StartCopyJobInput) { in.RecoveryPointArn = aws.String("") })
	sdkWantTyped[*types.MissingParameterValueException](t, err, 400)
	if n := e.env.Counters().JobsCreated(good.Arn(), e.dest); n != 0 {
		t.Errorf("refused calls created %d jobs", n)
	}

	// Asynchronous failures: the job is created and ends FAILED.
	failed := func(rp sdkRP, dest string, wantCategory string, wantInMsg ...string) types.CopyJob {
		t.Helper()
		id, err := sdkStartCopy(e.src, rp, dest)
		sdkNoErr(t, err, "StartCopyJob (fails later)")
		j := sdkWaitJob(t, e.src, id)
		if j.State != types.CopyJobStateFailed {
			t.Fatalf("copy of %s into %s ended %s, want FAILED", rp.Arn(), dest, j.State)
		}
		msg := aws.ToString(j.StatusMessage)
		for _, w := range wantInMsg {
			if !strings.Contains(msg, w) {
				t.Errorf("StatusMessage %q does not contain %q", msg, w)
			}
		}
		if aws.ToString(j.MessageCategory) != wantCategory {
			t.Errorf("MessageCategory %q, want %q (message %q)", aws.ToString(j.MessageCategory), wantCategory, msg)
		}
		if j.DestinationRecoveryPointArn != nil || j.CompletionDate == nil {
			t.Errorf("FAILED job: destination RP %v completion %v", j.DestinationRecoveryPointArn, j.CompletionDate)
		}
		return j
	}
	copyable := sdkPick(t, e.all, 0, sdkCopyable)
	next := 0
	take := func() sdkRP { next++; return copyable[next-1] }

	// Destination vault missing.
	failed(take(), "arn:aws:backup:us-east-1:222222222222:backup-vault:sdk-missing", "ResourceNotFound", "does not exist")

	// Destination vault without an access policy.
	noPolicy := sdkDestVault(t, e.env, "sdk-no-policy", false)
	failed(take(), noPolicy, "AccessDenied", "backup:CopyIntoBackupVault", "111111111111")
	// An access policy that allows someone else.
	_, err = e.dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-no-policy"),
		Policy: aws.String(strings.ReplaceAll(sdkCopyInPolicy, "111111111111", "333333333333"))})
	sdkNoErr(t, err, "PutBackupVaultAccessPolicy")
	failed(take(), noPolicy, "AccessDenied", "backup:CopyIntoBackupVault")
	// Once the policy allows the source account, the same vault works.
	_, err = e.dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-no-policy"), Policy: aws.String(sdkCopyInPolicy)})
	sdkNoErr(t, err, "PutBackupVaultAccessPolicy")
	id, err := sdkStartCopy(e.src, take(), noPolicy)
	sdkNoErr(t, err, "StartCopyJob")
	if j := sdkWaitJob(t, e.src, id); j.State != types.CopyJobStateCompleted {
		t.Fatalf("copy into the vault after fixing its policy: %s %s", j.State, aws.ToString(j.StatusMessage))
	}

	// Cross-account backup disabled in the source account.
	if err := e.env.SetCrossAccountBackup(testenv.SourceAccount, false); err != nil {
		t.Fatal(err)
	}
	failed(take(), e.dest, "AccessDenied", "Cross-account backup is not enabled")
	if err := e.env.SetCrossAccountBackup(testenv.SourceAccount, true); err != nil {
		t.Fatal(err)
	}

	// Types that keep their source key fail on an AWS-managed key.
	for _, typ := range []string{"EBS", "RDS"} {
		rps := sdkPick(t, e.all, 0, func(r sdkRP) bool {
			return aws.ToString(r.ResourceType) == typ && r.Status == types.RecoveryPointStatusCompleted && !sdkContinuous(r) &&
				!sdkMaybeCold(r) && r.EncryptionKeyType == ""
		})
		failed(rps[0], e.dest, "AccessDenied", "AWS managed key", aws.ToString(rps[0].EncryptionKeyArn))
	}
	// A fully managed type re-encrypts with the destination key: its
	// AWS-managed source key does not matter.
	def := sdkPick(t, e.all, 1, func(r sdkRP) bool {
		return r.Vault == "Default" && (aws.ToString(r.ResourceType) == "S3" || aws.ToString(r.ResourceType) == "DynamoDB") &&
			r.Status == types.RecoveryPointStatusCompleted && !sdkContinuous(r) && !sdkMaybeCold(r)
	})[0]
	id, err = sdkStartCopy(e.src, def, e.dest)
	sdkNoErr(t, err, "StartCopyJob fully managed on aws/backup")
	if j := sdkWaitJob(t, e.src, id); j.State != types.CopyJobStateCompleted {
		t.Errorf("fully managed RP on the AWS managed backup key: %s %s", j.State, aws.ToString(j.StatusMessage))
	}

	// Vault lock retention bounds.
	locked := sdkDestVault(t, e.env, "sdk-locked", true)
	_, err = e.dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("sdk-locked"),
		MinRetentionDays: aws.Int64(100), MaxRetentionDays: aws.Int64(200)})
	sdkNoErr(t, err, "PutBackupVaultLockConfiguration")
	withDelete := func(days int64) func(*backup.StartCopyJobInput) {
		return func(in *backup.StartCopyJobInput) { in.Lifecycle = &types.Lifecycle{DeleteAfterDays: aws.Int64(days)} }
	}
	lockFail := func(days int64, want string) {
		t.Helper()
		id, err := sdkStartCopy(e.src, take(), locked, withDelete(days))
		sdkNoErr(t, err, "StartCopyJob into locked vault")
		j := sdkWaitJob(t, e.src, id)
		if j.State != types.CopyJobStateFailed || !strings.Contains(aws.ToString(j.StatusMessage), want) {
			t.Errorf("retention %d into a 100..200 lock: %s %q, want FAILED mentioning %s", days, j.State, aws.ToString(j.StatusMessage), want)
		}
		if aws.ToString(j.DestinationVaultLockState) != "LOCKED" {
			t.Errorf("DestinationVaultLockState %q, want LOCKED", aws.ToString(j.DestinationVaultLockState))
		}
	}
	lockFail(35, "MinRetentionDays")
	lockFail(500, "MaxRetentionDays")
	lockFail(-1, "MaxRetentionDays") // kept forever exceeds any maximum
	id, err = sdkStartCopy(e.src, take(), locked, withDelete(150))
	sdkNoErr(t, err, "StartCopyJob within the lock bounds")
	if j := sdkWaitJob(t, e.src, id); j.State != types.CopyJobStateCompleted {
		t.Errorf("retention 150 into a 100..200 lock: %s %q", j.State, aws.ToString(j.StatusMessage))
	}

	// A logically air-gapped destination that is still CREATING.
	_, err = e.dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{BackupVaultName: aws.String("sdk-lag-new"),
		MinRetentionDays: aws.Int64(7), MaxRetentionDays: aws.Int64(3650)})
	sdkNoErr(t, err, "CreateLogicallyAirGappedBackupVault")
	_, err = e.dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-lag-new"), Policy: aws.String(sdkCopyInPolicy)})
	sdkNoErr(t, err, "PutBackupVaultAccessPolicy")
	// At copy speed 1e6 the vault is AVAILABLE almost at once; a copy
	// with retention inside its bounds then succeeds.
	time.Sleep(2 * time.Millisecond)
	id, err = sdkStartCopy(e.src, take(), "arn:aws:backup:us-east-1:222222222222:backup-vault:sdk-lag-new", withDelete(35))
	sdkNoErr(t, err, "StartCopyJob into LAG vault")
	if j := sdkWaitJob(t, e.src, id); j.State != types.CopyJobStateCompleted || aws.ToString(j.DestinationVaultType) != "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" {
		t.Errorf("copy into an available LAG vault: %s %q type %q", j.State, aws.ToString(j.StatusMessage), aws.ToString(j.DestinationVaultType))
	}
}

func TestSDKCopyIdempotency(t *testing.T) {
	e := newSDKCopyEnv(t, testenv.Options{})
	rps := sdkPick(t, e.all, 2, sdkCopyable)
	c := e.env.Counters()

	// Sequential retries.
	tok := func(s string) func(*backup.StartCopyJobInput) {
		return func(in *backup.StartCopyJobInput) { in.IdempotencyToken = aws.String(s) }
	}
	id1, err := sdkStartCopy(e.src, rps[0], e.dest, tok("sdk-token-1"))
	sdkNoErr(t, err, "StartCopyJob")
	id2, err := sdkStartCopy(e.src, rps[0], e.dest, tok("sdk-token-1"))
	sdkNoErr(t, err, "StartCopyJob retry")
	if id1 == "" || id1 != id2 {
		t.Fatalf("same token gave jobs %q and %q", id1, id2)
	}
	sdkWaitJob(t, e.src, id1)
	// Still the same job after it completed.
	id3, err := sdkStartCopy(e.src, rps[0], e.dest, tok("sdk-token-1"))
	sdkNoErr(t, err, "StartCopyJob retry after completion")
	if id3 != id1 {
		t.Fatalf("retry after completion gave job %q, want %q", id3, id1)
	}
	if n := c.JobsCreated(rps[0].Arn(), e.dest); n != 1 {
		t.Errorf("JobsCreated = %d after 3 calls with one token, want 1", n)
	}
	if n := c.StartCopyCalls(rps[0].Arn()); n != 3 {
		t.Errorf("StartCopyCalls = %d, want 3", n)
	}
	rpsInDest, _ := sdkListRPs(t, e.dst, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("sdk-copy-dest"), ByResourceArn: rps[0].ResourceArn})
	if len(rpsInDest) != 1 {
		t.Errorf("destination holds %d copies, want 1", len(rpsInDest))
	}
	// Without a token the SDK makes a fresh one: a new job.
	id4, err := sdkStartCopy(e.src, rps[0], e.dest)
	sdkNoErr(t, err, "StartCopyJob without token")
	if id4 == id1 {
		t.Error("a call without the token reused the job")
	}
	sdkWaitJob(t, e.src, id4)
	if n := c.JobsCreated(rps[0].Arn(), e.dest); n != 2 {
		t.Errorf("JobsCreated = %d, want 2", n)
	}

	// Concurrent calls with one token: exactly one job.
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			ids[i], errs[i] = sdkStartCopy(e.src, rps[1], e.dest, tok("sdk-concurrent-token"))
		}()
	}
	close(startGate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent calls returned jobs %q and %q", ids[0], ids[i])
		}
	}
	if got := c.JobsCreated(rps[1].Arn(), e.dest); got != 1 {
		t.Fatalf("JobsCreated = %d after %d concurrent calls with one token, want 1", got, n)
	}
	if got := c.StartCopyCalls(rps[1].Arn()); got != n {
		t.Errorf("StartCopyCalls = %d, want %d", got, n)
	}
	list, err := e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{BySourceRecoveryPointArn: rps[1].RecoveryPointArn})
	sdkNoErr(t, err, "ListCopyJobs")
	if len(list.CopyJobs) != 1 || aws.ToString(list.CopyJobs[0].CopyJobId) != ids[0] {
		t.Fatalf("ListCopyJobs by source RP lists %d jobs, want exactly job %s", len(list.CopyJobs), ids[0])
	}
	if j := sdkWaitJob(t, e.src, ids[0]); j.State != types.CopyJobStateCompleted {
		t.Errorf("the one job ended %s", j.State)
	}
}

func TestSDKListCopyJobs(t *testing.T) {
	clk := &sdkRunningClock{}
	e := newSDKCopyEnv(t, testenv.Options{Now: clk.Now})
	copyable := sdkPick(t, e.all, 0, sdkCopyable)
	pick := func(typ string) sdkRP {
		for i, rp := range copyable {
			if aws.ToString(rp.ResourceType) == typ {
				copyable = append(copyable[:i:i], copyable[i+1:]...)
				return rp
			}
		}
		t.Fatalf("no copyable %s RP left", typ)
		return sdkRP{}
	}

	// Two batches an hour apart (server time), so the date filters have
	// something to split.
	ok1 := pick("S3")
	okID1, err := sdkStartCopy(e.src, ok1, e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, e.src, okID1)
	failRP := pick("EBS")
	failID, err := sdkStartCopy(e.src, failRP, "arn:aws:backup:us-east-1:222222222222:backup-vault:sdk-missing")
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, e.src, failID)
	noPolicy := sdkDestVault(t, e.env, "sdk-no-policy", false)
	deniedRP := pick("RDS")
	deniedID, err := sdkStartCopy(e.src, deniedRP, noPolicy)
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, e.src, deniedID)

	clk.Advance(10 * time.Minute)
	split := clk.Now().Add(-5 * time.Minute)
	ok2 := pick("EBS")
	okID2, err := sdkStartCopy(e.src, ok2, e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, e.src, okID2)
	ok3 := pick("DynamoDB")
	okID3, err := sdkStartCopy(e.src, ok3, e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, e.src, okID3)
	allIDs := []string{okID3, okID2, deniedID, failID, okID1}

	list := func(in backup.ListCopyJobsInput) []string {
		t.Helper()
		var ids []string
		p := backup.NewListCopyJobsPaginator(e.src, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(sdkCtx)
			sdkNoErr(t, err, "ListCopyJobs")
			for _, j := range page.CopyJobs {
				ids = append(ids, aws.ToString(j.CopyJobId))
			}
		}
		return ids
	}
	check := func(name string, in backup.ListCopyJobsInput, want ...string) {
		t.Helper()
		got := list(in)
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ListCopyJobs %s = %v, want %v", name, got, want)
		}
	}
	check("no filter", backup.ListCopyJobsInput{}, allIDs...)
	check("MaxResults 1", backup.ListCopyJobsInput{MaxResults: aws.Int32(1)}, allIDs...)
	check("MaxResults 2", backup.ListCopyJobsInput{MaxResults: aws.Int32(2)}, allIDs...)
	check("state COMPLETED", backup.ListCopyJobsInput{ByState: types.CopyJobStateCompleted}, okID3, okID2, okID1)
	check("state FAILED", backup.ListCopyJobsInput{ByState: types.CopyJobStateFailed}, deniedID, failID)
	check("state RUNNING", backup.ListCopyJobsInput{ByState: types.CopyJobStateRunning})
	check("resourceArn", backup.ListCopyJobsInput{ByResourceArn: ok2.ResourceArn}, okID2)
	check("resourceType EBS", backup.ListCopyJobsInput{ByResourceType: aws.String("EBS")}, okID2, failID)
	check("destinationVaultArn", backup.ListCopyJobsInput{ByDestinationVaultArn: aws.String(e.dest)}, okID3, okID2, okID1)
	check("destinationVaultArn no policy", backup.ListCopyJobsInput{ByDestinationVaultArn: aws.String(noPolicy)}, deniedID)
	check("accountId source", backup.ListCopyJobsInput{ByAccountId: aws.String(testenv.SourceAccount)}, allIDs...)
	check("accountId other", backup.ListCopyJobsInput{ByAccountId: aws.String("333333333333")})
	check("sourceRecoveryPointArn", backup.ListCopyJobsInput{BySourceRecoveryPointArn: deniedRP.RecoveryPointArn}, deniedID)
	check("createdAfter", backup.ListCopyJobsInput{ByCreatedAfter: aws.Time(split)}, okID3, okID2)
	check("createdBefore", backup.ListCopyJobsInput{ByCreatedBefore: aws.Time(split)}, deniedID, failID, okID1)
	check("completeAfter", backup.ListCopyJobsInput{ByCompleteAfter: aws.Time(split)}, okID3, okID2)
	check("completeBefore", backup.ListCopyJobsInput{ByCompleteBefore: aws.Time(split)}, deniedID, failID, okID1)
	check("messageCategory SUCCESS", backup.ListCopyJobsInput{ByMessageCategory: aws.String("SUCCESS")}, okID3, okID2, okID1)
	check("messageCategory AccessDenied", backup.ListCopyJobsInput{ByMessageCategory: aws.String("AccessDenied")}, deniedID)
	check("messageCategory ANY", backup.ListCopyJobsInput{ByMessageCategory: aws.String("ANY")}, allIDs...)
	check("combined", backup.ListCopyJobsInput{ByState: types.CopyJobStateCompleted, ByResourceType: aws.String("EBS"), ByCreatedAfter: aws.Time(split)}, okID2)
	check("parentJobId", backup.ListCopyJobsInput{ByParentJobId: aws.String(okID1)})

	// Jobs live in the account that started them.
	dl, err := e.dst.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{})
	sdkNoErr(t, err, "ListCopyJobs destination")
	if len(dl.CopyJobs) != 0 {
		t.Errorf("destination account lists %d copy jobs", len(dl.CopyJobs))
	}
	_, err = e.dst.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(okID1)})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)

	// Errors.
	_, err = e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{ByState: "DONE"})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{NextToken: aws.String("forged")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{MaxResults: aws.Int32(1001)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = e.src.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String("00000000-0000-0000-0000-000000000000")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
}

func TestSDKCopyQuotas(t *testing.T) {
	// Copy speed 1: jobs stay in flight for the whole test.
	t.Run("account", func(t *testing.T) {
		e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1, Quotas: testenv.Quotas{AccountCopyJobs: 3}})
		rps := sdkPick(t, e.all, 5, sdkCopyable)
		for i := range 3 {
			_, err := sdkStartCopy(e.src, rps[i], e.dest)
			sdkNoErr(t, err, "StartCopyJob under the account quota")
		}
		_, err := sdkStartCopy(e.src, rps[3], e.dest)
		msg := sdkWantTyped[*types.LimitExceededException](t, err, 400).ErrorMessage()
		if !strings.Contains(msg, "3") {
			t.Errorf("account quota message %q does not name the limit", msg)
		}
		if n := e.env.Counters().JobsCreated(rps[3].Arn(), e.dest); n != 0 {
			t.Errorf("the refused call created %d jobs", n)
		}
		// Raising the quota through the admin API lets it through.
		e.env.SetQuotas(testenv.Quotas{AccountCopyJobs: 4})
		_, err = sdkStartCopy(e.src, rps[3], e.dest)
		sdkNoErr(t, err, "StartCopyJob after raising the quota")
		_, err = sdkStartCopy(e.src, rps[4], e.dest)
		sdkWantTyped[*types.LimitExceededException](t, err, 400)
		running, err := e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{ByState: types.CopyJobStateCreated})
		sdkNoErr(t, err, "ListCopyJobs")
		if len(running.CopyJobs) != 4 {
			t.Errorf("%d jobs in CREATED, want 4", len(running.CopyJobs))
		}
	})
	t.Run("resource", func(t *testing.T) {
		e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1})
		byRes := map[string][]sdkRP{}
		for _, rp := range e.all {
			if sdkCopyable(rp) {
				byRes[aws.ToString(rp.ResourceArn)] = append(byRes[aws.ToString(rp.ResourceArn)], rp)
			}
		}
		var pair []sdkRP
		for _, l := range byRes {
			if len(l) >= 2 && (pair == nil || l[0].Arn() < pair[0].Arn()) {
				pair = l
			}
		}
		if pair == nil {
			t.Fatal("no resource with two copyable RPs")
		}
		_, err := sdkStartCopy(e.src, pair[0], e.dest)
		sdkNoErr(t, err, "first copy of the resource")
		_, err = sdkStartCopy(e.src, pair[1], e.dest)
		msg := sdkWantTyped[*types.LimitExceededException](t, err, 400).ErrorMessage()
		if !strings.Contains(msg, aws.ToString(pair[0].ResourceArn)) {
			t.Errorf("per-resource quota message %q does not name the resource", msg)
		}
		// Another vault does not help: the limit is per resource.
		other := sdkDestVault(t, e.env, "sdk-other", true)
		_, err = sdkStartCopy(e.src, pair[1], other)
		sdkWantTyped[*types.LimitExceededException](t, err, 400)
		// Another resource is fine.
		third := sdkPick(t, e.all, 1, func(r sdkRP) bool {
			return sdkCopyable(r) && aws.ToString(r.ResourceArn) != aws.ToString(pair[0].ResourceArn)
		})[0]
		_, err = sdkStartCopy(e.src, third, e.dest)
		sdkNoErr(t, err, "copy of another resource")
	})
	t.Run("vault", func(t *testing.T) {
		e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1, Quotas: testenv.Quotas{OverLimit: true, VaultCopyJobs: 2}})
		other := sdkDestVault(t, e.env, "sdk-other", true)
		rps := sdkPick(t, e.all, 4, sdkCopyable)
		for i := range 2 {
			_, err := sdkStartCopy(e.src, rps[i], e.dest)
			sdkNoErr(t, err, "StartCopyJob under the vault quota")
		}
		_, err := sdkStartCopy(e.src, rps[2], e.dest)
		msg := sdkWantTyped[*types.LimitExceededException](t, err, 400).ErrorMessage()
		if !strings.Contains(msg, e.dest) {
			t.Errorf("vault quota message %q does not name the vault", msg)
		}
		_, err = sdkStartCopy(e.src, rps[2], other)
		sdkNoErr(t, err, "StartCopyJob into another vault")
		// Without OverLimit the per-vault cap does not apply.
		e.env.SetQuotas(testenv.Quotas{VaultCopyJobs: 2})
		_, err = sdkStartCopy(e.src, rps[3], e.dest)
		sdkNoErr(t, err, "StartCopyJob with OverLimit off")
	})
}

// TestSDKCopyIdempotencyMemory checks each answer testenv can give to
// how long AWS remembers a StartCopyJob idempotency token.
func TestSDKCopyIdempotencyMemory(t *testing.T) {
	tok := func(in *backup.StartCopyJobInput) { in.IdempotencyToken = aws.String("sdk-memory-token") }
	for _, tc := range []struct {
		name   string
		memory time.Duration
		pause  time.Duration // real time between the two calls, at least
		want   int64         // jobs created by two calls with one token
	}{
		{"forever", 0, 100 * time.Millisecond, 1},
		{"none", -1, 0, 2},
		{"within the memory", time.Hour, 0, 1},
		{"past the memory", 20 * time.Millisecond, 200 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSDKCopyEnv(t, testenv.Options{IdempotencyMemory: tc.memory})
			rp := sdkPick(t, e.all, 1, sdkCopyable)[0]
			id1, err := sdkStartCopy(e.src, rp, e.dest, tok)
			sdkNoErr(t, err, "StartCopyJob")
			sdkWaitJob(t, e.src, id1)
			time.Sleep(tc.pause)
			id2, err := sdkStartCopy(e.src, rp, e.dest, tok)
			sdkNoErr(t, err, "StartCopyJob with the same token")
			if n := e.env.Counters().JobsCreated(rp.Arn(), e.dest); n != tc.want {
				t.Errorf("JobsCreated = %d after two calls with one token, want %d", n, tc.want)
			}
			if (tc.want == 1) != (id1 == id2) {
				t.Errorf("jobs %q and %q; want the same job: %v", id1, id2, tc.want == 1)
			}
		})
	}
}

// TestSDKCopyJobRetention checks each answer testenv can give to how
// long ListCopyJobs and DescribeCopyJob keep a job, and that the copy
// itself stays in the destination vault, carrying the fields AWS
// documents for a copy (the source vault, the resource and the source's
// creation date) whatever the job history says.
func TestSDKCopyJobRetention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		pause     time.Duration
		listed    bool
	}{
		{"forever", 0, 0, true},
		{"none", -1, 0, false},
		{"within the retention", time.Hour, 0, true},
		{"past the retention", 20 * time.Millisecond, 200 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSDKCopyEnv(t, testenv.Options{})
			rp := sdkPick(t, e.all, 1, sdkCopyable)[0]
			id, err := sdkStartCopy(e.src, rp, e.dest)
			sdkNoErr(t, err, "StartCopyJob")
			j := sdkWaitJob(t, e.src, id)
			if j.State != types.CopyJobStateCompleted {
				t.Fatalf("copy ended %s: %s", j.State, aws.ToString(j.StatusMessage))
			}
			// History lapses after the job, as between two runs.
			e.env.SetMemory(testenv.Memory{CopyJobRetention: tc.retention})
			time.Sleep(tc.pause)
			out, err := e.src.ListCopyJobs(context.Background(), &backup.ListCopyJobsInput{BySourceRecoveryPointArn: aws.String(rp.Arn())})
			sdkNoErr(t, err, "ListCopyJobs")
			if got := len(out.CopyJobs) == 1; got != tc.listed {
				t.Errorf("ListCopyJobs lists %d jobs for the RP; want it listed: %v", len(out.CopyJobs), tc.listed)
			}
			_, err = e.src.DescribeCopyJob(context.Background(), &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
			if tc.listed {
				sdkNoErr(t, err, "DescribeCopyJob")
			} else {
				sdkWantErr(t, err, "ResourceNotFoundException", 400)
			}
			name := e.dest[strings.LastIndex(e.dest, ":")+1:]
			dest, _ := sdkListRPs(t, e.dst, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(name)})
			if len(dest) != 1 {
				t.Fatalf("destination vault holds %d RPs, want the one copy", len(dest))
			}
			d := dest[0]
			if aws.ToString(d.RecoveryPointArn) != aws.ToString(j.DestinationRecoveryPointArn) ||
				aws.ToString(d.SourceBackupVaultArn) != e.sourceV[rp.Vault] ||
				aws.ToString(d.ResourceArn) != aws.ToString(rp.ResourceArn) ||
				!d.CreationDate.Equal(*rp.CreationDate) {
				t.Errorf("the copy is %s from %s, resource %s, created %v; want %s from %s, resource %s, created %v (the source's date)",
					aws.ToString(d.RecoveryPointArn), aws.ToString(d.SourceBackupVaultArn), aws.ToString(d.ResourceArn), d.CreationDate,
					aws.ToString(j.DestinationRecoveryPointArn), e.sourceV[rp.Vault], aws.ToString(rp.ResourceArn), rp.CreationDate)
			}
		})
	}
}
