package testenv_test

// The AWS CLI acceptance test: the real `aws` (v1.45, botocore) against
// `shuffle testenv up` in a subprocess, configured by nothing but the
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE the emulator writes.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	cliSource      = "111111111111"
	cliDestination = "222222222222"
	cliRegion      = "us-east-1"
	cliCopyRole    = "arn:aws:iam::" + cliSource + ":role/service-role/AWSBackupDefaultServiceRole"
)

func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("SKIP: the AWS CLI (`aws`) is not on PATH, so the AWS CLI acceptance test cannot run here; CI installs it (pip install awscli)")
	}
	start := time.Now()
	bin := cliBuildShuffle(t)
	home := t.TempDir()

	srv := cliStart(t, bin, awsPath, home, "--recovery-points", "500", "--copy-speed", "1000000")
	// The token server starts first so that its credentials lapse while
	// the main subtests run.
	tok := cliStart(t, bin, awsPath, home, "--recovery-points", "20", "--token-ttl", "5s")
	tokenExpiry := cliPrepareExpiry(t, tok)

	t.Run("ops", func(t *testing.T) {
		t.Run("CopyJob", func(t *testing.T) { t.Parallel(); cliCopyJob(t, srv) })
		t.Run("GetCallerIdentity", func(t *testing.T) {
			t.Parallel()
			want := map[string]string{"source": cliSource, "destination": cliDestination, "source-readonly": cliSource, "destination-nolock": cliDestination}
			for _, p := range []string{"source", "destination", "source-readonly", "destination-nolock"} {
				var id struct{ Account, Arn, UserId string }
				srv.ok(t, &id, "sts", "get-caller-identity", "--profile", p)
				if id.Account != want[p] || !strings.HasPrefix(id.Arn, "arn:aws:sts::"+want[p]+":assumed-role/") || id.UserId == "" {
					t.Errorf("profile %s: GetCallerIdentity = %+v, want account %s and an assumed-role ARN", p, id, want[p])
				}
			}
		})
		t.Run("VaultsAndRecoveryPoints", func(t *testing.T) { t.Parallel(); cliVaultsAndRPs(t, srv) })
		t.Run("Tags", func(t *testing.T) { t.Parallel(); cliTags(t, srv) })
		t.Run("SettingsAndIAM", func(t *testing.T) { t.Parallel(); cliSettingsAndIAM(t, srv) })
		t.Run("Errors", func(t *testing.T) { t.Parallel(); cliErrors(t, srv) })
	})
	// After the listings above, which count every source recovery point.
	t.Run("BackupJob", func(t *testing.T) { cliBackupJob(t, srv) })

	t.Run("ExpiredToken", func(t *testing.T) {
		if d := time.Until(tokenExpiry); d > 0 {
			time.Sleep(d)
		}
		tok.fails(t, "ExpiredTokenException", "backup", "list-backup-vaults", "--profile", "source")
		tok.fails(t, "ExpiredToken", "sts", "get-caller-identity", "--profile", "destination")
	})

	// Every request the CLI sent, trailing-slash paths included
	// (botocore's /backup-vaults/, /tags/{arn}/, .../recovery-points/,
	// /copy-jobs/), resolved to a Backup operation.
	t.Run("Routing", func(t *testing.T) {
		var snap struct {
			Calls       map[string]int64 `json:"calls"`
			JobsCreated map[string]int64 `json:"jobs_created"`
		}
		srv.admin(t, "GET", "/_testenv/counters", "", &snap)
		if n := snap.Calls["Unknown"]; n != 0 {
			t.Errorf("%d requests from the CLI matched no operation; calls: %v", n, snap.Calls)
		}
		for _, op := range []string{"ListBackupVaults", "ListTags", "ListRecoveryPointsByBackupVault", "ListCopyJobs",
			"DescribeRecoveryPoint", "StartCopyJob", "DescribeCopyJob", "StartBackupJob", "DescribeBackupJob", "GetCallerIdentity",
			"GetRole", "SimulatePrincipalPolicy", "DescribeGlobalSettings", "DeleteBackupVaultLockConfiguration"} {
			if snap.Calls[op] == 0 {
				t.Errorf("no %s call was counted; calls: %v", op, snap.Calls)
			}
		}
		for k, n := range snap.JobsCreated {
			if n != 1 {
				t.Errorf("jobs created for %s = %d, want 1 (the idempotent retry must not create another)", k, n)
			}
		}
	})
	t.Logf("AWS CLI acceptance test took %s (%d aws invocations)", time.Since(start).Round(time.Millisecond), srv.calls.Load()+tok.calls.Load())
}

