package kmskeys_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
)

const destKMS = "arn:aws:kms:us-east-1:222222222222"

// aliasFake is one account's KMS: keys by id, aliases by name (without
// alias/), listed two per page.
type aliasFake struct {
	mu           sync.Mutex
	keys         map[string]types.KeyState // key id → state
	aliases      map[string]string         // alias name → key id ("" names none)
	denyDescribe bool
	denyList     bool
	describeErr  error // answered by every DescribeKey when set
	describes    int
	lists        int
}

func newAliasFake() *aliasFake {
	return &aliasFake{
		keys:    map[string]types.KeyState{"k-prod": types.KeyStateEnabled, "k-fin": types.KeyStateEnabled, "k-old": types.KeyStatePendingDeletion, "k-aws": types.KeyStateEnabled},
		aliases: map[string]string{"backup-vault-prod": "k-prod", "prod-too": "k-prod", "backup-vault-finance": "k-fin", "old": "k-old", "aws/backup": "k-aws", "dangling": ""},
	}
}

func aliasDenied(op string) error {
	return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform kms:" + op}
}

func (f *aliasFake) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	switch {
	case f.describeErr != nil:
		return nil, f.describeErr
	case f.denyDescribe:
		return nil, aliasDenied("DescribeKey")
	}
	id := aws.ToString(in.KeyId)
	if i := strings.Index(id, "alias/"); i >= 0 {
		id = f.aliases[id[i+len("alias/"):]]
	} else if i := strings.LastIndex(id, ":key/"); i >= 0 {
		id = id[i+len(":key/"):]
	}
	st, ok := f.keys[id]
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("Key '" + aws.ToString(in.KeyId) + "' does not exist")}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(id), Arn: aws.String(destKMS + ":key/" + id), KeyState: st}}, nil
}

func (f *aliasFake) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.denyList {
		return nil, aliasDenied("ListAliases")
	}
	names := make([]string, 0, len(f.aliases))
	for n := range f.aliases {
		names = append(names, n)
	}
	slices.Sort(names)
	start := 0
	if in.Marker != nil {
		start, _ = strconv.Atoi(*in.Marker)
	}
	out := &kms.ListAliasesOutput{}
	for i := start; i < len(names) && i < start+2; i++ {
		e := types.AliasListEntry{AliasName: aws.String("alias/" + names[i]), AliasArn: aws.String(destKMS + ":alias/" + names[i])}
		if id := f.aliases[names[i]]; id != "" {
			e.TargetKeyId = aws.String(id)
		}
		out.Aliases = append(out.Aliases, e)
	}
	if start+2 < len(names) {
		out.NextMarker, out.Truncated = aws.String(strconv.Itoa(start+2)), true
	}
	return out, nil
}

func (f *aliasFake) GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	return nil, errors.New("not used")
}

