package replicate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// The vault keys of `testenv up` with its defaults (seed 1, us-east-1):
// the source keys' aliases and the destination key of each alias, as
// testenv's KMS answers them (SHARED-CONTRACTS: a destination CMK for
// each source alias). kmsAccount serves them, so these tests do not
// depend on testenv's KMS.
var (
	seedSourceAliases = map[string]string{
		"arn:aws:kms:us-east-1:111111111111:key/46a4d7ac-187b-49fe-a18d-d5ed3115be2d": "backup-vault-prod",
		"arn:aws:kms:us-east-1:111111111111:key/f92a25ef-b8b5-47e9-b58f-2b8aabb99e91": "backup-vault-finance",
		"arn:aws:kms:us-east-1:111111111111:key/11ac6e58-1a74-4f89-98d0-328dd8ff2d51": "backup-vault-nonprod",
	}
	seedDestKeys = map[string]string{
		"backup-vault-prod":    "arn:aws:kms:us-east-1:222222222222:key/6a44a25a-c3a8-498f-a5ab-d56d8fa50140",
		"backup-vault-finance": "arn:aws:kms:us-east-1:222222222222:key/0bbef656-2c62-4bc5-a04c-4e2e502c0f43",
		"backup-vault-nonprod": "arn:aws:kms:us-east-1:222222222222:key/5a90374c-ae23-401f-9c4c-d568b14b4b66",
	}
)

// kmsAccount is one account's KMS: aliases (names without alias/) to
// key ARNs.
type kmsAccount struct {
	mu      sync.Mutex
	prefix  string // arn:aws:kms:REGION:ACCOUNT
	aliases map[string]string
	deny    bool // refuse every call
	calls   int
}

func seedKMS() (src, dst *kmsAccount) {
	src = &kmsAccount{prefix: "arn:aws:kms:us-east-1:" + testenv.SourceAccount, aliases: map[string]string{}}
	for arn, alias := range seedSourceAliases {
		src.aliases[alias] = arn
	}
	dst = &kmsAccount{prefix: "arn:aws:kms:us-east-1:" + testenv.DestinationAccount, aliases: map[string]string{}}
	for alias, arn := range seedDestKeys {
		dst.aliases[alias] = arn
	}
	return src, dst
}

func (k *kmsAccount) refuse(op string) error {
	k.calls++
	if k.deny {
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform kms:" + op}
	}
	return nil
}

func (k *kmsAccount) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refuse("DescribeKey"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.KeyId)
	arn := id
	if i := strings.Index(id, "alias/"); i >= 0 {
		arn = k.aliases[id[i+len("alias/"):]]
	}
	for _, a := range k.aliases {
		if a == arn && arn != "" {
			return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{Arn: aws.String(arn), KeyState: kmstypes.KeyStateEnabled}}, nil
		}
	}
	return nil, &kmstypes.NotFoundException{Message: aws.String("Alias " + id + " is not found.")}
}

func (k *kmsAccount) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refuse("ListAliases"); err != nil {
		return nil, err
	}
	out := &kms.ListAliasesOutput{}
	for name, arn := range k.aliases {
		out.Aliases = append(out.Aliases, kmstypes.AliasListEntry{AliasName: aws.String("alias/" + name), AliasArn: aws.String(k.prefix + ":alias/" + name),
			TargetKeyId: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
	}
	return out, nil
}

func (k *kmsAccount) GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	return nil, errors.New("not used")
}