func cliVaultsAndRPs(t *testing.T, s *cliServer) {
	type vault struct {
		BackupVaultName, BackupVaultArn, VaultType string
		NumberOfRecoveryPoints                     int
		Locked                                     bool
	}
	var list struct{ BackupVaultList []vault }
	res := s.ok(t, &list, "backup", "list-backup-vaults", "--profile", "source", "--debug")
	if !strings.Contains(res.stderr, `"GET /backup-vaults/ HTTP/1.1" 200`) {
		t.Errorf("the CLI's debug log shows no 200 for GET /backup-vaults/ (botocore's trailing-slash path)")
	}
	total := 0
	byName := map[string]vault{}
	for _, v := range list.BackupVaultList {
		total += v.NumberOfRecoveryPoints
		byName[v.BackupVaultName] = v
	}
	if len(list.BackupVaultList) < 12 || total != 500 {
		t.Errorf("source has %d vaults holding %d recovery points, want at least 12 holding 500", len(list.BackupVaultList), total)
	}
	if v := byName["legal-hold-airgapped"]; v.VaultType != "LOGICALLY_AIR_GAPPED_BACKUP_VAULT" {
		t.Errorf("legal-hold-airgapped = %+v, want a logically air-gapped vault", v)
	}

	const name = "prod-ebs-daily"
	var desc vault
	s.ok(t, &desc, "backup", "describe-backup-vault", "--backup-vault-name", name, "--profile", "source")
	if desc.BackupVaultArn != "arn:aws:backup:"+cliRegion+":"+cliSource+":backup-vault:"+name || desc.NumberOfRecoveryPoints != byName[name].NumberOfRecoveryPoints || desc.NumberOfRecoveryPoints < 20 {
		t.Fatalf("describe-backup-vault %s = %+v, listed as %+v", name, desc, byName[name])
	}
	n := desc.NumberOfRecoveryPoints

	type rp struct {
		RecoveryPointArn, ResourceArn, ResourceType, Status, StorageClass, BackupVaultName string
	}
	var full struct{ RecoveryPoints []rp }
	s.ok(t, &full, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name, "--profile", "source")
	if len(full.RecoveryPoints) != n {
		t.Errorf("full listing of %s has %d recovery points, NumberOfRecoveryPoints is %d", name, len(full.RecoveryPoints), n)
	}
	var paged struct{ RecoveryPoints []rp }
	res = s.ok(t, &paged, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name, "--page-size", "7", "--profile", "source", "--debug")
	if len(paged.RecoveryPoints) != n {
		t.Errorf("--page-size 7 listing of %s has %d recovery points, want %d", name, len(paged.RecoveryPoints), n)
	}
	pages := strings.Count(res.stderr, `"GET /backup-vaults/`+name+`/recovery-points/?maxResults=7`)
	if want := (n + 6) / 7; pages < want {
		t.Errorf("--page-size 7 made %d requests for %d recovery points, want at least %d", pages, n, want)
	}
	arns := func(l []rp) []string {
		out := make([]string, len(l))
		for i, r := range l {
			out[i] = r.RecoveryPointArn
		}
		return out
	}
	if !slices.Equal(arns(full.RecoveryPoints), arns(paged.RecoveryPoints)) {
		t.Errorf("the --page-size 7 listing differs from the full listing")
	}
	if a := arns(full.RecoveryPoints); len(slices.Compact(slices.Sorted(slices.Values(a)))) != len(a) {
		t.Errorf("the listing repeats recovery points")
	}

	var ebs struct{ RecoveryPoints []rp }
	s.ok(t, &ebs, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name, "--by-resource-type", "EBS", "--profile", "source")
	wantEBS := 0
	for _, r := range full.RecoveryPoints {
		if r.ResourceType == "EBS" {
			wantEBS++
		}
	}
	if len(ebs.RecoveryPoints) != wantEBS || wantEBS == 0 || wantEBS == n {
		t.Errorf("--by-resource-type EBS listed %d recovery points; the full listing has %d EBS of %d", len(ebs.RecoveryPoints), wantEBS, n)
	}
	for _, r := range ebs.RecoveryPoints {
		if r.ResourceType != "EBS" {
			t.Errorf("--by-resource-type EBS listed %s of type %s", r.RecoveryPointArn, r.ResourceType)
		}
	}
	if len(ebs.RecoveryPoints) == 0 {
		return
	}
	want := ebs.RecoveryPoints[len(ebs.RecoveryPoints)/2]
	if !strings.Contains(want.RecoveryPointArn, "/") {
		t.Fatalf("EBS recovery point ARN %s has no '/'", want.RecoveryPointArn)
	}
	var got rp
	s.ok(t, &got, "backup", "describe-recovery-point", "--backup-vault-name", name, "--recovery-point-arn", want.RecoveryPointArn, "--profile", "source")
	if got.RecoveryPointArn != want.RecoveryPointArn || got.ResourceArn != want.ResourceArn || got.BackupVaultName != name ||
		got.Status != want.Status || (got.StorageClass != "WARM" && got.StorageClass != "COLD") {
		t.Errorf("describe-recovery-point %s = %+v, listed as %+v", want.RecoveryPointArn, got, want)
	}
}

