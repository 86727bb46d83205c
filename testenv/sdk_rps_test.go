package testenv_test

import (
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func sdkArns(rps []types.RecoveryPointByBackupVault) []string {
	out := make([]string, len(rps))
	for i, rp := range rps {
		out[i] = aws.ToString(rp.RecoveryPointArn)
	}
	return out
}

func TestSDKListRecoveryPointsPaging(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 2000})
	src := sdkBackup(t, env, testenv.ProfileSource)
	const vault = "prod-ebs-daily"

	d, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(vault)})
	sdkNoErr(t, err, "DescribeBackupVault")
	n := int(d.NumberOfRecoveryPoints)
	if n < 100 {
		t.Fatalf("%s holds %d RPs; the test wants a vault with at least 100", vault, n)
	}

	full, pages := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(1000)})
	if len(full) != n || pages != 1 {
		t.Fatalf("MaxResults 1000: %d RPs in %d pages, want %d in 1", len(full), pages, n)
	}
	want := sdkArns(full)
	if seen := map[string]bool{}; true {
		for _, a := range want {
			if seen[a] {
				t.Fatalf("RP %s listed twice", a)
			}
			seen[a] = true
		}
	}
	for _, rp := range full {
		if aws.ToString(rp.BackupVaultName) != vault || aws.ToString(rp.ResourceArn) == "" || rp.CreationDate == nil || rp.Status == "" {
			t.Fatalf("incomplete RP in the listing: %+v", rp)
		}
	}

	// Pages of 7, walked by hand to look at every page and token.
	var got []string
	var token *string
	pages = 0
	for {
		out, err := src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: aws.String(vault), MaxResults: aws.Int32(7), NextToken: token})
		sdkNoErr(t, err, "ListRecoveryPointsByBackupVault page")
		pages++
		if len(out.RecoveryPoints) > 7 {
			t.Fatalf("page %d has %d RPs with MaxResults 7", pages, len(out.RecoveryPoints))
		}
		got = append(got, sdkArns(out.RecoveryPoints)...)
		if out.NextToken == nil {
			break
		}
		if _, err := strconv.Atoi(*out.NextToken); err == nil || strings.Contains(*out.NextToken, ":") {
			t.Fatalf("NextToken %q is not opaque", *out.NextToken)
		}
		token = out.NextToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages of 7 gave %d RPs, want the same %d in the same order", len(got), len(want))
	}
	if pages != (n+6)/7 {
		t.Errorf("%d pages of 7 for %d RPs, want %d", pages, n, (n+6)/7)
	}

	// The paginator agrees.
	viaPaginator, _ := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(7)})
	if !slices.Equal(sdkArns(viaPaginator), want) {
		t.Error("the paginator with MaxResults 7 gives a different listing")
	}

	// Out of range and forged tokens.
	_, err = src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(1001)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(0)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), NextToken: aws.String("garbage!!")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	// A token of another operation is not a recovery point token.
	lv, err := src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1)})
	sdkNoErr(t, err, "ListBackupVaults")
	_, err = src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), NextToken: lv.NextToken})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	_, err = src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("no-such-vault")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)

	// Short pages: every page comes back short with a NextToken, and
	// the paginator still returns the full set.
	if err := env.SetFaults(testenv.Faults{ShortPageRate: 1}); err != nil {
		t.Fatal(err)
	}
	short, err := src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(100)})
	sdkNoErr(t, err, "short page")
	if len(short.RecoveryPoints) >= 100 || short.NextToken == nil {
		t.Fatalf("ShortPageRate 1: page of %d RPs with NextToken %v, want fewer than 100 and a token", len(short.RecoveryPoints), short.NextToken)
	}
	shortAll, shortPages := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), MaxResults: aws.Int32(100)})
	if !slices.Equal(sdkArns(shortAll), want) {
		t.Fatalf("with short pages the paginator gave %d RPs, want the same %d", len(shortAll), len(want))
	}
	if shortPages <= (n+99)/100 {
		t.Errorf("short pages: %d pages for %d RPs, want more than %d", shortPages, n, (n+99)/100)
	}
}

