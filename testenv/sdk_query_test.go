package testenv_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func TestSDKGetCallerIdentity(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	want := map[string][2]string{
		testenv.ProfileSource:            {testenv.SourceAccount, "ShuffleOperator"},
		testenv.ProfileDestination:       {testenv.DestinationAccount, "ShuffleOperator"},
		testenv.ProfileSourceReadOnly:    {testenv.SourceAccount, "ShuffleReadOnly"},
		testenv.ProfileDestinationNoLock: {testenv.DestinationAccount, "ShuffleOperatorNoLock"},
		testenv.ProfileSourceBase:        {testenv.SourceAccount, "ShuffleBase"},
	}
	if names := testenv.ProfileNames(); len(names) != len(want) {
		t.Fatalf("profiles %v", names)
	}
	userIDs := map[string]bool{}
	for _, p := range testenv.ProfileNames() {
		out, err := sdkSTS(t, env, p).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
		sdkNoErr(t, err, "GetCallerIdentity "+p)
		acct, role := want[p][0], want[p][1]
		if aws.ToString(out.Account) != acct {
			t.Errorf("%s: Account %q, want %s", p, aws.ToString(out.Account), acct)
		}
		if got, w := aws.ToString(out.Arn), "arn:aws:sts::"+acct+":assumed-role/"+role+"/shuffle"; got != w {
			t.Errorf("%s: Arn %q, want %q", p, got, w)
		}
		uid := aws.ToString(out.UserId)
		if !strings.HasPrefix(uid, "AROA") || !strings.HasSuffix(uid, ":shuffle") {
			t.Errorf("%s: UserId %q, want AROA...:shuffle", p, uid)
		}
		userIDs[uid] = true
	}
	if len(userIDs) != len(want) {
		t.Errorf("the profiles share user ids: %v", userIDs)
	}
	// GetCallerIdentity needs no permission.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceReadOnly, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`}), "SetPolicies")
	_, err := sdkSTS(t, env, testenv.ProfileSourceReadOnly).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkNoErr(t, err, "GetCallerIdentity with a deny-all policy")
}

func TestSDKGetRole(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	src := sdkIAM(t, env, testenv.ProfileSource)

	out, err := src.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("AWSBackupDefaultServiceRole")})
	sdkNoErr(t, err, "GetRole")
	r := out.Role
	if aws.ToString(r.Arn) != testenv.CopyRoleArn || aws.ToString(r.Path) != "/service-role/" || aws.ToString(r.RoleName) != "AWSBackupDefaultServiceRole" {
		t.Errorf("copy role: arn %q path %q name %q", aws.ToString(r.Arn), aws.ToString(r.Path), aws.ToString(r.RoleName))
	}
	if !strings.HasPrefix(aws.ToString(r.RoleId), "AROA") || r.CreateDate == nil || r.CreateDate.IsZero() || aws.ToInt32(r.MaxSessionDuration) != 3600 {
		t.Errorf("copy role: id %q created %v max session %d", aws.ToString(r.RoleId), r.CreateDate, aws.ToInt32(r.MaxSessionDuration))
	}
	trust, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil || !strings.Contains(trust, `"Service":"backup.amazonaws.com"`) {
		t.Errorf("trust policy %q (%v) should let AWS Backup assume the role", trust, err)
	}

	op, err := src.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
	sdkNoErr(t, err, "GetRole ShuffleOperator")
	if aws.ToString(op.Role.Arn) != "arn:aws:iam::111111111111:role/ShuffleOperator" || aws.ToString(op.Role.Path) != "/" {
		t.Errorf("ShuffleOperator: %q %q", aws.ToString(op.Role.Arn), aws.ToString(op.Role.Path))
	}

	_, err = src.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("NoSuchRole")})
	nse := sdkWantTyped[*iamtypes.NoSuchEntityException](t, err, 404)
	if !strings.Contains(nse.ErrorMessage(), "NoSuchRole") {
		t.Errorf("NoSuchEntity message %q", nse.ErrorMessage())
	}
	// Roles are per account.
	_, err = src.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleReadOnly")})
	sdkNoErr(t, err, "GetRole ShuffleReadOnly in the source account")
	dst := sdkIAM(t, env, testenv.ProfileDestination)
	_, err = dst.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleReadOnly")})
	sdkWantTyped[*iamtypes.NoSuchEntityException](t, err, 404)
	d, err := dst.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("AWSBackupDefaultServiceRole")})
	sdkNoErr(t, err, "GetRole in the destination")
	if aws.ToString(d.Role.Arn) != "arn:aws:iam::222222222222:role/service-role/AWSBackupDefaultServiceRole" {
		t.Errorf("destination copy role ARN %q", aws.ToString(d.Role.Arn))
	}

	// Without iam:GetRole the call is denied, in the query protocol's code.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceReadOnly, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"}]}`}), "SetPolicies")
	_, err = sdkIAM(t, env, testenv.ProfileSourceReadOnly).GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
	if msg := sdkWantErr(t, err, "AccessDenied", 403); !strings.Contains(msg, "iam:GetRole") {
		t.Errorf("AccessDenied message %q", msg)
	}
}

