package kmskeys

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// fakeKMS answers DescribeKey from managers (key ARN → KeyManager) and
// errs (key ARN → error), counting the calls per key.
type fakeKMS struct {
	managers map[string]kmstypes.KeyManagerType
	errs     map[string]error
	policies map[string]string
	mu       sync.Mutex
	calls    map[string]int
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	id := aws.ToString(in.KeyId)
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[id]++
	f.mu.Unlock()
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	m, ok := f.managers[id]
	if !ok {
		return nil, &kmstypes.NotFoundException{Message: aws.String("Key '" + id + "' does not exist")}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: aws.String(id), Arn: aws.String(id), KeyManager: m}}, nil
}

func (f *fakeKMS) ListAliases(context.Context, *kms.ListAliasesInput, ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	return &kms.ListAliasesOutput{}, nil
}

func (f *fakeKMS) GetKeyPolicy(_ context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	if err := f.errs[aws.ToString(in.KeyId)]; err != nil {
		return nil, err
	}
	return &kms.GetKeyPolicyOutput{Policy: aws.String(f.policies[aws.ToString(in.KeyId)])}, nil
}

const (
	keyCMK    = "arn:aws:kms:us-east-1:111111111111:key/cmk"
	keyEBS    = "arn:aws:kms:us-east-1:111111111111:key/aws-ebs"
	keyDenied = "arn:aws:kms:us-east-1:111111111111:key/denied"
	keyGone   = "arn:aws:kms:us-east-1:111111111111:key/gone"
)

func newFake() *fakeKMS {
	return &fakeKMS{
		managers: map[string]kmstypes.KeyManagerType{keyCMK: kmstypes.KeyManagerTypeCustomer, keyEBS: kmstypes.KeyManagerTypeAws},
		errs:     map[string]error{keyDenied: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform kms:DescribeKey"}},
	}
}

func TestDescriberAnswersAndCaches(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFake()
	ctx := context.Background()
	d := NewDescriber(f, st, nil)
	want := map[string]Manager{keyCMK: ManagerCustomer, keyEBS: ManagerAWS, keyDenied: ManagerUnknown, keyGone: ManagerUnknown}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 8; i++ { // concurrent askers: still one call per key
		wg.Add(1)
		go func() {
			defer wg.Done()
			for arn, m := range want {
				if a, err := d.Learn(ctx, arn); err != nil || a.Manager != m {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d wrong answers", failed.Load())
	}
	for arn := range want {
		if f.calls[arn] != 1 {
			t.Errorf("%s: %d DescribeKey calls in one describer, want 1", arn, f.calls[arn])
		}
	}
	if a := d.KeyManager(keyDenied); !strings.Contains(a.Why, "kms:DescribeKey was denied") {
		t.Errorf("denied key's why: %q", a.Why)
	}
	if a := d.KeyManager(keyGone); !strings.Contains(a.Why, "NotFoundException") {
		t.Errorf("unknown key's why: %q", a.Why)
	}
	if a := d.KeyManager("arn:aws:kms:us-east-1:111111111111:key/never"); a.Manager != ManagerUnknown || a.Why == "" {
		t.Errorf("a key never learned: %+v", a)
	}
	// The next command: known answers come from the state, unknown
	// ones are asked again, and answer now that the operator fixed it.
	f.errs = nil
	f.managers[keyDenied] = kmstypes.KeyManagerTypeCustomer
	d2 := NewDescriber(f, st, nil)
	for arn := range want {
		if _, err := d2.Learn(ctx, arn); err != nil {
			t.Fatal(err)
		}
	}
	if f.calls[keyCMK] != 1 || f.calls[keyEBS] != 1 || f.calls[keyDenied] != 2 || f.calls[keyGone] != 2 {
		t.Errorf("second command's calls: %v; want known keys from the state, unknown ones asked again", f.calls)
	}
	if a := d2.KeyManager(keyDenied); a.Manager != ManagerCustomer || a.At.IsZero() {
		t.Errorf("the key once denied: %+v", a)
	}
	if k, ok, err := st.GetKMSKey(keyGone); err != nil || !ok || k.Manager != "" || !strings.Contains(k.Why, "NotFoundException") {
		t.Errorf("the unknown key's record: %+v %v %v", k, ok, err)
	}
	if u := d2.Unknown(); len(u) != 1 || !strings.Contains(u[keyGone], "NotFoundException") {
		t.Errorf("keys still unknown: %v", u)
	}
	// `shuffle state check` knows the records.
	r, err := st.Check(ctx)
	if err != nil || len(r.Problems) > 0 || r.Records["kmskey"] != 4 {
		t.Errorf("state check: %+v %v", r, err)
	}
}

func TestDescriberWithoutClient(t *testing.T) {
	d := NewDescriber(nil, nil, func() time.Time { return time.Unix(0, 0) })
	a, err := d.Learn(context.Background(), keyCMK)
	if err != nil || a.Manager != ManagerUnknown || !strings.Contains(a.Why, "no KMS client") {
		t.Fatalf("no client: %+v %v", a, err)
	}
}

func TestDescriberCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := newFake()
	f.errs[keyCMK] = context.Canceled
	d := NewDescriber(f, nil, nil)
	if _, err := d.Learn(ctx, keyCMK); err == nil {
		t.Fatal("a cancelled ask is no answer")
	}
	f.errs = nil
	if a, err := d.Learn(context.Background(), keyCMK); err != nil || a.Manager != ManagerCustomer {
		t.Fatalf("asked again after the cancel: %+v %v", a, err)
	}
}