func TestSDKListRecoveryPointsFilters(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 2000})
	src := sdkBackup(t, env, testenv.ProfileSource)
	const vault = "prod-ebs-daily"
	full, _ := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault)})

	expect := func(name string, keep func(types.RecoveryPointByBackupVault) bool, in backup.ListRecoveryPointsByBackupVaultInput) {
		t.Helper()
		var want []string
		for _, rp := range full {
			if keep(rp) {
				want = append(want, aws.ToString(rp.RecoveryPointArn))
			}
		}
		if len(want) == 0 || len(want) == len(full) {
			t.Fatalf("filter %s: the test data selects %d of %d RPs; pick a selective value", name, len(want), len(full))
		}
		in.BackupVaultName = aws.String(vault)
		in.MaxResults = aws.Int32(50)
		got, _ := sdkListRPs(t, src, &in)
		if !slices.Equal(sdkArns(got), want) {
			t.Errorf("filter %s: got %d RPs, want %d", name, len(got), len(want))
		}
	}

	// resourceArn: a resource with several RPs.
	perRes := map[string]int{}
	for _, rp := range full {
		perRes[aws.ToString(rp.ResourceArn)]++
	}
	var res string
	for r, k := range perRes {
		if k >= 2 && (res == "" || r < res) {
			res = r
		}
	}
	expect("resourceArn", func(rp types.RecoveryPointByBackupVault) bool { return aws.ToString(rp.ResourceArn) == res },
		backup.ListRecoveryPointsByBackupVaultInput{ByResourceArn: aws.String(res)})

	// resourceType: the vault mixes EBS and EC2.
	expect("resourceType", func(rp types.RecoveryPointByBackupVault) bool { return aws.ToString(rp.ResourceType) == "EC2" },
		backup.ListRecoveryPointsByBackupVaultInput{ByResourceType: aws.String("EC2")})

	// backupPlanId: the vault uses two plans.
	plans := map[string]int{}
	for _, rp := range full {
		if rp.CreatedBy != nil {
			plans[aws.ToString(rp.CreatedBy.BackupPlanId)]++
		}
	}
	if len(plans) < 2 {
		t.Fatalf("%s RPs come from %d plans, want 2", vault, len(plans))
	}
	var plan string
	for p := range plans {
		if plan == "" || p < plan {
			plan = p
		}
	}
	expect("backupPlanId", func(rp types.RecoveryPointByBackupVault) bool {
		return rp.CreatedBy != nil && aws.ToString(rp.CreatedBy.BackupPlanId) == plan
	}, backup.ListRecoveryPointsByBackupVaultInput{ByBackupPlanId: aws.String(plan)})

	// createdAfter / createdBefore around the median creation date
	// (offset by half a second so no RP sits on the boundary).
	dates := make([]time.Time, len(full))
	for i, rp := range full {
		dates[i] = *rp.CreationDate
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	mid := dates[len(dates)/2].Add(500 * time.Millisecond)
	early := dates[len(dates)/4].Add(500 * time.Millisecond)
	expect("createdAfter", func(rp types.RecoveryPointByBackupVault) bool { return rp.CreationDate.After(mid) },
		backup.ListRecoveryPointsByBackupVaultInput{ByCreatedAfter: aws.Time(mid)})
	expect("createdBefore", func(rp types.RecoveryPointByBackupVault) bool { return rp.CreationDate.Before(mid) },
		backup.ListRecoveryPointsByBackupVaultInput{ByCreatedBefore: aws.Time(mid)})
	expect("createdAfter+createdBefore+resourceType", func(rp types.RecoveryPointByBackupVault) bool {
		return rp.CreationDate.After(early) && rp.CreationDate.Before(mid) && aws.ToString(rp.ResourceType) == "EBS"
	}, backup.ListRecoveryPointsByBackupVaultInput{ByCreatedAfter: aws.Time(early), ByCreatedBefore: aws.Time(mid), ByResourceType: aws.String("EBS")})

	// parentRecoveryPointArn: the seed has no composite RPs, so a parent
	// filter selects nothing, and unfiltered RPs have no parent.
	for _, rp := range full {
		if rp.ParentRecoveryPointArn != nil || rp.IsParent {
			t.Fatalf("seeded RP %s has parent data", aws.ToString(rp.RecoveryPointArn))
		}
	}
	none, _ := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), ByParentRecoveryPointArn: full[0].RecoveryPointArn})
	if len(none) != 0 {
		t.Errorf("parentRecoveryPointArn filter returned %d RPs, want 0", len(none))
	}

	// Filters that match nothing and invalid values.
	none, _ = sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), ByResourceArn: aws.String("arn:aws:ec2:us-east-1:111111111111:volume/vol-0000000000000000")})
	if len(none) != 0 {
		t.Errorf("unknown resourceArn returned %d RPs", len(none))
	}
	none, _ = sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), ByResourceType: aws.String("RDS")})
	if len(none) != 0 {
		t.Errorf("resourceType RDS in an EBS/EC2 vault returned %d RPs", len(none))
	}
	_, err := src.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(vault), ByResourceType: aws.String("Floppy")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
}

