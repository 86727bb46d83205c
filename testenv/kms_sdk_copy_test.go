package testenv_test

// KMS changes through the real API (PutKeyPolicy, CreateAlias,
// DeleteAlias), the seed's determinism, and the copy jobs key policies
// decide.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	btypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// sdkKMSAdmin gives the source operator kms:* on top of its default
// policy, as a key administrator would have, and returns its client.
func sdkKMSAdmin(t testing.TB, env *testenvtest.Env) *kms.Client {
	t.Helper()
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{testenv.DefaultPolicies[testenv.ProfileSource], admin}), "SetPolicies source kms admin")
	return sdkKMS(t, env, testenv.ProfileSource)
}

const sdkUnsharedPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
	`"Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}`

// TestKMSPutKeyPolicy: PutKeyPolicy replaces the policy, which then
// decides cross-account access; malformed policies and policies that
// would lock the caller out are refused unless the check is bypassed.
func TestKMSPutKeyPolicy(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	src, dst := sdkKMSAdmin(t, env), sdkKMS(t, env, testenv.ProfileDestination)
	arn := sdkKeyArn(t, src, "alias/rds-data")
	describe := func() error {
		_, err := dst.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		return err
	}
	sdkNoErr(t, describe(), "destination DescribeKey of the shared key")
	_, err := src.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(arn), Policy: aws.String(sdkUnsharedPolicy)})
	sdkNoErr(t, err, "PutKeyPolicy unshare")
	if pol, _ := sdkPolicy(t, src, arn); pol != sdkUnsharedPolicy {
		t.Errorf("GetKeyPolicy after PutKeyPolicy: %s", pol)
	}
	sdkWantErr(t, describe(), "AccessDeniedException", 400)

	_, err = src.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(arn), Policy: aws.String(`{"Statement":`)})
	sdkWantTyped[*types.MalformedPolicyDocumentException](t, err, 400)
	lockout := strings.Replace(sdkUnsharedPolicy, "111111111111", "333333333333", 1)
	_, err = src.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(arn), Policy: aws.String(lockout)})
	msg := sdkWantErr(t, err, "MalformedPolicyDocumentException", 400)
	if !strings.Contains(msg, "will not allow you to update the key policy") {
		t.Errorf("lockout refusal: %s", msg)
	}
	_, err = src.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(arn), Policy: aws.String(lockout), BypassPolicyLockoutSafetyCheck: true})
	sdkNoErr(t, err, "PutKeyPolicy with the lockout check bypassed")
	_, err = src.GetKeyPolicy(sdkCtx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn)})
	sdkWantErr(t, err, "AccessDeniedException", 400)
	// AWS managed keys' policies can't be changed.
	awsEBS := sdkKeyArn(t, src, "alias/aws/ebs")
	_, err = src.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(awsEBS), Policy: aws.String(sdkUnsharedPolicy)})
	sdkWantErr(t, err, "AccessDeniedException", 400)
}

