package engine_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// fakeKMS answers DescribeKey from managers; keys in denied are refused.
// It counts the calls per key.
type fakeKMS struct {
	mu       sync.Mutex
	managers map[string]kmstypes.KeyManagerType
	denied   map[string]bool
	calls    map[string]int
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	id := aws.ToString(in.KeyId)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[id]++
	if f.denied[id] {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform: kms:DescribeKey"}
	}
	m, ok := f.managers[id]
	if !ok {
		return nil, &kmstypes.NotFoundException{Message: aws.String("Key '" + id + "' does not exist")}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{Arn: aws.String(id), KeyManager: m}}, nil
}

func (f *fakeKMS) ListAliases(context.Context, *kms.ListAliasesInput, ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	return &kms.ListAliasesOutput{}, nil
}

func (f *fakeKMS) GetKeyPolicy(context.Context, *kms.GetKeyPolicyInput, ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
}

const (
	keyCMK    = "arn:aws:kms:us-east-1:111111111111:key/cmk"
	keyAWSEBS = "arn:aws:kms:us-east-1:111111111111:key/aws-ebs"
	keyDenied = "arn:aws:kms:us-east-1:111111111111:key/denied"
)

// Without EncryptionKeyType, the aws-managed-key rule asks KMS, once
// per key: an AWS-managed key is refused saying KMS said so, a
// customer-managed one passes, and a key KMS will not describe is not
// refused; its trace says the manager is unknown. A documented
// EncryptionKeyType is taken as it is, an unknown one is asked about.
// Once KMS answers for a key it refused before, the RPs decided without
// the answer are decided again.
func TestAWSManagedKeyRuleAsksKMS(t *testing.T) {
	st := openStore(t)
	pol := decidePolicies(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := st.PutVault(&state.Vault{Side: state.Source, Name: "vault-1", Arn: "arn:aws:backup:us-east-1:111111111111:backup-vault:vault-1", VaultType: "BACKUP_VAULT"}); err != nil {
		t.Fatal(err)
	}
	rp := func(name, typ, key, keyType string) *state.RP {
		return &state.RP{Arn: "arn:aws:ec2:us-east-1::snapshot/" + name, Vault: "vault-1", ResourceArn: "arn:aws:ec2:us-east-1:111111111111:volume/" + name,
			ResourceType: typ, Status: "COMPLETED", CreationDate: t0.Add(-time.Hour), EncryptionKeyArn: key, EncryptionKeyType: keyType, IsEncrypted: true}
	}
	rps := []*state.RP{
		rp("cmk-1", "EBS", keyCMK, ""), rp("cmk-2", "RDS", keyCMK, ""),
		rp("aws-1", "EBS", keyAWSEBS, ""), rp("aws-2", "EBS", keyAWSEBS, "SOMETHING_NEW"),
		rp("denied-1", "EBS", keyDenied, ""),
		rp("owned", "EBS", keyDenied, plan.KeyTypeAWSOwned), rp("typed-cmk", "EBS", keyAWSEBS, plan.KeyTypeCustomer),
		rp("s3", "S3", keyAWSEBS, ""),
	}
	if _, err := st.SavePage(&state.Partition{Vault: "vault-1", ID: state.PartitionID("", 0), Generation: 1}, rps, t0); err != nil {
		t.Fatal(err)
	}
	f := &fakeKMS{managers: map[string]kmstypes.KeyManagerType{keyCMK: kmstypes.KeyManagerTypeCustomer, keyAWSEBS: kmstypes.KeyManagerTypeAws}, denied: map[string]bool{keyDenied: true}}
	decide := func(now time.Time) map[string]*state.Decision {
		t.Helper()
		clock := func() time.Time { return now }
		d := &plan.Decider{Store: st, Policies: pol, Now: clock, Keys: kmskeys.NewDescriber(f, st, clock)}
		if _, err := d.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := map[string]*state.Decision{}
		for _, r := range rps {
			got, _, err := st.GetRP("vault-1", r.Arn)
			if err != nil || got.Decision == nil {
				t.Fatalf("%s: no decision: %v", r.Arn, err)
			}
			out[r.Arn[strings.LastIndex(r.Arn, "/")+1:]] = got.Decision
		}
		return out
	}
	got := decide(t0)
	managed := "engine:" + plan.RuleManagedKey
	for name, want := range map[string]bool{"cmk-1": false, "cmk-2": false, "aws-1": true, "aws-2": true, "denied-1": false, "owned": true, "typed-cmk": false, "s3": false} {
		if (got[name].Rule == managed) != want {
			t.Errorf("%s: decided %s %s (%s), want aws-managed-key %v", name, got[name].Outcome, got[name].Rule, got[name].Reason, want)
		}
	}
	if r := got["aws-1"].Reason; !strings.Contains(r, "KMS says") || !strings.Contains(r, keyAWSEBS) {
		t.Errorf("the reason does not say KMS said so: %q", r)
	}
	if f.calls[keyCMK] != 1 || f.calls[keyAWSEBS] != 1 || f.calls[keyDenied] != 1 {
		t.Errorf("DescribeKey calls %v, want one per key asked about", f.calls)
	}
	e, err := query.ExplainWith(context.Background(), st, "arn:aws:ec2:us-east-1::snapshot/denied-1", plan.EligibilityRules, plan.RuleNotes(kmskeys.Recorded{Cache: st}))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range e.Steps {
		if s.Check == managed && s.Result == "passed" && strings.Contains(s.Detail, "key manager unknown") && strings.Contains(s.Detail, "kms:DescribeKey was denied") {
			found = true
		}
	}
	if !found {
		t.Errorf("the trace does not say the key manager is unknown: %+v", e.Steps)
	}
	// The operator grants kms:DescribeKey; KMS says AWS manages the
	// key. The next command asks again, and decides the RP again.
	f.denied = nil
	f.managers[keyDenied] = kmstypes.KeyManagerTypeAws
	again := decide(t0.Add(time.Hour))
	if again["denied-1"].Rule != managed || f.calls[keyDenied] != 2 || f.calls[keyCMK] != 1 {
		t.Errorf("after KMS answered: denied-1 is %s %s; calls %v", again["denied-1"].Outcome, again["denied-1"].Rule, f.calls)
	}
	if !again["cmk-1"].At.Equal(got["cmk-1"].At) {
		t.Errorf("an RP whose key answer did not change was decided again")
	}
}

func decidePolicies(t *testing.T) *luabind.Policies {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	pol, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: filepath.Join(filepath.Dir(file), "..", "policies"), Decide: []string{"apmid"}, Vaults: "vaults", Tags: "tags"})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// keyTypeStripper lists the source recovery points without
// EncryptionKeyType, as AWS may.
type keyTypeStripper struct{ engine.AccountAPI }