func TestSDKDescribeRecoveryPoint(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 2000})
	src := sdkBackup(t, env, testenv.ProfileSource)
	all := sdkAllSourceRPs(t, env)
	describe := func(rp sdkRP) *backup.DescribeRecoveryPointOutput {
		t.Helper()
		out, err := src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(rp.Vault), RecoveryPointArn: rp.RecoveryPointArn})
		sdkNoErr(t, err, "DescribeRecoveryPoint "+rp.Arn())
		return out
	}

	// An EBS snapshot ARN has a '/', which travels percent-encoded.
	ebs := sdkPick(t, all, 1, func(r sdkRP) bool {
		return aws.ToString(r.ResourceType) == "EBS" && !sdkMaybeCold(r) && strings.Contains(r.Arn(), "::snapshot/snap-")
	})[0]
	d := describe(ebs)
	if aws.ToString(d.RecoveryPointArn) != ebs.Arn() || aws.ToString(d.ResourceArn) != aws.ToString(ebs.ResourceArn) {
		t.Fatalf("described %s for %s", aws.ToString(d.RecoveryPointArn), ebs.Arn())
	}
	if d.StorageClass != types.StorageClassWarm {
		t.Errorf("warm EBS RP StorageClass = %q, want WARM", d.StorageClass)
	}
	if aws.ToInt64(d.BackupSizeInBytes) != aws.ToInt64(ebs.BackupSizeInBytes) || !d.CreationDate.Equal(*ebs.CreationDate) ||
		d.Status != ebs.Status || aws.ToString(d.BackupVaultName) != ebs.Vault || aws.ToString(d.EncryptionKeyArn) != aws.ToString(ebs.EncryptionKeyArn) {
		t.Errorf("DescribeRecoveryPoint disagrees with the listing:\n%+v\n%+v", d, ebs.RecoveryPointByBackupVault)
	}

	// Cold RPs say COLD. Take the ones whose calculated lifecycle has
	// passed its cold date.
	now := time.Now()
	colds := 0
	for _, rp := range all {
		if !sdkMaybeCold(rp) || !rp.CalculatedLifecycle.MoveToColdStorageAt.Before(now.Add(-24*time.Hour)) {
			continue
		}
		if got := describe(rp).StorageClass; got != types.StorageClassCold {
			t.Errorf("RP %s past its MoveToColdStorageAt (%v) has StorageClass %q, want COLD", rp.Arn(), rp.CalculatedLifecycle.MoveToColdStorageAt, got)
		}
		if colds++; colds == 5 {
			break
		}
	}
	if colds == 0 {
		t.Error("no cold recovery point found in the seed data")
	}

	// Every type's ARN shape survives the round trip.
	for _, typ := range []string{"EC2", "RDS", "Aurora", "S3", "EFS", "DynamoDB", "FSx", "Redshift"} {
		rp := sdkPick(t, all, 1, func(r sdkRP) bool { return aws.ToString(r.ResourceType) == typ })[0]
		if got := describe(rp); aws.ToString(got.RecoveryPointArn) != rp.Arn() || aws.ToString(got.ResourceType) != typ {
			t.Errorf("%s: described %s (%s)", typ, aws.ToString(got.RecoveryPointArn), aws.ToString(got.ResourceType))
		}
	}
	cont := sdkPick(t, all, 1, sdkContinuous)[0]
	describe(cont)

	// Wrong vault, unknown RP, unknown vault.
	other := "prod-efs-daily"
	if ebs.Vault == other {
		other = "prod-s3-daily"
	}
	_, err := src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(other), RecoveryPointArn: ebs.RecoveryPointArn})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(ebs.Vault), RecoveryPointArn: aws.String("arn:aws:ec2:us-east-1::snapshot/snap-00000000000000000")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("no-such-vault"), RecoveryPointArn: ebs.RecoveryPointArn})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	// The destination account cannot see source RPs.
	dst := sdkBackup(t, env, testenv.ProfileDestination)
	_, err = dst.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("prod-rds-monthly"), RecoveryPointArn: ebs.RecoveryPointArn})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
}