// TestKMSAliases: CreateAlias and DeleteAlias change what an alias
// resolves to; names are checked; a duplicate is refused.
func TestKMSAliases(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	src := sdkKMSAdmin(t, env)
	arn := sdkKeyArn(t, src, "alias/ebs-data")
	_, err := src.CreateAlias(sdkCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/team/ebs"), TargetKeyId: aws.String(arn)})
	sdkNoErr(t, err, "CreateAlias")
	if got := sdkKeyArn(t, src, "alias/team/ebs"); got != arn {
		t.Errorf("alias/team/ebs -> %s, want %s", got, arn)
	}
	of, _ := sdkAliases(t, src, &kms.ListAliasesInput{KeyId: aws.String(arn)})
	if len(of) != 2 {
		t.Errorf("aliases of the key: %v", of)
	}
	_, err = src.CreateAlias(sdkCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/team/ebs"), TargetKeyId: aws.String(arn)})
	sdkWantTyped[*types.AlreadyExistsException](t, err, 409)
	for _, bad := range []string{"team/ebs", "alias/aws/mine", "alias/with space"} {
		_, err = src.CreateAlias(sdkCtx, &kms.CreateAliasInput{AliasName: aws.String(bad), TargetKeyId: aws.String(arn)})
		sdkWantTyped[*types.InvalidAliasNameException](t, err, 400)
	}
	_, err = src.CreateAlias(sdkCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/x"), TargetKeyId: aws.String("11111111-2222-4333-8444-555555555555")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	_, err = src.DeleteAlias(sdkCtx, &kms.DeleteAliasInput{AliasName: aws.String("alias/ebs-data")})
	sdkNoErr(t, err, "DeleteAlias")
	_, err = src.DescribeKey(sdkCtx, &kms.DescribeKeyInput{KeyId: aws.String("alias/ebs-data")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	_, err = src.DeleteAlias(sdkCtx, &kms.DeleteAliasInput{AliasName: aws.String("alias/ebs-data")})
	sdkWantTyped[*types.NotFoundException](t, err, 404)
	// The default operator may not change aliases.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{testenv.DefaultPolicies[testenv.ProfileSource]}), "restore")
	_, err = src.CreateAlias(sdkCtx, &kms.CreateAliasInput{AliasName: aws.String("alias/y"), TargetKeyId: aws.String(arn)})
	sdkWantErr(t, err, "AccessDeniedException", 400)
}

// sdkAliasMap maps each alias of both accounts to its key ARN.
func sdkAliasMap(t testing.TB, env *testenvtest.Env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{testenv.ProfileSource, testenv.ProfileDestination} {
		c := sdkKMS(t, env, p)
		als, _ := sdkAliases(t, c, &kms.ListAliasesInput{})
		for name, al := range als {
			if al.TargetKeyId != nil {
				out[p+" "+name] = sdkKeyArn(t, c, name)
			}
		}
	}
	return out
}

// TestKMSSeedDeterminism: one seed gives the same aliases and key ARNs;
// another seed gives other customer key ids. The vault keys of the seed
// stay those the seed gave before KMS existed.
func TestKMSSeedDeterminism(t *testing.T) {
	a := sdkAliasMap(t, testenvtest.Start(t, testenv.Options{RecoveryPoints: 20, Seed: 7}))
	b := sdkAliasMap(t, testenvtest.Start(t, testenv.Options{RecoveryPoints: 20, Seed: 7}))
	c := sdkAliasMap(t, testenvtest.Start(t, testenv.Options{RecoveryPoints: 20, Seed: 8}))
	if len(a) != len(sdkSourceCMKs)+len(sdkSourceAWS)+6+len(sdkDestAWS) {
		t.Errorf("%d aliases with keys: %v", len(a), a)
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("seed 7 twice: %s -> %s and %s", k, v, b[k])
		}
		if !strings.Contains(k, "alias/aws/") && c[k] == v {
			t.Errorf("seeds 7 and 8 both give %s -> %s", k, v)
		}
	}
	if _, ok := a[testenv.ProfileDestination+" alias/redshift-data"]; ok {
		t.Error("the destination has a redshift-data key")
	}
	// The pre-seeded destination vaults keep their keys: the
	// destination's CMKs of the source vault key aliases.
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 20})
	one := sdkAliasMap(t, env)
	for vault, alias := range map[string]string{"prod-rds-monthly": "backup-vault-prod", "finance-records": "backup-vault-finance"} {
		out, err := sdkBackup(t, env, testenv.ProfileDestination).DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(vault)})
		sdkNoErr(t, err, "DescribeBackupVault "+vault)
		if got, want := aws.ToString(out.EncryptionKeyArn), one[testenv.ProfileDestination+" alias/"+alias]; got != want || want == "" {
			t.Errorf("destination vault %s key %s, alias/%s is %s", vault, got, alias, want)
		}
	}
}

// TestKMSCopyFollowsKeyPolicy: a cross-account copy of an EBS recovery
// point completes while its key is shared with the destination, and
// fails after it starts, with AccessDenied, once PutKeyPolicy unshares
// it.
func TestKMSCopyFollowsKeyPolicy(t *testing.T) {
	e := newSDKCopyEnv(t, testenv.Options{RecoveryPoints: 300})
	kc := sdkKMSAdmin(t, e.env)
	ebsKey := sdkKeyArn(t, kc, "alias/ebs-data")
	rps := sdkPick(t, e.all, 2, func(r sdkRP) bool {
		return sdkCopyable(r) && aws.ToString(r.ResourceType) == "EBS" && aws.ToString(r.EncryptionKeyArn) == ebsKey
	})
	id, err := sdkStartCopy(e.src, rps[0], e.dest)
	sdkNoErr(t, err, "StartCopyJob with the key shared")
	if j := sdkWaitJob(t, e.src, id); j.State != btypes.CopyJobStateCompleted {
		t.Fatalf("copy with the key shared ended %s: %s", j.State, aws.ToString(j.StatusMessage))
	}
	_, err = kc.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(ebsKey), Policy: aws.String(sdkUnsharedPolicy)})
	sdkNoErr(t, err, "PutKeyPolicy unshare")
	id, err = sdkStartCopy(e.src, rps[1], e.dest)
	sdkNoErr(t, err, "StartCopyJob with the key unshared (AWS fails it later)")
	j := sdkWaitJob(t, e.src, id)
	msg := aws.ToString(j.StatusMessage)
	if j.State != btypes.CopyJobStateFailed || aws.ToString(j.MessageCategory) != "AccessDenied" || !strings.Contains(msg, ebsKey) || !strings.Contains(msg, "key policy") {
		t.Errorf("copy with the key unshared: %s %s %s", j.State, aws.ToString(j.MessageCategory), msg)
	}
	// Shared again, the copy goes through.
	_, err = kc.PutKeyPolicy(sdkCtx, &kms.PutKeyPolicyInput{KeyId: aws.String(ebsKey),
		Policy: aws.String(strings.Replace(sdkUnsharedPolicy, `]}`, `,`+testenv.ShareKeyStatement(testenv.DestinationAccount)+`]}`, 1))})
	sdkNoErr(t, err, "PutKeyPolicy share again")
	id, err = sdkStartCopy(e.src, rps[1], e.dest)
	sdkNoErr(t, err, "StartCopyJob with the key shared again")
	if j := sdkWaitJob(t, e.src, id); j.State != btypes.CopyJobStateCompleted {
		t.Errorf("copy with the key shared again ended %s: %s", j.State, aws.ToString(j.StatusMessage))
	}
}
