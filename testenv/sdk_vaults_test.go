package testenv_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func TestSDKListBackupVaults(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	src := sdkBackup(t, env, testenv.ProfileSource)

	// One big page is the reference.
	all, err := src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults")
	if all.NextToken != nil {
		t.Fatalf("one page of 1000 should hold every vault, got NextToken %q", *all.NextToken)
	}
	if n := len(all.BackupVaultList); n < 12 {
		t.Fatalf("source account has %d vaults, want at least 12", n)
	}
	var want []string
	totalRPs := int64(0)
	for _, v := range all.BackupVaultList {
		want = append(want, aws.ToString(v.BackupVaultName))
		totalRPs += v.NumberOfRecoveryPoints
		if !strings.HasPrefix(aws.ToString(v.BackupVaultArn), "arn:aws:backup:us-east-1:111111111111:backup-vault:") {
			t.Errorf("vault ARN %q is not a source-account vault ARN", aws.ToString(v.BackupVaultArn))
		}
		if v.CreationDate == nil || v.CreationDate.IsZero() {
			t.Errorf("vault %s has no CreationDate", aws.ToString(v.BackupVaultName))
		}
	}
	if totalRPs != 300 {
		t.Errorf("NumberOfRecoveryPoints sums to %d over the vaults, want the 300 seeded", totalRPs)
	}

	// Pages of 3 through the paginator give the same vaults in the same order.
	var got []string
	pages := 0
	p := backup.NewListBackupVaultsPaginator(src, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListBackupVaults page")
		pages++
		if len(page.BackupVaultList) > 3 {
			t.Fatalf("page %d has %d vaults, MaxResults was 3", pages, len(page.BackupVaultList))
		}
		if page.NextToken != nil {
			if _, err := strconv.Atoi(*page.NextToken); err == nil {
				t.Errorf("NextToken %q is a bare index, want an opaque token", *page.NextToken)
			}
		}
		for _, v := range page.BackupVaultList {
			got = append(got, aws.ToString(v.BackupVaultName))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paginated vaults differ:\n got %v\nwant %v", got, want)
	}
	if wantPages := (len(want) + 2) / 3; pages < wantPages {
		t.Errorf("got %d pages of 3 for %d vaults, want at least %d", pages, len(want), wantPages)
	}

	// vaultType filter.
	countType := func(vt types.VaultType) []string {
		var names []string
		p := backup.NewListBackupVaultsPaginator(src, &backup.ListBackupVaultsInput{ByVaultType: vt, MaxResults: aws.Int32(3)})
		for p.HasMorePages() {
			page, err := p.NextPage(sdkCtx)
			sdkNoErr(t, err, "ListBackupVaults by type")
			for _, v := range page.BackupVaultList {
				if v.VaultType != vt {
					t.Errorf("filter %s returned vault %s of type %s", vt, aws.ToString(v.BackupVaultName), v.VaultType)
				}
				names = append(names, aws.ToString(v.BackupVaultName))
			}
		}
		return names
	}
	lag := countType(types.VaultTypeLogicallyAirGappedBackupVault)
	if !slices.Equal(lag, []string{"legal-hold-airgapped"}) {
		t.Errorf("logically air-gapped vaults = %v, want [legal-hold-airgapped]", lag)
	}
	if std := countType(types.VaultTypeBackupVault); len(std) != len(want)-1 {
		t.Errorf("BACKUP_VAULT filter gave %d vaults, want %d", len(std), len(want)-1)
	}

	// Bad paging parameters.
	_, err = src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1001)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{NextToken: aws.String("not-a-token")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	// The destination account sees only its own two vaults.
	dst := sdkBackup(t, env, testenv.ProfileDestination)
	names := sdkVaultNames(t, dst)
	slices.Sort(names)
	if !slices.Equal(names, []string{"finance-records", "prod-rds-monthly"}) {
		t.Errorf("destination vaults = %v, want [finance-records prod-rds-monthly]", names)
	}
}

func TestSDKDescribeBackupVault(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	src := sdkBackup(t, env, testenv.ProfileSource)
	describe := func(name string) *backup.DescribeBackupVaultOutput {
		t.Helper()
		out, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
		sdkNoErr(t, err, "DescribeBackupVault "+name)
		return out
	}

	fin := describe("finance-records")
	if !aws.ToBool(fin.Locked) || aws.ToInt64(fin.MinRetentionDays) != 365 || aws.ToInt64(fin.MaxRetentionDays) != 2555 {
		t.Errorf("finance-records lock = locked %v min %v max %v, want locked 365..2555",
			aws.ToBool(fin.Locked), aws.ToInt64(fin.MinRetentionDays), aws.ToInt64(fin.MaxRetentionDays))
	}
	if fin.LockDate == nil || !fin.LockDate.Before(time.Now()) {
		t.Errorf("finance-records is compliance-locked: want a LockDate in the past, got %v", fin.LockDate)
	}
	if fin.EncryptionKeyType != types.EncryptionKeyTypeCustomerManagedKmsKey {
		t.Errorf("finance-records EncryptionKeyType = %q, want CUSTOMER_MANAGED_KMS_KEY", fin.EncryptionKeyType)
	}
	if fin.VaultType != types.VaultTypeBackupVault {
		t.Errorf("finance-records VaultType = %q", fin.VaultType)
	}

	gov := describe("prod-rds-monthly")
	if !aws.ToBool(gov.Locked) || gov.LockDate != nil {
		t.Errorf("prod-rds-monthly is governance-locked: want Locked and no LockDate, got %v %v", aws.ToBool(gov.Locked), gov.LockDate)
	}
	unlocked := describe("prod-ebs-weekly")
	if aws.ToBool(unlocked.Locked) || unlocked.MinRetentionDays != nil {
		t.Errorf("prod-ebs-weekly should be unlocked, got Locked=%v Min=%v", aws.ToBool(unlocked.Locked), unlocked.MinRetentionDays)
	}
	if unlocked.NumberOfRecoveryPoints == 0 {
		t.Error("prod-ebs-weekly has no recovery points")
	}

	lag := describe("legal-hold-airgapped")
	if lag.VaultType != types.VaultTypeLogicallyAirGappedBackupVault || lag.VaultState != types.VaultStateAvailable {
		t.Errorf("legal-hold-airgapped: type %q state %q, want LOGICALLY_AIR_GAPPED_BACKUP_VAULT AVAILABLE", lag.VaultType, lag.VaultState)
	}
	if lag.EncryptionKeyType != types.EncryptionKeyTypeAwsOwnedKmsKey || !aws.ToBool(lag.Locked) || lag.LockDate == nil {
		t.Errorf("legal-hold-airgapped: key type %q locked %v lock date %v", lag.EncryptionKeyType, aws.ToBool(lag.Locked), lag.LockDate)
	}

	def := describe("Default")
	if !strings.Contains(aws.ToString(def.EncryptionKeyArn), ":111111111111:key/") {
		t.Errorf("Default vault key %q is not a source-account KMS key", aws.ToString(def.EncryptionKeyArn))
	}

	_, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("no-such-vault")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("bad name!")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	// A destination vault is not visible from the source account.
	dst := sdkBackup(t, env, testenv.ProfileDestination)
	_, err = dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-ebs-daily")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
}

func TestSDKCreateAndDeleteBackupVault(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	dst := sdkBackup(t, env, testenv.ProfileDestination)

	in := &backup.CreateBackupVaultInput{
		BackupVaultName:  aws.String("sdk-new-vault"),
		CreatorRequestId: aws.String("req-0001"),
		BackupVaultTags:  map[string]string{"Environment": "test"},
	}
	first, err := dst.CreateBackupVault(sdkCtx, in)
	sdkNoErr(t, err, "CreateBackupVault")
	if got, want := aws.ToString(first.BackupVaultArn), "arn:aws:backup:us-east-1:222222222222:backup-vault:sdk-new-vault"; got != want {
		t.Fatalf("BackupVaultArn = %q, want %q", got, want)
	}
	if first.CreationDate == nil {
		t.Fatal("CreateBackupVault returned no CreationDate")
	}

	// Same CreatorRequestId: idempotent, same answer.
	again, err := dst.CreateBackupVault(sdkCtx, in)
	sdkNoErr(t, err, "CreateBackupVault retry with the same CreatorRequestId")
	if aws.ToString(again.BackupVaultArn) != aws.ToString(first.BackupVaultArn) || !again.CreationDate.Equal(*first.CreationDate) {
		t.Errorf("idempotent retry answered %v %v, first answer %v %v", aws.ToString(again.BackupVaultArn), again.CreationDate,
			aws.ToString(first.BackupVaultArn), first.CreationDate)
	}
	// Another CreatorRequestId, or none: AlreadyExists.
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault"), CreatorRequestId: aws.String("req-0002")})
	sdkWantTyped[*types.AlreadyExistsException](t, err, 400)
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkWantTyped[*types.AlreadyExistsException](t, err, 400)
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("x")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	d, err := dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkNoErr(t, err, "DescribeBackupVault")
	if aws.ToString(d.CreatorRequestId) != "req-0001" || d.NumberOfRecoveryPoints != 0 || aws.ToBool(d.Locked) {
		t.Errorf("new vault: CreatorRequestId %q, %d RPs, locked %v", aws.ToString(d.CreatorRequestId), d.NumberOfRecoveryPoints, aws.ToBool(d.Locked))
	}
	tags, err := dst.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: first.BackupVaultArn})
	sdkNoErr(t, err, "ListTags")
	if tags.Tags["Environment"] != "test" {
		t.Errorf("tags given at creation = %v", tags.Tags)
	}

	// A customer managed key is kept; a key of another region is refused.
	key := "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-4333-8444-555555555555"
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-cmk"), EncryptionKeyArn: aws.String(key)})
	sdkNoErr(t, err, "CreateBackupVault with a CMK")
	cmk, err := dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-cmk")})
	sdkNoErr(t, err, "DescribeBackupVault")
	if aws.ToString(cmk.EncryptionKeyArn) != key || cmk.EncryptionKeyType != types.EncryptionKeyTypeCustomerManagedKmsKey {
		t.Errorf("CMK vault: key %q type %q", aws.ToString(cmk.EncryptionKeyArn), cmk.EncryptionKeyType)
	}
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-cmk-2"),
		EncryptionKeyArn: aws.String("arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-4333-8444-555555555555")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	// The source profile may not create vaults.
	src := sdkBackup(t, env, testenv.ProfileSource)
	_, err = src.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-src-vault")})
	sdkWantErr(t, err, "AccessDeniedException", 403)

	_, err = dst.DeleteBackupVault(sdkCtx, &backup.DeleteBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkNoErr(t, err, "DeleteBackupVault")
	_, err = dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = dst.DeleteBackupVault(sdkCtx, &backup.DeleteBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	names := sdkVaultNames(t, dst)
	if slices.Contains(names, "sdk-new-vault") || len(names) != 3 {
		t.Errorf("after delete the destination lists %v", names)
	}
	// The name is free again.
	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-new-vault")})
	sdkNoErr(t, err, "CreateBackupVault after delete")
}

func TestSDKCreateLogicallyAirGappedBackupVault(t *testing.T) {
	clk := newSDKClock()
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Now: clk.Now, CopySpeed: 1})
	dst := sdkBackup(t, env, testenv.ProfileDestination)

	out, err := dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{
		BackupVaultName:  aws.String("sdk-airgap"),
		MinRetentionDays: aws.Int64(7),
		MaxRetentionDays: aws.Int64(365),
		CreatorRequestId: aws.String("lag-1"),
	})
	sdkNoErr(t, err, "CreateLogicallyAirGappedBackupVault")
	if out.VaultState != types.VaultStateCreating {
		t.Fatalf("new LAG vault state = %q, want CREATING", out.VaultState)
	}
	if !strings.HasSuffix(aws.ToString(out.BackupVaultArn), ":222222222222:backup-vault:sdk-airgap") {
		t.Errorf("BackupVaultArn = %q", aws.ToString(out.BackupVaultArn))
	}
	desc := func() *backup.DescribeBackupVaultOutput {
		t.Helper()
		d, err := dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-airgap")})
		sdkNoErr(t, err, "DescribeBackupVault")
		return d
	}
	if d := desc(); d.VaultState != types.VaultStateCreating || d.VaultType != types.VaultTypeLogicallyAirGappedBackupVault {
		t.Fatalf("described as %q %q, want CREATING LOGICALLY_AIR_GAPPED_BACKUP_VAULT", d.VaultState, d.VaultType)
	}
	clk.Advance(5 * time.Minute)
	d := desc()
	if d.VaultState != types.VaultStateAvailable {
		t.Fatalf("after 5 minutes the LAG vault is %q, want AVAILABLE", d.VaultState)
	}
	if !aws.ToBool(d.Locked) || aws.ToInt64(d.MinRetentionDays) != 7 || aws.ToInt64(d.MaxRetentionDays) != 365 {
		t.Errorf("LAG lock: locked %v min %d max %d", aws.ToBool(d.Locked), aws.ToInt64(d.MinRetentionDays), aws.ToInt64(d.MaxRetentionDays))
	}
	if d.EncryptionKeyType != types.EncryptionKeyTypeAwsOwnedKmsKey {
		t.Errorf("LAG vault without a key: EncryptionKeyType %q, want AWS_OWNED_KMS_KEY", d.EncryptionKeyType)
	}

	// Retention bounds are checked by the server.
	_, err = dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{
		BackupVaultName: aws.String("sdk-airgap-2"), MinRetentionDays: aws.Int64(1), MaxRetentionDays: aws.Int64(30)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{
		BackupVaultName: aws.String("sdk-airgap-2"), MinRetentionDays: aws.Int64(40), MaxRetentionDays: aws.Int64(30)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = dst.CreateLogicallyAirGappedBackupVault(sdkCtx, &backup.CreateLogicallyAirGappedBackupVaultInput{
		BackupVaultName: aws.String("sdk-airgap"), MinRetentionDays: aws.Int64(7), MaxRetentionDays: aws.Int64(30)})
	sdkWantTyped[*types.AlreadyExistsException](t, err, 400)

	lag, err := dst.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{ByVaultType: types.VaultTypeLogicallyAirGappedBackupVault})
	sdkNoErr(t, err, "ListBackupVaults")
	if len(lag.BackupVaultList) != 1 || aws.ToString(lag.BackupVaultList[0].BackupVaultName) != "sdk-airgap" {
		t.Errorf("LAG vaults of the destination: %+v", lag.BackupVaultList)
	}
}