// An alias the destination account does not have holds back the vaults
// mapped to it (blocked, encryption-key, nothing created) with a reason
// naming the vault, the alias and what to do; the others are created
// with the destination key of their alias.
func TestReplicateUnresolvedAliasHoldsBackOnlyItsVaults(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		delete(f.kms.Destination.(*kmsAccount).aliases, "backup-vault-nonprod")
	})
	before := f.destVaults(t)
	res := runReplicate(t, f, f.plans, f.dst, f.opt)
	after := f.destVaults(t)
	held := 0
	for _, n := range []string{"dev-ebs-daily", "staging-mixed"} {
		if _, ok := before[n]; ok {
			continue
		}
		held++
		s := wantStatus(t, res, n, replicate.ActionBlocked, false)
		if s.Wait != replicate.WaitEncryptionKey {
			t.Errorf("%s waits for %q, want %q", n, s.Wait, replicate.WaitEncryptionKey)
		}
		contains(t, n+" reason", s.Reason, n, "alias alias/backup-vault-nonprod", "does not exist in account "+testenv.DestinationAccount,
			"create it there", "policies/vaults.lua")
		if _, ok := after[n]; ok {
			t.Errorf("%s was created although its key did not resolve", n)
		}
	}
	if held == 0 {
		t.Fatal("the seed has no nonprod vault to create; the test proves nothing")
	}
	s := wantStatus(t, res, "prod-ebs-daily", replicate.ActionCreated, true)
	if d := f.describe(t, "prod-ebs-daily"); aws.ToString(d.EncryptionKeyArn) != seedDestKeys["backup-vault-prod"] {
		t.Errorf("prod-ebs-daily created with key %s, want %s (%+v)", aws.ToString(d.EncryptionKeyArn), seedDestKeys["backup-vault-prod"], s)
	}

	// The plan shows the same: the alias, what it resolved to, and why
	// the others are blocked.
	pl, err := plan.BuildPlan(context.Background(), f.st, f.mapVaults(t), replicate.PlanDestination, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pl.Vaults {
		d := v.Destination
		switch {
		case v.Name == "staging-mixed" && d.Action == plan.DestinationCreate:
			if d.Settings.EncryptionKey != "alias/backup-vault-nonprod" || d.Settings.EncryptionKeyArn != "" || len(d.Blocking) == 0 {
				t.Errorf("plan of staging-mixed: %+v", d)
			} else {
				contains(t, "blocking", d.Blocking[0], "staging-mixed", "alias/backup-vault-nonprod")
			}
		case v.Name == "prod-ebs-daily" && d.Settings.EncryptionKeyArn != seedDestKeys["backup-vault-prod"]:
			t.Errorf("plan of prod-ebs-daily: key %q = %q, want alias/backup-vault-prod = %s", d.Settings.EncryptionKey, d.Settings.EncryptionKeyArn, seedDestKeys["backup-vault-prod"])
		}
	}
}

// Without a destination KMS client an alias cannot be resolved: its
// vault is held back saying so; a key ARN is used as given.
func TestReplicateWithoutDestinationKMS(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		f.kms.Destination = nil
	})
	f.plans["prod-ebs-weekly"].Mapping.EncryptionKey = seedDestKeys["backup-vault-finance"]
	if err := replicate.ResolveKeys(context.Background(), f.plans, kmskeys.NewResolver(nil), testenv.DestinationAccount, nil); err != nil {
		t.Fatal(err)
	}
	res := runReplicate(t, f, f.only("prod-ebs-daily", "prod-ebs-weekly"), f.dst, f.opt)
	s := wantStatus(t, res, "prod-ebs-daily", replicate.ActionBlocked, false)
	contains(t, "reason", s.Reason, "prod-ebs-daily", "alias/backup-vault-prod", "no KMS client", "key ARN")
	wantStatus(t, res, "prod-ebs-weekly", replicate.ActionCreated, true)
	if p := f.plans["prod-ebs-weekly"].Key.Problem; !strings.Contains(p, "could not be checked") || !strings.Contains(p, "used as given") {
		t.Errorf("a key ARN used unchecked says nothing: %q", p)
	}
	if d := f.describe(t, "prod-ebs-weekly"); aws.ToString(d.EncryptionKeyArn) != seedDestKeys["backup-vault-finance"] {
		t.Errorf("prod-ebs-weekly created with key %s, want the mapped key ARN as given", aws.ToString(d.EncryptionKeyArn))
	}
}

// When the source keys' aliases cannot be read, the default policy maps
// no key: a vault on a customer-managed key is held back, and its
// reason says which permission to add.
func TestReplicateSourceAliasesDenied(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, func(f *replFixture) {
		f.kms.Source.(*kmsAccount).deny = true
	})
	vp := f.plans["prod-ebs-daily"]
	if vp.Mapping.EncryptionKey != "" || vp.Key.Problem == "" {
		t.Fatalf("mapping without source aliases: %+v, key %+v", vp.Mapping, vp.Key)
	}
	res := runReplicate(t, f, f.only("prod-ebs-daily", "Default"), f.dst, f.opt)
	s := wantStatus(t, res, "prod-ebs-daily", replicate.ActionBlocked, false)
	contains(t, "reason", s.Reason, "prod-ebs-daily", "kms:ListAliases", "source profile", "policies/vaults.lua")
	if s := res["Default"]; s.Wait == replicate.WaitEncryptionKey {
		t.Errorf("Default (an AWS managed key) waits for a key: %s", s.Reason)
	}
}