func TestSDKRecoveryPointStatuses(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 600})
	all := sdkAllSourceRPs(t, env)
	count := map[types.RecoveryPointStatus]int{}
	types_ := map[string]bool{}
	for _, rp := range all {
		count[rp.Status]++
		types_[aws.ToString(rp.ResourceType)] = true
		if rp.Status == types.RecoveryPointStatusPartial && aws.ToString(rp.StatusMessage) == "" {
			t.Errorf("PARTIAL RP %s has no StatusMessage", rp.Arn())
		}
	}
	for _, st := range []types.RecoveryPointStatus{types.RecoveryPointStatusCompleted, types.RecoveryPointStatusPartial,
		types.RecoveryPointStatusExpired, types.RecoveryPointStatusDeleting} {
		if count[st] == 0 {
			t.Errorf("no %s recovery point in the seed data (%v)", st, count)
		}
	}
	for _, typ := range []string{"EC2", "EBS", "RDS", "Aurora", "S3", "EFS", "DynamoDB", "FSx"} {
		if !types_[typ] {
			t.Errorf("no %s recovery point in the seed data", typ)
		}
	}
	if len(all) != 600 {
		t.Errorf("listed %d RPs over all vaults, seeded 600", len(all))
	}
}

func TestSDKStartBackupJob(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	src := sdkBackup(t, env, testenv.ProfileSource)

	vol := "arn:aws:ec2:us-east-1:111111111111:volume/vol-0sdk0000000000001"
	out, err := src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{
		BackupVaultName:  aws.String("dev-ebs-daily"),
		ResourceArn:      aws.String(vol),
		IamRoleArn:       aws.String(testenv.CopyRoleArn),
		IdempotencyToken: aws.String("backup-token-1"),
		Lifecycle:        &types.Lifecycle{DeleteAfterDays: aws.Int64(35)},
	})
	sdkNoErr(t, err, "StartBackupJob")
	rpArn := aws.ToString(out.RecoveryPointArn)
	if !strings.HasPrefix(rpArn, "arn:aws:ec2:us-east-1::snapshot/snap-") || aws.ToString(out.BackupJobId) == "" || out.CreationDate == nil {
		t.Fatalf("StartBackupJob answered job %q RP %q", aws.ToString(out.BackupJobId), rpArn)
	}

	job, err := src.DescribeBackupJob(sdkCtx, &backup.DescribeBackupJobInput{BackupJobId: out.BackupJobId})
	sdkNoErr(t, err, "DescribeBackupJob")
	if job.State != types.BackupJobStateCompleted || aws.ToString(job.RecoveryPointArn) != rpArn ||
		aws.ToString(job.ResourceType) != "EBS" || aws.ToString(job.ResourceArn) != vol || aws.ToString(job.AccountId) != testenv.SourceAccount {
		t.Errorf("DescribeBackupJob: state %s RP %s type %s resource %s account %s", job.State, aws.ToString(job.RecoveryPointArn),
			aws.ToString(job.ResourceType), aws.ToString(job.ResourceArn), aws.ToString(job.AccountId))
	}

	// Same token: same job, no new RP.
	again, err := src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String("dev-ebs-daily"), ResourceArn: aws.String(vol),
		IamRoleArn: aws.String(testenv.CopyRoleArn), IdempotencyToken: aws.String("backup-token-1")})
	sdkNoErr(t, err, "StartBackupJob retry")
	if aws.ToString(again.BackupJobId) != aws.ToString(out.BackupJobId) || aws.ToString(again.RecoveryPointArn) != rpArn {
		t.Errorf("retry with the same token made job %s / RP %s", aws.ToString(again.BackupJobId), aws.ToString(again.RecoveryPointArn))
	}

	// The RP is listed and described, through its encoded ARN.
	rps, _ := sdkListRPs(t, src, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("dev-ebs-daily"), ByResourceArn: aws.String(vol)})
	if len(rps) != 1 || aws.ToString(rps[0].RecoveryPointArn) != rpArn || rps[0].Status != types.RecoveryPointStatusCompleted {
		t.Fatalf("RPs of the backed-up volume: %v", sdkArns(rps))
	}
	if lc := rps[0].Lifecycle; lc == nil || aws.ToInt64(lc.DeleteAfterDays) != 35 {
		t.Errorf("RP lifecycle = %+v, want DeleteAfterDays 35", lc)
	}
	d, err := src.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("dev-ebs-daily"), RecoveryPointArn: aws.String(rpArn)})
	sdkNoErr(t, err, "DescribeRecoveryPoint")
	if d.StorageClass != types.StorageClassWarm || aws.ToString(d.ResourceName) != "vol-0sdk0000000000001" {
		t.Errorf("new RP: storage class %q name %q", d.StorageClass, aws.ToString(d.ResourceName))
	}

	// Other resource types get ARNs of their own shape.
	for _, tc := range []struct{ resource, prefix string }{
		{"arn:aws:s3:::sdk-bucket", "arn:aws:backup:us-east-1:111111111111:recovery-point:"},
		{"arn:aws:rds:us-east-1:111111111111:db:sdk-db", "arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-"},
		{"arn:aws:dynamodb:us-east-1:111111111111:table/sdk-table", "arn:aws:backup:us-east-1:111111111111:recovery-point:"},
	} {
		o, err := src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String(tc.resource), IamRoleArn: aws.String(testenv.CopyRoleArn)})
		sdkNoErr(t, err, "StartBackupJob "+tc.resource)
		if !strings.HasPrefix(aws.ToString(o.RecoveryPointArn), tc.prefix) {
			t.Errorf("backup of %s made RP %s, want prefix %s", tc.resource, aws.ToString(o.RecoveryPointArn), tc.prefix)
		}
	}

	_, err = src.DescribeBackupJob(sdkCtx, &backup.DescribeBackupJobInput{BackupJobId: aws.String("00000000-0000-0000-0000-000000000000")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String("arn:aws:lambda:us-east-1:111111111111:function:f"), IamRoleArn: aws.String(testenv.CopyRoleArn)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String("no-such-vault"), ResourceArn: aws.String(vol), IamRoleArn: aws.String(testenv.CopyRoleArn)})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String(""), ResourceArn: aws.String(vol), IamRoleArn: aws.String(testenv.CopyRoleArn)})
	sdkWantTyped[*types.MissingParameterValueException](t, err, 400)
	ro := sdkBackup(t, env, testenv.ProfileSourceReadOnly)
	_, err = ro.StartBackupJob(sdkCtx, &backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String(vol), IamRoleArn: aws.String(testenv.CopyRoleArn)})
	sdkWantErr(t, err, "AccessDeniedException", 403)
}