func TestSDKVaultAccessPolicy(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	src := sdkBackup(t, env, testenv.ProfileSource)
	dst := sdkBackup(t, env, testenv.ProfileDestination)

	got, err := src.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-rds-daily")})
	sdkNoErr(t, err, "GetBackupVaultAccessPolicy")
	if !strings.Contains(aws.ToString(got.Policy), "backup:CopyIntoBackupVault") || !strings.Contains(aws.ToString(got.Policy), "222222222222") {
		t.Errorf("prod-rds-daily policy = %s", aws.ToString(got.Policy))
	}
	if aws.ToString(got.BackupVaultName) != "prod-rds-daily" || !strings.HasSuffix(aws.ToString(got.BackupVaultArn), ":backup-vault:prod-rds-daily") {
		t.Errorf("policy answer names %q %q", aws.ToString(got.BackupVaultName), aws.ToString(got.BackupVaultArn))
	}
	_, err = src.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-ebs-weekly")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)

	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-policy")})
	sdkNoErr(t, err, "CreateBackupVault")
	_, err = dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-policy"), Policy: aws.String(sdkCopyInPolicy)})
	sdkNoErr(t, err, "PutBackupVaultAccessPolicy")
	got, err = dst.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-policy")})
	sdkNoErr(t, err, "GetBackupVaultAccessPolicy")
	if aws.ToString(got.Policy) != sdkCopyInPolicy {
		t.Errorf("policy read back = %s", aws.ToString(got.Policy))
	}

	_, err = dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-policy"), Policy: aws.String("{not json")})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-policy")})
	sdkWantTyped[*types.MissingParameterValueException](t, err, 400)
	_, err = dst.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-nope"), Policy: aws.String(sdkCopyInPolicy)})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.PutBackupVaultAccessPolicy(sdkCtx, &backup.PutBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-ebs-weekly"), Policy: aws.String(sdkCopyInPolicy)})
	sdkWantErr(t, err, "AccessDeniedException", 403)

	// The failed puts left the stored policy alone.
	got, err = dst.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-policy")})
	sdkNoErr(t, err, "GetBackupVaultAccessPolicy")
	if aws.ToString(got.Policy) != sdkCopyInPolicy {
		t.Errorf("policy after rejected puts = %s", aws.ToString(got.Policy))
	}
}