func cliTags(t *testing.T, s *cliServer) {
	arn := "arn:aws:backup:" + cliRegion + ":" + cliSource + ":backup-vault:prod-ebs-weekly"
	list := func() map[string]string {
		var out struct{ Tags map[string]string }
		s.ok(t, &out, "backup", "list-tags", "--resource-arn", arn, "--profile", "source")
		return out.Tags
	}
	if tags := list(); tags["Environment"] != "prod" || tags["cli-test"] != "" {
		t.Errorf("list-tags %s = %v, want the seeded Environment=prod and no cli-test", arn, tags)
	}
	s.ok(t, nil, "backup", "tag-resource", "--resource-arn", arn, "--tags", "cli-test=yes,cli-other=1", "--profile", "source")
	if tags := list(); tags["cli-test"] != "yes" || tags["cli-other"] != "1" || tags["Environment"] != "prod" {
		t.Errorf("after tag-resource, list-tags = %v", tags)
	}
	s.ok(t, nil, "backup", "untag-resource", "--resource-arn", arn, "--tag-key-list", "cli-test", "cli-other", "--profile", "source")
	if tags := list(); tags["cli-test"] != "" || tags["cli-other"] != "" || tags["Environment"] != "prod" {
		t.Errorf("after untag-resource, list-tags = %v", tags)
	}
}