// TestSDKFastListingAgrees lists every source vault with the SDK's
// decoder and with shuffle's FastListing decoder and wants the same
// recovery points, field for field, with every page taken by the fast
// decoder.
func TestSDKFastListingAgrees(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 3000})
	sdk := sdkBackup(t, env, testenv.ProfileSource)
	var stats awsclient.ListingStats
	fast := sdkBackup(t, env, testenv.ProfileSource, stats.FastListing)
	f0, d0 := stats.Pages()
	pages, rps := 0, 0
	var lifecycle, calculated, createdBy, completion int
	for _, v := range sdkVaultNames(t, sdk) {
		in := &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(v), MaxResults: aws.Int32(250)}
		want, _ := sdkListRPs(t, sdk, in)
		got, n := sdkListRPs(t, fast, in)
		if !reflect.DeepEqual(got, want) {
			for i := range min(len(got), len(want)) {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("vault %s, RP %d (%s): fast decoder gives %+v, SDK gives %+v", v, i, aws.ToString(want[i].RecoveryPointArn), got[i], want[i])
				}
			}
			t.Fatalf("vault %s: fast decoder gives %d RPs, SDK %d", v, len(got), len(want))
		}
		pages += n
		rps += len(got)
		for _, rp := range got {
			lifecycle += b2i(rp.Lifecycle != nil)
			calculated += b2i(rp.CalculatedLifecycle != nil)
			createdBy += b2i(rp.CreatedBy != nil)
			completion += b2i(rp.CompletionDate != nil)
		}
	}
	f1, d1 := stats.Pages()
	if f1-f0 != int64(pages) || d1 != d0 {
		t.Errorf("fast decoder took %d of %d pages and declined %d, want all", f1-f0, pages, d1-d0)
	}
	if rps < 3000 || lifecycle == 0 || calculated == 0 || createdBy == 0 || completion == 0 {
		t.Errorf("listing too thin to compare: %d RPs; with Lifecycle %d, CalculatedLifecycle %d, CreatedBy %d, CompletionDate %d",
			rps, lifecycle, calculated, createdBy, completion)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