func TestSDKVaultNotifications(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	src := sdkBackup(t, env, testenv.ProfileSource)
	dst := sdkBackup(t, env, testenv.ProfileDestination)

	n, err := src.GetBackupVaultNotifications(sdkCtx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String("prod-ebs-daily")})
	sdkNoErr(t, err, "GetBackupVaultNotifications")
	if aws.ToString(n.SNSTopicArn) != "arn:aws:sns:us-east-1:111111111111:backup-events" || !slices.Contains(n.BackupVaultEvents, types.BackupVaultEventCopyJobFailed) {
		t.Errorf("prod-ebs-daily notifications: %s %v", aws.ToString(n.SNSTopicArn), n.BackupVaultEvents)
	}
	_, err = src.GetBackupVaultNotifications(sdkCtx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String("prod-ebs-weekly")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)

	_, err = dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-notify")})
	sdkNoErr(t, err, "CreateBackupVault")
	topic := "arn:aws:sns:us-east-1:222222222222:copy-events"
	events := []types.BackupVaultEvent{types.BackupVaultEventCopyJobSuccessful, types.BackupVaultEventCopyJobFailed}
	_, err = dst.PutBackupVaultNotifications(sdkCtx, &backup.PutBackupVaultNotificationsInput{
		BackupVaultName: aws.String("sdk-notify"), SNSTopicArn: aws.String(topic), BackupVaultEvents: events})
	sdkNoErr(t, err, "PutBackupVaultNotifications")
	n, err = dst.GetBackupVaultNotifications(sdkCtx, &backup.GetBackupVaultNotificationsInput{BackupVaultName: aws.String("sdk-notify")})
	sdkNoErr(t, err, "GetBackupVaultNotifications")
	if aws.ToString(n.SNSTopicArn) != topic || !slices.Equal(n.BackupVaultEvents, events) {
		t.Errorf("read back %s %v", aws.ToString(n.SNSTopicArn), n.BackupVaultEvents)
	}
	// A topic of another account is refused.
	_, err = dst.PutBackupVaultNotifications(sdkCtx, &backup.PutBackupVaultNotificationsInput{
		BackupVaultName: aws.String("sdk-notify"), SNSTopicArn: aws.String("arn:aws:sns:us-east-1:111111111111:backup-events"), BackupVaultEvents: events})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
}