func cliBackupJob(t *testing.T, s *cliServer) {
	resource := "arn:aws:ec2:" + cliRegion + ":" + cliSource + ":volume/vol-0c11a2b3c4d5e6f70"
	var started struct{ BackupJobId, RecoveryPointArn string }
	s.ok(t, &started, "backup", "start-backup-job", "--backup-vault-name", "Default", "--resource-arn", resource,
		"--iam-role-arn", cliCopyRole, "--idempotency-token", "cli-backup-1", "--profile", "source")
	if started.BackupJobId == "" || !strings.Contains(started.RecoveryPointArn, ":snapshot/snap-") {
		t.Fatalf("start-backup-job = %+v, want a job id and an EBS snapshot recovery point", started)
	}
	var job struct {
		BackupJobId, State, ResourceArn, ResourceType, RecoveryPointArn, BackupVaultName string
	}
	s.ok(t, &job, "backup", "describe-backup-job", "--backup-job-id", started.BackupJobId, "--profile", "source")
	if job.State != "COMPLETED" || job.RecoveryPointArn != started.RecoveryPointArn || job.ResourceArn != resource || job.ResourceType != "EBS" || job.BackupVaultName != "Default" {
		t.Errorf("describe-backup-job = %+v, started %+v", job, started)
	}
	var rp struct{ RecoveryPointArn, ResourceArn, Status string }
	s.ok(t, &rp, "backup", "describe-recovery-point", "--backup-vault-name", "Default", "--recovery-point-arn", started.RecoveryPointArn, "--profile", "source")
	if rp.RecoveryPointArn != started.RecoveryPointArn || rp.ResourceArn != resource || rp.Status != "COMPLETED" {
		t.Errorf("describe-recovery-point of the new backup = %+v", rp)
	}
}

func cliSettingsAndIAM(t *testing.T, s *cliServer) {
	var gs struct{ GlobalSettings map[string]string }
	s.ok(t, &gs, "backup", "describe-global-settings", "--profile", "source")
	if gs.GlobalSettings["isCrossAccountBackupEnabled"] != "true" {
		t.Errorf("describe-global-settings = %v, want cross-account backup enabled", gs.GlobalSettings)
	}
	var role struct {
		Role struct {
			RoleName, Arn, Path      string
			AssumeRolePolicyDocument any
		}
	}
	s.ok(t, &role, "iam", "get-role", "--role-name", "AWSBackupDefaultServiceRole", "--profile", "source")
	if role.Role.Arn != cliCopyRole || role.Role.Path != "/service-role/" || role.Role.RoleName != "AWSBackupDefaultServiceRole" ||
		!strings.Contains(fmt.Sprint(role.Role.AssumeRolePolicyDocument), "backup.amazonaws.com") {
		t.Errorf("iam get-role = %+v", role.Role)
	}
	// The simulator and enforcement agree: source-readonly may list but
	// not start a copy (Errors/CopyJob see the AccessDeniedException).
	var sim struct {
		EvaluationResults []struct{ EvalActionName, EvalDecision string }
	}
	s.ok(t, &sim, "iam", "simulate-principal-policy", "--policy-source-arn", "arn:aws:iam::"+cliSource+":role/ShuffleReadOnly",
		"--action-names", "backup:ListRecoveryPointsByBackupVault", "backup:StartCopyJob", "--profile", "source-readonly")
	got := map[string]string{}
	for _, r := range sim.EvaluationResults {
		got[r.EvalActionName] = r.EvalDecision
	}
	if got["backup:ListRecoveryPointsByBackupVault"] != "allowed" || got["backup:StartCopyJob"] != "implicitDeny" || len(got) != 2 {
		t.Errorf("simulate-principal-policy = %v, want List allowed and StartCopyJob implicitDeny", got)
	}
}

