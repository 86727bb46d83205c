package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

func TestPrincipalARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111111111111:assumed-role/ShuffleOperator/shuffle": "arn:aws:iam::111111111111:role/ShuffleOperator",
		"arn:aws:iam::111111111111:user/alice":                           "arn:aws:iam::111111111111:user/alice",
	} {
		if got := PrincipalARN(in); got != want {
			t.Errorf("PrincipalARN(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeAccount answers the checks' calls for one account from fields.
type fakeAccount struct {
	account string
	denied  map[string]bool // IAM actions the simulation denies
	simErr  error           // SimulatePrincipalPolicy fails with it
	noRole  bool
	crossOK bool
	policy  string                                   // every destination vault's access policy
	rps     []backuptypes.RecoveryPointByBackupVault // every vault's recovery points
}

func (f *fakeAccount) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Account: aws.String(f.account), Arn: aws.String("arn:aws:sts::" + f.account + ":assumed-role/Operator/s")}, nil
}

func (f *fakeAccount) SimulatePrincipalPolicy(_ context.Context, in *iam.SimulatePrincipalPolicyInput, _ ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	if f.simErr != nil {
		return nil, f.simErr
	}
	out := &iam.SimulatePrincipalPolicyOutput{}
	for _, a := range in.ActionNames {
		d := iamtypes.PolicyEvaluationDecisionTypeAllowed
		if f.denied[a] {
			d = iamtypes.PolicyEvaluationDecisionTypeImplicitDeny
		}
		out.EvaluationResults = append(out.EvaluationResults, iamtypes.EvaluationResult{EvalActionName: aws.String(a), EvalDecision: d})
	}
	return out, nil
}

func (f *fakeAccount) GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if f.noRole {
		return nil, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no role"}
	}
	return &iam.GetRoleOutput{}, nil
}

func (f *fakeAccount) DescribeGlobalSettings(context.Context, *backup.DescribeGlobalSettingsInput, ...func(*backup.Options)) (*backup.DescribeGlobalSettingsOutput, error) {
	v := "false"
	if f.crossOK {
		v = "true"
	}
	return &backup.DescribeGlobalSettingsOutput{GlobalSettings: map[string]string{"isCrossAccountBackupEnabled": v}}, nil
}

func (f *fakeAccount) ListBackupVaults(context.Context, *backup.ListBackupVaultsInput, ...func(*backup.Options)) (*backup.ListBackupVaultsOutput, error) {
	return &backup.ListBackupVaultsOutput{BackupVaultList: []backuptypes.BackupVaultListMember{{BackupVaultName: aws.String("v1"), BackupVaultArn: aws.String("arn:aws:backup:us-east-1:" + f.account + ":backup-vault:v1")}}}, nil
}

func (f *fakeAccount) ListRecoveryPointsByBackupVault(context.Context, *backup.ListRecoveryPointsByBackupVaultInput, ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	return &backup.ListRecoveryPointsByBackupVaultOutput{RecoveryPoints: f.rps}, nil
}

func (f *fakeAccount) ListCopyJobs(context.Context, *backup.ListCopyJobsInput, ...func(*backup.Options)) (*backup.ListCopyJobsOutput, error) {
	return &backup.ListCopyJobsOutput{}, nil
}

func (f *fakeAccount) GetBackupVaultAccessPolicy(context.Context, *backup.GetBackupVaultAccessPolicyInput, ...func(*backup.Options)) (*backup.GetBackupVaultAccessPolicyOutput, error) {
	return &backup.GetBackupVaultAccessPolicyOutput{Policy: aws.String(f.policy)}, nil
}

func (f *fakeAccount) clients() Clients {
	return Clients{Identity: f, Simulator: f, Roles: f, Backup: f}
}

func fakeConfig() scriptconfig.Config {
	return scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Profile: "src", Account: "111111111111", Region: "us-east-1"},
		Destination: scriptconfig.Endpoint{Profile: "dst", Account: "222222222222", Region: "us-east-1"},
		CopyRole:    "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
	}
}

const copyPolicy = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`

func run(src, dst *fakeAccount) ([]finding.Finding, bool) {
	fs, usable, err := Run(context.Background(), Input{Config: fakeConfig(), Source: src.clients(), Destination: dst.clients(), KeyRule: testRule{}})
	if err != nil {
		panic(err) // the fakes answer every call
	}
	return fs, usable
}

func blocking(fs []finding.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		if f.Severity == finding.Blocking {
			m[string(f.Account)+" "+f.Check+" "+f.Action] = true
		}
	}
	return m
}

func TestRunWithFakes(t *testing.T) {
	ok := func() (*fakeAccount, *fakeAccount) {
		return &fakeAccount{account: "111111111111", crossOK: true}, &fakeAccount{account: "222222222222", crossOK: true, policy: copyPolicy}
	}
	src, dst := ok()
	if fs, usable := run(src, dst); !usable || finding.AnyBlocking(fs) {
		t.Fatalf("healthy accounts: usable %v, blocking %v", usable, blocking(fs))
	}

	src, dst = ok()
	src.denied = map[string]bool{"backup:StartCopyJob": true}
	src.noRole = true
	dst.crossOK = false
	dst.policy = `{"Statement":[{"Sid":"NoCopy","Effect":"Deny","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`
	fs, _ := run(src, dst)
	b := blocking(fs)
	for _, want := range []string{"source permissions backup:StartCopyJob", "source copy-role ", "destination global-settings ", "destination vault-policy backup:CopyIntoBackupVault"} {
		if !b[want] {
			t.Errorf("no blocking finding %q in %v", want, b)
		}
	}

	src, dst = ok()
	dst.account = "333333333333"
	if fs, usable := run(src, dst); usable || !blocking(fs)["destination account "] {
		t.Errorf("wrong destination account: usable %v, blocking %v", usable, blocking(fs))
	}

	src, dst = ok()
	src.simErr = &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	fs, _ = run(src, dst)
	probes := 0
	for _, f := range fs {
		if f.Check == "probe" && f.Account == finding.SideSource && strings.Contains(f.What, "succeeded") {
			probes++
		}
	}
	if !blocking(fs)["source permissions iam:SimulatePrincipalPolicy"] || probes != 2 {
		t.Errorf("denied simulation: blocking %v, %d successful probes, want the fallback to 2 probes", blocking(fs), probes)
	}
}