func TestSDKVaultLock(t *testing.T) {
	clk := newSDKClock()
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Now: clk.Now})
	// The client signs with the server's (fake) clock so days can pass.
	dst := sdkBackup(t, env, testenv.ProfileDestination, sdkSignWith(clk.Now))
	name := aws.String("sdk-lock")
	_, err := dst.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: name})
	sdkNoErr(t, err, "CreateBackupVault")
	desc := func() *backup.DescribeBackupVaultOutput {
		t.Helper()
		d, err := dst.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: name})
		sdkNoErr(t, err, "DescribeBackupVault")
		return d
	}

	// Invalid configurations.
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, ChangeableForDays: aws.Int64(2)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, MinRetentionDays: aws.Int64(30), MaxRetentionDays: aws.Int64(10)})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)
	if aws.ToBool(desc().Locked) {
		t.Fatal("rejected lock configurations locked the vault")
	}

	// Governance mode: no LockDate, removable.
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, MinRetentionDays: aws.Int64(7), MaxRetentionDays: aws.Int64(30)})
	sdkNoErr(t, err, "PutBackupVaultLockConfiguration (governance)")
	d := desc()
	if !aws.ToBool(d.Locked) || aws.ToInt64(d.MinRetentionDays) != 7 || aws.ToInt64(d.MaxRetentionDays) != 30 || d.LockDate != nil {
		t.Fatalf("governance lock: locked %v min %d max %d lockdate %v", aws.ToBool(d.Locked), aws.ToInt64(d.MinRetentionDays), aws.ToInt64(d.MaxRetentionDays), d.LockDate)
	}
	_, err = dst.DeleteBackupVaultLockConfiguration(sdkCtx, &backup.DeleteBackupVaultLockConfigurationInput{BackupVaultName: name})
	sdkNoErr(t, err, "DeleteBackupVaultLockConfiguration")
	if d := desc(); aws.ToBool(d.Locked) || d.MinRetentionDays != nil {
		t.Fatalf("after delete: locked %v min %v", aws.ToBool(d.Locked), d.MinRetentionDays)
	}

	// Compliance mode: a LockDate ChangeableForDays ahead; changeable until then.
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, MinRetentionDays: aws.Int64(7), ChangeableForDays: aws.Int64(3)})
	sdkNoErr(t, err, "PutBackupVaultLockConfiguration (compliance)")
	d = desc()
	wantLock := clk.Now().Add(72 * time.Hour)
	if d.LockDate == nil || d.LockDate.Sub(wantLock).Abs() > 2*time.Second {
		t.Fatalf("LockDate = %v, want about %v", d.LockDate, wantLock)
	}
	clk.Advance(48 * time.Hour)
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, MinRetentionDays: aws.Int64(14), ChangeableForDays: aws.Int64(3)})
	sdkNoErr(t, err, "changing a compliance lock before its LockDate")
	if d := desc(); aws.ToInt64(d.MinRetentionDays) != 14 {
		t.Fatalf("MinRetentionDays after change = %d, want 14", aws.ToInt64(d.MinRetentionDays))
	}
	clk.Advance(4 * 24 * time.Hour)
	_, err = dst.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: name, MinRetentionDays: aws.Int64(1)})
	sdkWantTyped[*types.InvalidRequestException](t, err, 400)
	_, err = dst.DeleteBackupVaultLockConfiguration(sdkCtx, &backup.DeleteBackupVaultLockConfigurationInput{BackupVaultName: name})
	sdkWantTyped[*types.InvalidRequestException](t, err, 400)
	_, err = dst.DeleteBackupVault(sdkCtx, &backup.DeleteBackupVaultInput{BackupVaultName: name})
	sdkWantTyped[*types.InvalidRequestException](t, err, 400)
	if d := desc(); !aws.ToBool(d.Locked) || aws.ToInt64(d.MinRetentionDays) != 14 {
		t.Fatalf("the immutable lock changed: locked %v min %d", aws.ToBool(d.Locked), aws.ToInt64(d.MinRetentionDays))
	}

	// The seeded compliance-locked vault is immutable too, even for a
	// principal that is allowed to change locks.
	if err := env.SetPolicies(testenv.ProfileSource, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"}]}`}); err != nil {
		t.Fatal(err)
	}
	src := sdkBackup(t, env, testenv.ProfileSource, sdkSignWith(clk.Now))
	_, err = src.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("finance-records"), MinRetentionDays: aws.Int64(1)})
	sdkWantTyped[*types.InvalidRequestException](t, err, 400)
	// The governance-locked one is not.
	_, err = src.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("prod-rds-monthly"), MinRetentionDays: aws.Int64(30), MaxRetentionDays: aws.Int64(3650)})
	sdkNoErr(t, err, "changing a governance lock")
}