func (k keyTypeStripper) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	out, err := k.AccountAPI.ListRecoveryPointsByBackupVault(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	for i := range out.RecoveryPoints {
		out.RecoveryPoints[i].EncryptionKeyType = ""
	}
	return out, nil
}

// A plan whose listing lacks EncryptionKeyType decides, with KMS's
// answers, exactly what a plan with the field decides, both while
// listing and in the decide pass, asking KMS once per key.
func TestPlanWithoutKeyTypeDecidesLikeWithIt(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 600})
	cfg, clients := sessionConfig(t, env)
	ctx := context.Background()
	run := func(o engine.Options) map[string]string {
		t.Helper()
		o.StateDir, o.DryRun = filepath.Join(t.TempDir(), "state"), true
		s := &engine.Session{Options: o}
		if err := s.Configure(cfg); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Complete(ctx); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := s.Store.ScanRPs(func(rp *state.RP) error {
			m[rp.Arn] = rp.Decision.Outcome + " " + rp.Decision.Rule
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// With the field: the decisions to match. KMS says what the field
	// says of each key, learnt page by page as it is listed (testenv
	// leaves the field out for AWS-managed keys: KMS is asked then too).
	f := &fakeKMS{managers: map[string]kmstypes.KeyManagerType{}}
	want := run(engine.Options{Clients: func(c scriptconfig.Config) (engine.AccountAPI, engine.AccountAPI, error) {
		src, dst, err := clients(c)
		return keyRecorder{src, f}, dst, err
	}, KMSClients: func(scriptconfig.Config) kmskeys.Accounts { return kmskeys.Accounts{Source: f} }, DecideWhileListing: true})
	for _, listing := range []bool{true, false} {
		f.calls = nil
		o := engine.Options{DecideWhileListing: listing,
			Clients: func(c scriptconfig.Config) (engine.AccountAPI, engine.AccountAPI, error) {
				src, dst, err := clients(c)
				return keyTypeStripper{src}, dst, err
			},
			KMSClients: func(scriptconfig.Config) kmskeys.Accounts { return kmskeys.Accounts{Source: f} }}
		got := run(o)
		ineligible := 0
		for arn, w := range want {
			if got[arn] != w {
				t.Errorf("listing decides %v: %s is %q, with EncryptionKeyType %q", listing, arn, got[arn], w)
			}
			if strings.HasSuffix(w, plan.RuleManagedKey) {
				ineligible++
			}
		}
		if ineligible == 0 || len(got) != len(want) || len(f.calls) == 0 {
			t.Fatalf("%d RPs on AWS-managed keys of %d, %d keys asked about: the test proves nothing", ineligible, len(got), len(f.calls))
		}
		for k, n := range f.calls {
			if n != 1 {
				t.Errorf("listing decides %v: %d DescribeKey calls for %s, want 1", listing, n, k)
			}
		}
	}
}

// keyRecorder lists as it is and teaches the fake KMS what
// EncryptionKeyType says of each key.
type keyRecorder struct {
	engine.AccountAPI
	f *fakeKMS
}

func (k keyRecorder) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, opts ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	out, err := k.AccountAPI.ListRecoveryPointsByBackupVault(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	for _, r := range out.RecoveryPoints {
		a := aws.ToString(r.EncryptionKeyArn)
		switch {
		case a == "" || !r.IsEncrypted:
		case r.EncryptionKeyType == backuptypes.EncryptionKeyTypeCustomerManagedKmsKey:
			if k.f.managers[a] == "" {
				k.f.managers[a] = kmstypes.KeyManagerTypeCustomer
			}
		default:
			k.f.managers[a] = kmstypes.KeyManagerTypeAws
		}
	}
	return out, nil
}