func cliErrors(t *testing.T, s *cliServer) {
	s.fails(t, "ResourceNotFoundException", "backup", "describe-backup-vault", "--backup-vault-name", "no-such-vault", "--profile", "source")

	creds, err := os.ReadFile(s.credFile)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(key, value string) string {
		re := regexp.MustCompile(`(?m)^` + key + ` = .*$`)
		path := filepath.Join(t.TempDir(), "credentials")
		if err := os.WriteFile(path, re.ReplaceAll(creds, []byte(key+" = "+value)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	wrongSecret := rewrite("aws_secret_access_key", "WrongSecretWrongSecretWrongSecretWrong12")
	s.failsWith(t, wrongSecret, "InvalidSignatureException", "backup", "list-backup-vaults", "--profile", "source")
	s.failsWith(t, wrongSecret, "SignatureDoesNotMatch", "sts", "get-caller-identity", "--profile", "source")
	unknownKey := rewrite("aws_access_key_id", "AKIACLITESTUNKNOWN")
	s.failsWith(t, unknownKey, "UnrecognizedClientException", "backup", "list-backup-vaults", "--profile", "source")
	s.failsWith(t, unknownKey, "InvalidClientTokenId", "sts", "get-caller-identity", "--profile", "source")
}

func cliCopyJob(t *testing.T, s *cliServer) {
	const name = "cli-copy-dest"
	destArn := "arn:aws:backup:" + cliRegion + ":" + cliDestination + ":backup-vault:" + name
	var created struct{ BackupVaultName, BackupVaultArn string }
	s.ok(t, &created, "backup", "create-backup-vault", "--backup-vault-name", name, "--backup-vault-tags", "Purpose=cli-test",
		"--creator-request-id", "cli-copy-dest-1", "--profile", "destination")
	if created.BackupVaultArn != destArn || created.BackupVaultName != name {
		t.Fatalf("create-backup-vault = %+v, want ARN %s", created, destArn)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowSourceCopies","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + cliSource + `:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`
	s.ok(t, nil, "backup", "put-backup-vault-access-policy", "--backup-vault-name", name, "--policy", policy, "--profile", "destination")
	var pol struct{ Policy, BackupVaultArn string }
	s.ok(t, &pol, "backup", "get-backup-vault-access-policy", "--backup-vault-name", name, "--profile", "destination")
	if pol.Policy != policy || pol.BackupVaultArn != destArn {
		t.Errorf("get-backup-vault-access-policy = %+v, want the policy put", pol)
	}
	topic := "arn:aws:sns:" + cliRegion + ":" + cliDestination + ":cli-copy-events"
	s.ok(t, nil, "backup", "put-backup-vault-notifications", "--backup-vault-name", name, "--sns-topic-arn", topic,
		"--backup-vault-events", "COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL", "COPY_JOB_FAILED", "--profile", "destination")
	var notif struct {
		SNSTopicArn       string
		BackupVaultEvents []string
	}
	s.ok(t, &notif, "backup", "get-backup-vault-notifications", "--backup-vault-name", name, "--profile", "destination")
	if notif.SNSTopicArn != topic || !slices.Equal(notif.BackupVaultEvents, []string{"COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL", "COPY_JOB_FAILED"}) {
		t.Errorf("get-backup-vault-notifications = %+v", notif)
	}
	s.ok(t, nil, "backup", "put-backup-vault-lock-configuration", "--backup-vault-name", name, "--min-retention-days", "7", "--max-retention-days", "3650", "--profile", "destination")
	var desc struct {
		Locked                             bool
		MinRetentionDays, MaxRetentionDays int
	}
	s.ok(t, &desc, "backup", "describe-backup-vault", "--backup-vault-name", name, "--profile", "destination")
	if !desc.Locked || desc.MinRetentionDays != 7 || desc.MaxRetentionDays != 3650 {
		t.Errorf("after put-backup-vault-lock-configuration, describe-backup-vault = %+v", desc)
	}
	s.fails(t, "AccessDeniedException", "backup", "delete-backup-vault-lock-configuration", "--backup-vault-name", name, "--profile", "destination-nolock")
	s.ok(t, nil, "backup", "delete-backup-vault-lock-configuration", "--backup-vault-name", name, "--profile", "destination")

	// A warm, completed EBS recovery point under a customer managed key.
	var list struct {
		RecoveryPoints []struct {
			RecoveryPointArn, Status, EncryptionKeyType string
			CreationDate                                float64
			Lifecycle                                   struct{ DeleteAfterDays, MoveToColdStorageAfterDays *int }
		}
	}
	s.ok(t, &list, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "prod-ebs-daily", "--by-resource-type", "EBS", "--profile", "source-readonly")
	var rpArn string
	var rpCreated float64
	for _, r := range list.RecoveryPoints {
		if r.Status == "COMPLETED" && r.EncryptionKeyType == "CUSTOMER_MANAGED_KMS_KEY" && r.Lifecycle.MoveToColdStorageAfterDays == nil {
			rpArn, rpCreated = r.RecoveryPointArn, r.CreationDate
			break
		}
	}
	if rpArn == "" {
		t.Fatalf("no copyable EBS recovery point among %d in prod-ebs-daily", len(list.RecoveryPoints))
	}
	startArgs := []string{"backup", "start-copy-job", "--recovery-point-arn", rpArn, "--source-backup-vault-name", "prod-ebs-daily",
		"--destination-backup-vault-arn", destArn, "--iam-role-arn", cliCopyRole, "--idempotency-token", "cli-copy-1"}
	s.fails(t, "AccessDeniedException", append(startArgs, "--profile", "source-readonly")...)
	var job1, job2 struct{ CopyJobId string }
	s.ok(t, &job1, append(startArgs, "--profile", "source")...)
	s.ok(t, &job2, append(startArgs, "--profile", "source")...)
	if job1.CopyJobId == "" || job2.CopyJobId != job1.CopyJobId {
		t.Fatalf("start-copy-job twice with one idempotency token gave jobs %q and %q, want one job", job1.CopyJobId, job2.CopyJobId)
	}
	type copyJob struct {
		CopyJobId, State, StatusMessage, SourceRecoveryPointArn, DestinationBackupVaultArn, DestinationRecoveryPointArn, DestinationVaultLockState string
	}
	var cj struct{ CopyJob copyJob }
	for i := 0; ; i++ {
		s.ok(t, &cj, "backup", "describe-copy-job", "--copy-job-id", job1.CopyJobId, "--profile", "source")
		if cj.CopyJob.State == "COMPLETED" || cj.CopyJob.State == "FAILED" || i == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	j := cj.CopyJob
	if j.State != "COMPLETED" || j.SourceRecoveryPointArn != rpArn || j.DestinationBackupVaultArn != destArn ||
		j.DestinationRecoveryPointArn == "" || j.DestinationVaultLockState != "UNLOCKED" {
		t.Fatalf("describe-copy-job = %+v, want COMPLETED into the unlocked %s", j, destArn)
	}
	var jobs struct{ CopyJobs []copyJob }
	s.ok(t, &jobs, "backup", "list-copy-jobs", "--by-state", "COMPLETED", "--by-destination-vault-arn", destArn, "--profile", "source")
	if len(jobs.CopyJobs) != 1 || jobs.CopyJobs[0].CopyJobId != job1.CopyJobId {
		t.Errorf("list-copy-jobs --by-state COMPLETED --by-destination-vault-arn %s = %+v, want only job %s", destArn, jobs.CopyJobs, job1.CopyJobId)
	}
	var dest struct {
		RecoveryPoints []struct {
			RecoveryPointArn, SourceBackupVaultArn string
			CreationDate                           float64
		}
	}
	s.ok(t, &dest, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name, "--profile", "destination")
	if len(dest.RecoveryPoints) != 1 || dest.RecoveryPoints[0].RecoveryPointArn != j.DestinationRecoveryPointArn ||
		dest.RecoveryPoints[0].CreationDate != rpCreated || !strings.HasSuffix(dest.RecoveryPoints[0].SourceBackupVaultArn, ":backup-vault:prod-ebs-daily") {
		t.Errorf("destination vault holds %+v, want the one copy %s keeping creation date %v", dest.RecoveryPoints, j.DestinationRecoveryPointArn, rpCreated)
	}

	// Job history that lapsed (--copy-job-retention, or live through the
	// admin API): the CLI lists no job and cannot describe it, while the
	// copy stays in the destination vault.
	var mem map[string]string
	s.admin(t, "PUT", "/_testenv/memory", `{"copy_job_retention":"none"}`, &mem)
	if mem["copy_job_retention"] != "none" || mem["idempotency_memory"] != "forever" {
		t.Errorf("PUT /_testenv/memory = %v, want copy_job_retention none and idempotency_memory unchanged", mem)
	}
	defer s.admin(t, "PUT", "/_testenv/memory", `{"copy_job_retention":"forever"}`, nil)
	jobs.CopyJobs = nil
	s.ok(t, &jobs, "backup", "list-copy-jobs", "--by-destination-vault-arn", destArn, "--profile", "source")
	if len(jobs.CopyJobs) != 0 {
		t.Errorf("list-copy-jobs with no job history = %+v, want none", jobs.CopyJobs)
	}
	s.fails(t, "ResourceNotFoundException", "backup", "describe-copy-job", "--copy-job-id", job1.CopyJobId, "--profile", "source")
	s.ok(t, &dest, "backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", name, "--profile", "destination")
	if len(dest.RecoveryPoints) != 1 || dest.RecoveryPoints[0].RecoveryPointArn != j.DestinationRecoveryPointArn {
		t.Errorf("with no job history the destination vault holds %+v, want the copy %s still", dest.RecoveryPoints, j.DestinationRecoveryPointArn)
	}
}

// cliPrepareExpiry checks that session credentials work, stops their
// rotation and returns when the credentials in the file lapse.
func cliPrepareExpiry(t *testing.T, s *cliServer) time.Time {
	t.Helper()
	if creds := cliReadCredentials(t, s.credFile); creds["source"]["aws_session_token"] == "" || creds["source"]["x_security_token_expires"] == "" {
		t.Fatalf("with --token-ttl, %s lacks aws_session_token or x_security_token_expires: %v", s.credFile, creds["source"])
	}
	// Fresh credentials, so that they outlive the CLI call on a busy machine.
	s.admin(t, "POST", "/_testenv/rotate", "", nil)
	var id struct{ Account string }
	s.ok(t, &id, "sts", "get-caller-identity", "--profile", "source")
	if id.Account != cliSource {
		t.Fatalf("with session credentials, GetCallerIdentity account = %q", id.Account)
	}
	s.admin(t, "POST", "/_testenv/rotation", `{"enabled":false}`, nil)
	// A rotation already under way may still rewrite the file once.
	time.Sleep(300 * time.Millisecond)
	var latest time.Time
	for p, kv := range cliReadCredentials(t, s.credFile) {
		exp, err := time.Parse(time.RFC3339, kv["x_security_token_expires"])
		if err != nil {
			t.Fatalf("profile %s: x_security_token_expires: %v", p, err)
		}
		if exp.After(latest) {
			latest = exp
		}
	}
	return latest.Add(200 * time.Millisecond)
}

func cliReadCredentials(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var sec map[string]string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			sec = map[string]string{}
			out[strings.Trim(line, "[]")] = sec
		case sec != nil && strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			sec[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// ---- the subprocess and the CLI ----

// cliServer is one `shuffle testenv up` subprocess.
type cliServer struct {
	url, dir, awsPath, home string
	configFile, credFile    string
	calls                   atomic.Int64
}

func cliBuildShuffle(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH, needed to build shuffle: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "shuffle")
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/shuffle-migrate/shuffle/cmd/shuffle").CombinedOutput()
	if err != nil {
		t.Fatalf("go build shuffle: %v\n%s", err, out)
	}
	return bin
}

var cliReadyRE = regexp.MustCompile(`testenv ready at (http://\S+) `)

// lineWatch captures output and reports the first match of re.
type lineWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	done  bool
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.re != nil && !w.done {
		if m := w.re.FindSubmatch(w.buf.Bytes()); m != nil {
			w.done = true
			w.found <- string(m[1])
		}
	}
	return len(p), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// cliStart runs `shuffle testenv up` on a free port until the test ends.
func cliStart(t *testing.T, bin, awsPath, home string, args ...string) *cliServer {
	t.Helper()
	dir := t.TempDir()
	if !slices.Contains(args, "--sso-cache") {
		// Not the developer's ~/.aws/sso/cache, nor one servers share.
		args = append(args, "--sso-cache", t.TempDir())
	}
	stdout := &lineWatch{re: cliReadyRE, found: make(chan string, 1)}
	stderr := &lineWatch{}
	cmd := exec.Command(bin, append([]string{"testenv", "up", "--dir", dir, "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("shuffle testenv up exited with %v after SIGINT; stderr:\n%s", err, stderr)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("shuffle testenv up did not stop within 10s of SIGINT")
		}
	})
	s := &cliServer{dir: dir, awsPath: awsPath, home: home}
	select {
	case s.url = <-stdout.found:
	case err := <-exited:
		t.Fatalf("shuffle testenv up %v exited early (%v); stdout:\n%s\nstderr:\n%s", args, err, stdout, stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("shuffle testenv up %v printed no ready line within 60s; stdout:\n%s\nstderr:\n%s", args, stdout, stderr)
	}
	// The env file is what an operator sources; take the two paths from it.
	envFile, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(envFile), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		switch k {
		case "AWS_CONFIG_FILE":
			s.configFile = v
		case "AWS_SHARED_CREDENTIALS_FILE":
			s.credFile = v
		}
	}
	if s.configFile == "" || s.credFile == "" {
		t.Fatalf("%s/env does not export AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE:\n%s", dir, envFile)
	}
	cfg, err := os.ReadFile(s.configFile)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := strings.Count(string(cfg), "\nendpoint_url = "+s.url+"\n"), strings.Count(string(cfg), "[profile "); n != want || n < 9 {
		t.Fatalf("%s has %d profiles with endpoint_url = %s, want all %d (at least 9):\n%s", s.configFile, n, s.url, want, cfg)
	}
	if _, err := os.Stat(filepath.Join(dir, "metadata.csv")); err != nil {
		t.Fatal(err)
	}
	return s
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// run runs aws with only the two AWS_* variables the env file sets.
func (s *cliServer) run(t *testing.T, credFile string, args ...string) cliResult {
	t.Helper()
	s.calls.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.awsPath, append(args, "--output", "json")...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "HOME" || strings.EqualFold(k, "http_proxy") || strings.EqualFold(k, "https_proxy") || strings.EqualFold(k, "all_proxy") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "HOME="+s.home, "AWS_CONFIG_FILE="+s.configFile, "AWS_SHARED_CREDENTIALS_FILE="+credFile)
	cmd.Dir = s.home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// ok runs aws, requires success and decodes its JSON output into v.
func (s *cliServer) ok(t *testing.T, v any, args ...string) cliResult {
	t.Helper()
	res := s.run(t, s.credFile, args...)
	if res.code != 0 {
		t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), res.code, cliTail(res.stderr))
	}
	if v != nil {
		if err := json.Unmarshal([]byte(res.stdout), v); err != nil {
			t.Fatalf("aws %s: output is not the JSON expected: %v\n%s", strings.Join(args, " "), err, res.stdout)
		}
	}
	return res
}

// fails runs aws and requires a non-zero exit with the error code on stderr.
func (s *cliServer) fails(t *testing.T, code string, args ...string) {
	t.Helper()
	s.failsWith(t, s.credFile, code, args...)
}

func (s *cliServer) failsWith(t *testing.T, credFile, code string, args ...string) {
	t.Helper()
	res := s.run(t, credFile, args...)
	if res.code == 0 || !strings.Contains(res.stderr, "An error occurred ("+code+")") {
		t.Errorf("aws %s: exit %d, stderr %q; want a non-zero exit and %q", strings.Join(args, " "), res.code, cliTail(res.stderr), "An error occurred ("+code+")")
	}
}

// admin calls the emulator's admin API.
func (s *cliServer) admin(t *testing.T, method, path, body string, v any) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func cliTail(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