func TestSDKTags(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	src := sdkBackup(t, env, testenv.ProfileSource)
	vaultArn := "arn:aws:backup:us-east-1:111111111111:backup-vault:prod-ebs-daily"

	tags, err := src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: aws.String(vaultArn)})
	sdkNoErr(t, err, "ListTags vault")
	if tags.Tags["Environment"] != "prod" || tags.Tags["CostCenter"] == "" || tags.Tags["Owner"] == "" {
		t.Errorf("prod-ebs-daily tags = %v", tags.Tags)
	}
	_, err = src.TagResource(sdkCtx, &backup.TagResourceInput{ResourceArn: aws.String(vaultArn), Tags: map[string]string{"Migrated": "no", "Wave": "1"}})
	sdkNoErr(t, err, "TagResource vault")
	_, err = src.UntagResource(sdkCtx, &backup.UntagResourceInput{ResourceArn: aws.String(vaultArn), TagKeyList: []string{"Wave"}})
	sdkNoErr(t, err, "UntagResource vault")
	tags, err = src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: aws.String(vaultArn)})
	sdkNoErr(t, err, "ListTags vault")
	if tags.Tags["Migrated"] != "no" || tags.Tags["Environment"] != "prod" {
		t.Errorf("after tag: %v", tags.Tags)
	}
	if _, ok := tags.Tags["Wave"]; ok {
		t.Errorf("untagged key Wave still present: %v", tags.Tags)
	}

	// ListTags pages with MaxResults.
	var keys []string
	p := backup.NewListTagsPaginator(src, &backup.ListTagsInput{ResourceArn: aws.String(vaultArn), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListTags page")
		if len(page.Tags) > 1 {
			t.Fatalf("a page of ListTags with MaxResults 1 holds %d tags", len(page.Tags))
		}
		for k := range page.Tags {
			keys = append(keys, k)
		}
	}
	if len(keys) != len(tags.Tags) {
		t.Errorf("paged ListTags gave %v, want the %d keys of %v", keys, len(tags.Tags), tags.Tags)
	}

	// A taggable recovery point (an arn:aws:backup recovery point).
	all := sdkAllSourceRPs(t, env)
	s3 := sdkPick(t, all, 1, func(r sdkRP) bool { return aws.ToString(r.ResourceType) == "S3" && !sdkContinuous(r) })[0]
	_, err = src.TagResource(sdkCtx, &backup.TagResourceInput{ResourceArn: s3.RecoveryPointArn, Tags: map[string]string{"Checked": "yes"}})
	sdkNoErr(t, err, "TagResource RP")
	rt, err := src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: s3.RecoveryPointArn})
	sdkNoErr(t, err, "ListTags RP")
	if rt.Tags["Checked"] != "yes" {
		t.Errorf("RP tags = %v", rt.Tags)
	}
	_, err = src.UntagResource(sdkCtx, &backup.UntagResourceInput{ResourceArn: s3.RecoveryPointArn, TagKeyList: []string{"Checked"}})
	sdkNoErr(t, err, "UntagResource RP")
	rt, err = src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: s3.RecoveryPointArn})
	sdkNoErr(t, err, "ListTags RP")
	if len(rt.Tags) != 0 {
		t.Errorf("RP tags after untag = %v", rt.Tags)
	}

	// EBS snapshots are tagged through EC2, not Backup.
	ebs := sdkPick(t, all, 1, func(r sdkRP) bool { return aws.ToString(r.ResourceType) == "EBS" })[0]
	_, err = src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: ebs.RecoveryPointArn})
	sdkWantTyped[*types.InvalidParameterValueException](t, err, 400)

	_, err = src.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: aws.String("arn:aws:backup:us-east-1:111111111111:backup-vault:no-such-vault")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	_, err = src.TagResource(sdkCtx, &backup.TagResourceInput{ResourceArn: aws.String(vaultArn), Tags: map[string]string{}})
	sdkWantTyped[*types.MissingParameterValueException](t, err, 400)

	// Too many tags.
	many := map[string]string{}
	for i := range 60 {
		many["k"+strconv.Itoa(i)] = "v"
	}
	_, err = src.TagResource(sdkCtx, &backup.TagResourceInput{ResourceArn: aws.String(vaultArn), Tags: many})
	sdkWantTyped[*types.LimitExceededException](t, err, 400)

	// The read-only profile may read tags but not write them.
	ro := sdkBackup(t, env, testenv.ProfileSourceReadOnly)
	_, err = ro.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: aws.String(vaultArn)})
	sdkNoErr(t, err, "ListTags as source-readonly")
	_, err = ro.TagResource(sdkCtx, &backup.TagResourceInput{ResourceArn: aws.String(vaultArn), Tags: map[string]string{"a": "b"}})
	sdkWantErr(t, err, "AccessDeniedException", 403)
}

