package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
)

// fakeKeys is a source account's KMS: managers and key policies by key
// ARN; policies of keys in denied cannot be read.
type fakeKeys struct {
	managers map[string]kmstypes.KeyManagerType
	policies map[string]string
	denied   map[string]bool
}

func (f *fakeKeys) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	m, ok := f.managers[aws.ToString(in.KeyId)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed kms:DescribeKey"}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyManager: m}}, nil
}

func (f *fakeKeys) GetKeyPolicy(_ context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	if f.denied[aws.ToString(in.KeyId)] {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform: kms:GetKeyPolicy"}
	}
	return &kms.GetKeyPolicyOutput{Policy: aws.String(f.policies[aws.ToString(in.KeyId)])}, nil
}

// testRule is the aws-managed-key rule in short (the engine passes
// plan's): the documented EncryptionKeyType decides, else KMS's answer.
type testRule struct{}

func (testRule) KeyMatters(typ string) bool { return typ != "S3" && typ != "Redshift" }

func (testRule) NeedsManager(r RPKey) bool {
	return r.Encrypted && r.KeyType != "CUSTOMER_MANAGED_KMS_KEY" && r.KeyType != "AWS_OWNED_KMS_KEY"
}

func (testRule) Refuses(r RPKey, a kmskeys.Answer) bool {
	return r.Encrypted && (r.KeyType == "AWS_OWNED_KMS_KEY" || (r.KeyType != "CUSTOMER_MANAGED_KMS_KEY" && a.Manager == kmskeys.ManagerAWS))
}

const (
	kShared  = "arn:aws:kms:us-east-1:111111111111:key/shared"
	kPrivate = "arn:aws:kms:us-east-1:111111111111:key/private"
	kAWS     = "arn:aws:kms:us-east-1:111111111111:key/aws-rds"
	kHidden  = "arn:aws:kms:us-east-1:111111111111:key/hidden"
	kCond    = "arn:aws:kms:us-east-1:111111111111:key/conditional"
)