func TestListAliasesGivesEachKeyItsCustomerAliases(t *testing.T) {
	f := newAliasFake()
	as, err := kmskeys.ListAliases(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != len(f.aliases) || f.lists < 3 {
		t.Fatalf("listed %d aliases in %d pages; want all %d over several pages", len(as), f.lists, len(f.aliases))
	}
	by := kmskeys.ByKey(as)
	if got := by[destKMS+":key/k-prod"]; !slices.Equal(got, []string{"backup-vault-prod", "prod-too"}) {
		t.Errorf("aliases of k-prod = %v; want both, sorted", got)
	}
	if got, ok := by[destKMS+":key/k-aws"]; ok {
		t.Errorf("the AWS managed alias was kept: %v", got)
	}
	if len(by) != 3 {
		t.Errorf("ByKey = %v; want k-prod, k-fin and k-old only", by)
	}
}

func TestResolveTheThreeForms(t *testing.T) {
	f := newAliasFake()
	r := kmskeys.NewResolver(f)
	want := destKMS + ":key/k-prod"
	for _, named := range []string{"alias/backup-vault-prod", destKMS + ":alias/backup-vault-prod", want} {
		k, err := r.Resolve(context.Background(), named)
		if err != nil || k.Arn != want || k.Unchecked {
			t.Errorf("Resolve(%s) = %+v, %v; want %s", named, k, err, want)
		}
	}
	// Cached: a second run of the same names asks nothing.
	n := f.describes
	for _, named := range []string{"alias/backup-vault-prod", want} {
		if _, err := r.Resolve(context.Background(), named); err != nil {
			t.Fatal(err)
		}
	}
	if f.describes != n {
		t.Errorf("a resolved name was asked again (%d → %d DescribeKey calls)", n, f.describes)
	}
}

func TestResolveErrorsAreClassified(t *testing.T) {
	f := newAliasFake()
	r := kmskeys.NewResolver(f)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "alias/redshift-data"); kmskeys.KindOf(err) != kmskeys.NotFound {
		t.Errorf("a missing alias: %v (kind %s); want not-found", err, kmskeys.KindOf(err))
	}
	if _, err := r.Resolve(ctx, destKMS+":key/k-none"); kmskeys.KindOf(err) != kmskeys.NotFound {
		t.Errorf("a missing key ARN: %v; want not-found", err)
	}
	_, err := r.Resolve(ctx, "alias/old")
	var ke *kmskeys.Error
	if !errors.As(err, &ke) || ke.Kind != kmskeys.Unusable || ke.State != "PendingDeletion" {
		t.Errorf("a key pending deletion: %v; want unusable, PendingDeletion", err)
	}

	f.describeErr = &smithy.GenericAPIError{Code: "KMSInternalException", Message: "boom"}
	r = kmskeys.NewResolver(f)
	if _, err := r.Resolve(ctx, "alias/backup-vault-finance"); kmskeys.KindOf(err) != kmskeys.Other {
		t.Errorf("an internal error: %v; want other", err)
	}
	f.describeErr = nil
	if k, err := r.Resolve(ctx, "alias/backup-vault-finance"); err != nil || k.Arn != destKMS+":key/k-fin" {
		t.Errorf("after a transient error the name is asked again: %+v, %v", k, err)
	}
}

func TestResolveFallsBackToTheListingWhenDescribeIsDenied(t *testing.T) {
	f := newAliasFake()
	f.denyDescribe = true
	r := kmskeys.NewResolver(f)
	ctx := context.Background()
	k, err := r.Resolve(ctx, "alias/backup-vault-finance")
	if err != nil || k.Arn != destKMS+":key/k-fin" {
		t.Fatalf("Resolve = %+v, %v; want k-fin from ListAliases", k, err)
	}
	if _, err := r.Resolve(ctx, "alias/dangling"); kmskeys.KindOf(err) != kmskeys.NotFound {
		t.Errorf("an alias naming no key: %v; want not-found", err)
	}
	if _, err := r.Resolve(ctx, "arn:aws:kms:us-east-1:333333333333:alias/backup-vault-finance"); kmskeys.KindOf(err) != kmskeys.AccessDenied {
		t.Errorf("an alias ARN of an account the listing does not show: %v; want the DescribeKey refusal", err)
	}
	// A key ARN is used as given when it cannot be described.
	if k, err := r.Resolve(ctx, destKMS+":key/k-any"); err != nil || !k.Unchecked || k.Arn != destKMS+":key/k-any" {
		t.Errorf("a key ARN KMS cannot describe: %+v, %v; want it as given, unchecked", k, err)
	}

	f.denyList = true
	r = kmskeys.NewResolver(f)
	if _, err := r.Resolve(ctx, "alias/backup-vault-prod"); kmskeys.KindOf(err) != kmskeys.AccessDenied {
		t.Errorf("both refused: %v; want access-denied", err)
	}
}

func TestResolveWithoutAClient(t *testing.T) {
	r := kmskeys.NewResolver(nil)
	if _, err := r.Resolve(context.Background(), "alias/backup-vault-prod"); kmskeys.KindOf(err) != kmskeys.NoClient {
		t.Errorf("an alias without a KMS client: %v; want no-client", err)
	}
	if k, err := r.Resolve(context.Background(), destKMS+":key/k1"); err != nil || k.Arn != destKMS+":key/k1" || !k.Unchecked || kmskeys.KindOf(k.Why) != kmskeys.NoClient {
		t.Errorf("a key ARN without a KMS client: %+v, %v; want it as given", k, err)
	}
	if _, err := kmskeys.ListAliases(context.Background(), nil); kmskeys.KindOf(err) != kmskeys.NoClient {
		t.Errorf("ListAliases without a client: %v; want no-client", err)
	}
}