func TestSDKDescribeGlobalSettings(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	src := sdkBackup(t, env, testenv.ProfileSource)
	get := func() string {
		t.Helper()
		out, err := src.DescribeGlobalSettings(sdkCtx, &backup.DescribeGlobalSettingsInput{})
		sdkNoErr(t, err, "DescribeGlobalSettings")
		if out.LastUpdateTime == nil {
			t.Error("DescribeGlobalSettings has no LastUpdateTime")
		}
		return out.GlobalSettings["isCrossAccountBackupEnabled"]
	}
	if v := get(); v != "true" {
		t.Fatalf("isCrossAccountBackupEnabled = %q, want true", v)
	}
	if err := env.SetCrossAccountBackup(testenv.SourceAccount, false); err != nil {
		t.Fatal(err)
	}
	if v := get(); v != "false" {
		t.Fatalf("after disabling: isCrossAccountBackupEnabled = %q, want false", v)
	}
	// The destination account has its own setting.
	dst := sdkBackup(t, env, testenv.ProfileDestination)
	out, err := dst.DescribeGlobalSettings(sdkCtx, &backup.DescribeGlobalSettingsInput{})
	sdkNoErr(t, err, "DescribeGlobalSettings destination")
	if out.GlobalSettings["isCrossAccountBackupEnabled"] != "true" {
		t.Errorf("destination setting = %v", out.GlobalSettings)
	}
}