func TestSDKSimulatePrincipalPolicy(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	passCtx := []iamtypes.ContextEntry{{ContextKeyName: aws.String("iam:PassedToService"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{"backup.amazonaws.com"}}}
	simulate := func(profile, source string, actions, resources []string, ctx []iamtypes.ContextEntry) []iamtypes.EvaluationResult {
		t.Helper()
		out, err := sdkIAM(t, env, profile).SimulatePrincipalPolicy(sdkCtx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(source), ActionNames: actions, ResourceArns: resources, ContextEntries: ctx})
		sdkNoErr(t, err, "SimulatePrincipalPolicy "+profile)
		if out.IsTruncated {
			t.Error("SimulatePrincipalPolicy result truncated")
		}
		if len(out.EvaluationResults) != len(actions)*max(len(resources), 1) {
			t.Fatalf("%d evaluation results for %d actions x %d resources", len(out.EvaluationResults), len(actions), len(resources))
		}
		return out.EvaluationResults
	}
	decisions := func(rs []iamtypes.EvaluationResult) map[string]iamtypes.PolicyEvaluationDecisionType {
		m := map[string]iamtypes.PolicyEvaluationDecisionType{}
		for _, r := range rs {
			m[aws.ToString(r.EvalActionName)] = r.EvalDecision
		}
		return m
	}
	const srcRole = "arn:aws:iam::111111111111:role/ShuffleOperator"

	// The source operator may copy and pass the copy role to AWS Backup.
	rs := simulate(testenv.ProfileSource, srcRole, []string{"backup:StartCopyJob", "iam:PassRole"}, []string{testenv.CopyRoleArn}, passCtx)
	if d := decisions(rs); d["backup:StartCopyJob"] != iamtypes.PolicyEvaluationDecisionTypeAllowed || d["iam:PassRole"] != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("source with iam:PassedToService: %v", d)
	}
	for _, r := range rs {
		if len(r.MatchedStatements) == 0 || aws.ToString(r.MatchedStatements[0].SourcePolicyId) == "" || r.MatchedStatements[0].StartPosition == nil {
			t.Errorf("%s allowed without a matched statement: %+v", aws.ToString(r.EvalActionName), r.MatchedStatements)
		}
		if aws.ToString(r.EvalResourceName) != testenv.CopyRoleArn {
			t.Errorf("EvalResourceName %q", aws.ToString(r.EvalResourceName))
		}
	}
	// Without the context key PassRole's condition cannot match.
	rs = simulate(testenv.ProfileSource, srcRole, []string{"iam:PassRole"}, []string{testenv.CopyRoleArn}, nil)
	if rs[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || !slices.Contains(rs[0].MissingContextValues, "iam:PassedToService") {
		t.Errorf("PassRole without context: %s missing %v", rs[0].EvalDecision, rs[0].MissingContextValues)
	}
	// Another role may not be passed.
	rs = simulate(testenv.ProfileSource, srcRole, []string{"iam:PassRole"}, []string{"arn:aws:iam::111111111111:role/SomeOtherRole"}, passCtx)
	if rs[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Errorf("PassRole of another role: %s", rs[0].EvalDecision)
	}

	// source-readonly: implicit deny on both.
	rs = simulate(testenv.ProfileSourceReadOnly, "arn:aws:iam::111111111111:role/ShuffleReadOnly", []string{"backup:StartCopyJob", "iam:PassRole", "backup:ListRecoveryPointsByBackupVault"}, []string{testenv.CopyRoleArn}, passCtx)
	if d := decisions(rs); d["backup:StartCopyJob"] != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny ||
		d["iam:PassRole"] != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny ||
		d["backup:ListRecoveryPointsByBackupVault"] != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("source-readonly: %v", d)
	}

	// destination-nolock: explicit deny on the lock, by the NoVaultLock statement.
	rs = simulate(testenv.ProfileDestinationNoLock, "arn:aws:iam::222222222222:role/ShuffleOperatorNoLock",
		[]string{"backup:PutBackupVaultLockConfiguration", "backup:CreateBackupVault"}, []string{"arn:aws:backup:us-east-1:222222222222:backup-vault:x"}, nil)
	d := decisions(rs)
	if d["backup:PutBackupVaultLockConfiguration"] != iamtypes.PolicyEvaluationDecisionTypeExplicitDeny || d["backup:CreateBackupVault"] != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("destination-nolock: %v", d)
	}
	for _, r := range rs {
		if r.EvalDecision == iamtypes.PolicyEvaluationDecisionTypeExplicitDeny && len(r.MatchedStatements) != 1 {
			t.Errorf("explicit deny matched %d statements, want the one Deny", len(r.MatchedStatements))
		}
	}

	// The caller's session ARN names its role too; no resources means "*".
	who, err := sdkSTS(t, env, testenv.ProfileDestination).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkNoErr(t, err, "GetCallerIdentity")
	rs = simulate(testenv.ProfileDestination, aws.ToString(who.Arn), []string{"backup:PutBackupVaultLockConfiguration"}, nil, nil)
	if rs[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || aws.ToString(rs[0].EvalResourceName) != "*" {
		t.Errorf("destination via session ARN: %s on %q", rs[0].EvalDecision, aws.ToString(rs[0].EvalResourceName))
	}

	// Unknown principals and principals of another account.
	_, err = sdkIAM(t, env, testenv.ProfileSource).SimulatePrincipalPolicy(sdkCtx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::111111111111:role/Nobody"), ActionNames: []string{"backup:ListBackupVaults"}})
	sdkWantTyped[*iamtypes.NoSuchEntityException](t, err, 404)
	_, err = sdkIAM(t, env, testenv.ProfileSource).SimulatePrincipalPolicy(sdkCtx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::222222222222:role/ShuffleOperator"), ActionNames: []string{"backup:ListBackupVaults"}})
	sdkWantTyped[*iamtypes.NoSuchEntityException](t, err, 404)
}

// TestSDKSimulateAgreesWithEnforcement asks SimulatePrincipalPolicy about
// each profile and action, then makes the real call: a permission check
// must never disagree with enforcement.
func TestSDKSimulateAgreesWithEnforcement(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	passCtx := []iamtypes.ContextEntry{{ContextKeyName: aws.String("iam:PassedToService"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{"backup.amazonaws.com"}}}
	rpArn := "arn:aws:backup:us-east-1:111111111111:recovery-point:00000000-0000-4000-8000-000000000000"

	type check struct {
		name      string
		actions   []string // all must be allowed for the call to pass
		resources func(acct string) []string
		call      func(c *backup.Client, profile string) error
	}
	vaultArn := func(acct string) []string {
		return []string{"arn:aws:backup:us-east-1:" + acct + ":backup-vault:sdk-sim-missing"}
	}
	checks := []check{
		{"ListBackupVaults", []string{"backup:ListBackupVaults"}, func(string) []string { return []string{"*"} },
			func(c *backup.Client, _ string) error {
				_, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
				return err
			}},
		{"PutBackupVaultLockConfiguration", []string{"backup:PutBackupVaultLockConfiguration"}, vaultArn,
			func(c *backup.Client, _ string) error {
				_, err := c.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("sdk-sim-missing"), MinRetentionDays: aws.Int64(7)})
				return err
			}},
		{"CreateBackupVault", []string{"backup:CreateBackupVault"}, func(acct string) []string {
			return []string{"arn:aws:backup:us-east-1:" + acct + ":backup-vault:sdk-sim-new"}
		},
			func(c *backup.Client, _ string) error {
				_, err := c.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-sim-new")})
				return err
			}},
		{"GetBackupVaultAccessPolicy", []string{"backup:GetBackupVaultAccessPolicy"}, vaultArn,
			func(c *backup.Client, _ string) error {
				_, err := c.GetBackupVaultAccessPolicy(sdkCtx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String("sdk-sim-missing")})
				return err
			}},
		{"StartCopyJob+PassRole", []string{"backup:StartCopyJob", "iam:PassRole"}, nil,
			func(c *backup.Client, _ string) error {
				_, err := c.StartCopyJob(sdkCtx, &backup.StartCopyJobInput{RecoveryPointArn: aws.String(rpArn), SourceBackupVaultName: aws.String("sdk-sim-missing"),
					DestinationBackupVaultArn: aws.String("arn:aws:backup:us-east-1:222222222222:backup-vault:prod-rds-monthly"), IamRoleArn: aws.String(testenv.CopyRoleArn)})
				return err
			}},
		{"DescribeGlobalSettings", []string{"backup:DescribeGlobalSettings"}, func(string) []string { return []string{"*"} },
			func(c *backup.Client, _ string) error {
				_, err := c.DescribeGlobalSettings(sdkCtx, &backup.DescribeGlobalSettingsInput{})
				return err
			}},
	}
	accounts := map[string]string{
		testenv.ProfileSource: testenv.SourceAccount, testenv.ProfileSourceReadOnly: testenv.SourceAccount,
		testenv.ProfileDestination: testenv.DestinationAccount, testenv.ProfileDestinationNoLock: testenv.DestinationAccount,
	}
	got := map[string]bool{}
	for _, p := range testenv.ProfileNames() {
		if p == testenv.ProfileSourceBase {
			continue // its role may assume roles and nothing else, not even simulate
		}
		who, err := sdkSTS(t, env, p).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
		sdkNoErr(t, err, "GetCallerIdentity")
		ic := sdkIAM(t, env, p)
		bc := sdkBackup(t, env, p)
		for _, ck := range checks {
			allowed := true
			for _, action := range ck.actions {
				var res []string
				switch {
				case action == "iam:PassRole":
					res = []string{testenv.CopyRoleArn}
				case action == "backup:StartCopyJob":
					res = []string{rpArn}
				default:
					res = ck.resources(accounts[p])
				}
				out, err := ic.SimulatePrincipalPolicy(sdkCtx, &iam.SimulatePrincipalPolicyInput{
					PolicySourceArn: who.Arn, ActionNames: []string{action}, ResourceArns: res, ContextEntries: passCtx})
				sdkNoErr(t, err, "SimulatePrincipalPolicy")
				if out.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
					allowed = false
				}
			}
			err := ck.call(bc, p)
			denied := sdkAPICode(err) == "AccessDeniedException"
			if allowed == denied {
				t.Errorf("%s %s: simulation says allowed=%v, the call returned %v", p, ck.name, allowed, err)
			}
			if denied {
				sdkWantErr(t, err, "AccessDeniedException", 403)
			}
			got[fmt.Sprintf("%s %s", p, ck.name)] = allowed
		}
	}
	// And the simulation says what the profiles are meant to allow.
	for key, want := range map[string]bool{
		"source StartCopyJob+PassRole":                       true,
		"source-readonly StartCopyJob+PassRole":              false,
		"destination StartCopyJob+PassRole":                  false, // no iam:PassRole
		"destination PutBackupVaultLockConfiguration":        true,
		"destination-nolock PutBackupVaultLockConfiguration": false,
		"destination-nolock CreateBackupVault":               true,
		"source CreateBackupVault":                           false,
		"source-readonly ListBackupVaults":                   true,
		"source-readonly GetBackupVaultAccessPolicy":         true,
		"source-readonly PutBackupVaultLockConfiguration":    false,
		"destination-nolock GetBackupVaultAccessPolicy":      true,
		"source-readonly DescribeGlobalSettings":             true,
		"source PutBackupVaultLockConfiguration":             false,
		"destination-nolock StartCopyJob+PassRole":           false,
		"destination DescribeGlobalSettings":                 true,
		"source-readonly CreateBackupVault":                  false,
		"destination CreateBackupVault":                      true,
		"source ListBackupVaults":                            true,
		"destination-nolock ListBackupVaults":                true,
		"destination ListBackupVaults":                       true,
		"source GetBackupVaultAccessPolicy":                  true,
		"destination GetBackupVaultAccessPolicy":             true,
		"destination-nolock DescribeGlobalSettings":          true,
		"source DescribeGlobalSettings":                      true,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s: allowed=%v (checked %v), want %v", key, v, ok, want)
		}
	}
}