func keyFixture() (*fakeAccount, *fakeAccount, *fakeKeys) {
	rp := func(typ, key, keyType string) backuptypes.RecoveryPointByBackupVault {
		return backuptypes.RecoveryPointByBackupVault{ResourceType: aws.String(typ), EncryptionKeyArn: aws.String(key), EncryptionKeyType: backuptypes.EncryptionKeyType(keyType), IsEncrypted: true}
	}
	src := &fakeAccount{account: "111111111111", crossOK: true, rps: []backuptypes.RecoveryPointByBackupVault{
		rp("EBS", kShared, ""), rp("EBS", kPrivate, "CUSTOMER_MANAGED_KMS_KEY"), rp("RDS", kAWS, ""), rp("RDS", kAWS, "SOMETHING_NEW"),
		rp("EC2", kHidden, ""), rp("FSx", kCond, ""), rp("S3", kPrivate, ""), rp("Redshift", kPrivate, ""),
	}}
	dst := &fakeAccount{account: "222222222222", crossOK: true, policy: copyPolicy}
	owner := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}`
	k := &fakeKeys{
		managers: map[string]kmstypes.KeyManagerType{kShared: "CUSTOMER", kPrivate: "CUSTOMER", kAWS: "AWS", kCond: "CUSTOMER"},
		policies: map[string]string{
			kShared:  `{"Statement":[` + owner + `,` + kmskeys.ShareStatement("aws", "222222222222") + `]}`,
			kPrivate: `{"Statement":[` + owner + `]}`,
			kCond:    `{"Statement":[` + owner + `,{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"kms:*","Condition":{"StringEquals":{"kms:ViaService":"backup.us-east-1.amazonaws.com"}}}]}`,
		},
		denied: map[string]bool{kHidden: true},
	}
	return src, dst, k
}

func runKeys(src, dst *fakeAccount, k *fakeKeys, edit func(*Input)) []finding.Finding {
	sc := src.clients()
	sc.KMS = k
	in := Input{Config: fakeConfig(), Source: sc, Destination: dst.clients(), KeyRule: testRule{}}
	if edit != nil {
		edit(&in)
	}
	fs, _, err := Run(context.Background(), in)
	if err != nil {
		panic(err) // the fakes answer every call
	}
	return fs
}

func findingsOf(fs []finding.Finding, check string) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// Without a state, check reads the keys of the listed recovery points
// the aws-managed-key rule lets through: an unshared key blocks and
// prints the statement to add; a key whose policy can't be read warns
// naming kms:GetKeyPolicy; a conditional share warns; an AWS-managed
// key (KMS says so) is counted by the encryption check instead.
func TestSharedKeysFromListing(t *testing.T) {
	src, dst, k := keyFixture()
	fs := runKeys(src, dst, k, nil)
	var blocking, hidden, cond, shared, awsCount bool
	for _, f := range fs {
		switch {
		case f.Check == "shared-keys" && f.Severity == finding.Blocking:
			blocking = strings.Contains(f.What, kPrivate) && strings.Contains(f.What, "222222222222") && strings.Contains(f.What, "kms:CreateGrant") &&
				strings.Contains(f.Fix, `"Principal":{"AWS":"arn:aws:iam::222222222222:root"}`) && strings.Contains(f.Fix, kmskeys.ShareStatementSid)
			if strings.Contains(f.What, kShared) || strings.Contains(f.What, kCond) {
				t.Errorf("a shared key blocks: %s", f.What)
			}
		case f.Check == "shared-keys" && f.Severity == finding.Warning && f.Action == "kms:GetKeyPolicy":
			hidden = strings.Contains(f.What, kHidden) && strings.Contains(f.Fix, "allow kms:GetKeyPolicy")
		case f.Check == "shared-keys" && f.Severity == finding.Warning:
			cond = cond || (strings.Contains(f.What, kCond) && strings.Contains(f.What, "conditional"))
		case f.Check == "shared-keys" && f.Severity == finding.Info:
			shared = shared || strings.Contains(f.What, kShared+" (1 recovery points in v1) is shared")
		case f.Check == "encryption" && f.Severity == finding.Warning:
			awsCount = strings.Contains(f.What, "2 RDS recovery points are encrypted with an AWS-managed key")
		}
	}
	if !blocking || !hidden || !cond || !shared || !awsCount {
		t.Errorf("blocking %v, unreadable %v, conditional %v, shared %v, AWS-managed counted %v:\n%+v", blocking, hidden, cond, shared, awsCount, findingsOf(fs, "shared-keys"))
	}
	for _, f := range findingsOf(fs, "shared-keys") {
		if strings.Contains(f.What, kAWS) {
			t.Errorf("an AWS-managed key's policy was checked: %s", f.What)
		}
	}
}

// With a state, the included recovery points name the keys; with
// --skip-encryption and no state, the check says it was skipped.
func TestSharedKeysFromState(t *testing.T) {
	src, dst, k := keyFixture()
	fs := runKeys(src, dst, k, func(in *Input) {
		in.SkipEncryption, in.FromState = true, true
		in.StateKeys = []RPKey{{Vault: "prod", ResourceType: "EBS", KeyArn: kShared, Encrypted: true}}
	})
	for _, f := range fs {
		if f.Severity == finding.Blocking || strings.Contains(f.What, kPrivate) {
			t.Errorf("only the included RPs' key is checked: %s %s", f.Severity, f.What)
		}
	}
	if len(findingsOf(fs, "encryption")) != 0 {
		t.Errorf("--skip-encryption still listed the source")
	}
	fs = runKeys(src, dst, k, func(in *Input) { in.SkipEncryption = true })
	if sk := findingsOf(fs, "shared-keys"); len(sk) != 1 || !strings.Contains(sk[0].What, "skipped") {
		t.Errorf("no state and --skip-encryption: %+v", sk)
	}
}