// sdkTrailingSlash makes the SDK send every path with a trailing slash,
// the form botocore uses, before signing.
func sdkTrailingSlash(o *backup.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Build.Add(middleware.BuildMiddlewareFunc("sdkTrailingSlash", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if r, ok := in.Request.(*smithyhttp.Request); ok && !strings.HasSuffix(r.URL.Path, "/") {
				r.URL.Path += "/"
				if r.URL.RawPath != "" {
					r.URL.RawPath += "/"
				}
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	})
}

func TestSDKTrailingSlashPaths(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	plain := sdkBackup(t, env, testenv.ProfileSource)
	var paths []string
	slash := sdkBackup(t, env, testenv.ProfileSource, sdkTrailingSlash, func(o *backup.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("sdkRecordPath", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				paths = append(paths, in.Request.(*smithyhttp.Request).URL.EscapedPath())
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
		})
	})

	for _, c := range []*backup.Client{plain, slash} {
		vs, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		sdkNoErr(t, err, "ListBackupVaults")
		if len(vs.BackupVaultList) < 12 {
			t.Fatalf("%d vaults", len(vs.BackupVaultList))
		}
		_, err = c.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-ebs-daily")})
		sdkNoErr(t, err, "DescribeBackupVault")
		_, err = c.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("prod-ebs-daily")})
		sdkNoErr(t, err, "GetBackupVaultAccessPolicy")
		rps, err := c.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("prod-ebs-daily"), MaxResults: aws.Int32(5)})
		sdkNoErr(t, err, "ListRecoveryPointsByBackupVault")
		if len(rps.RecoveryPoints) != 5 {
			t.Fatalf("%d RPs", len(rps.RecoveryPoints))
		}
		for _, rp := range rps.RecoveryPoints {
			_, err = c.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("prod-ebs-daily"), RecoveryPointArn: rp.RecoveryPointArn})
			sdkNoErr(t, err, "DescribeRecoveryPoint "+aws.ToString(rp.RecoveryPointArn))
		}
		tags, err := c.ListTags(sdkCtx, &backup.ListTagsInput{ResourceArn: aws.String("arn:aws:backup:us-east-1:111111111111:backup-vault:prod-ebs-daily")})
		sdkNoErr(t, err, "ListTags")
		if tags.Tags["Environment"] != "prod" {
			t.Errorf("tags %v", tags.Tags)
		}
		_, err = c.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{})
		sdkNoErr(t, err, "ListCopyJobs")
		_, err = c.DescribeGlobalSettings(sdkCtx, &backup.DescribeGlobalSettingsInput{})
		sdkNoErr(t, err, "DescribeGlobalSettings")
	}
	if len(paths) < 8 {
		t.Fatalf("recorded %d paths", len(paths))
	}
	for _, p := range paths {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("path %s was sent without a trailing slash", p)
		}
		if strings.Contains(p, "/recovery-points/arn") && !strings.Contains(p, "%3A") {
			t.Errorf("path %s does not carry the ARN percent-encoded", p)
		}
	}
	// A signed request to a path no operation has is refused as such.
	odd := sdkBackup(t, env, testenv.ProfileSource, func(o *backup.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("sdkOddPath", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				in.Request.(*smithyhttp.Request).URL.Path = "/backup-vaultz"
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	})
	_, err := odd.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "UnknownOperationException", 404)
}
