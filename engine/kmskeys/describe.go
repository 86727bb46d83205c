package kmskeys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Manager is who manages a KMS key, as KMS's DescribeKey says
// (KeyMetadata.KeyManager).
type Manager string

const (
	// ManagerUnknown: KMS could not be asked or would not say.
	ManagerUnknown Manager = ""
	// ManagerAWS: an AWS-managed key (aws/ebs, aws/rds, ...), whose
	// policy never lets another account use it.
	ManagerAWS Manager = Manager(kmstypes.KeyManagerTypeAws)
	// ManagerCustomer: a customer-managed key.
	ManagerCustomer Manager = Manager(kmstypes.KeyManagerTypeCustomer)
)

// Answer is what KMS said of one key.
type Answer struct {
	Manager Manager
	// Why says why the manager is unknown (the error, or that no KMS
	// client was given).
	Why string
	// At is when the command that got a known answer from KMS began
	// asking (Describer's creation; zero while unknown).
	At time.Time
}

// Cache keeps the answers across commands (*state.Store satisfies it).
type Cache interface {
	GetKMSKey(arn string) (state.KMSKey, bool, error)
	PutKMSKey(arn string, k state.KMSKey) error
}

var _ Cache = (*state.Store)(nil)

// KeyDescriber is the one KMS call a Describer makes (API and
// *kms.Client satisfy it).
type KeyDescriber interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// Describer asks one account's KMS who manages each key, once per
// distinct key: a known answer is kept in the cache for good (a key's
// manager never changes); an unknown one is asked again by the next
// Describer (the next command), in case the operator granted
// kms:DescribeKey meanwhile. It is safe for concurrent use.
type Describer struct {
	api   KeyDescriber // nil: nothing can be described
	cache Cache        // nil: answers are kept in memory only
	// at stamps the answers this Describer learns: its creation, so
	// that every decision made after it (and with its answers) is no
	// older than the answers it used, and a decision made before a key
	// was known is older than the answer.
	at time.Time

	mu   sync.Mutex
	keys map[string]*entry
}

type entry struct {
	once sync.Once
	ans  Answer
	err  error
}

// NewDescriber makes the describer of the account api is a client of,
// for one command: make it before that command decides anything. api
// and cache may be nil; now (nil: time.Now) is the session's clock.
func NewDescriber(api KeyDescriber, cache Cache, now func() time.Time) *Describer {
	if now == nil {
		now = time.Now
	}
	return &Describer{api: api, cache: cache, at: now().UTC(), keys: map[string]*entry{}}
}

// Learn makes sure KMS was asked about key arn in this Describer's
// life, and returns its answer. The error is the context's, or the
// cache's: KMS refusing to answer is an unknown Answer, not an error.
func (d *Describer) Learn(ctx context.Context, arn string) (Answer, error) {
	d.mu.Lock()
	e, ok := d.keys[arn]
	if !ok {
		e = &entry{}
		d.keys[arn] = e
	}
	d.mu.Unlock()
	e.once.Do(func() { e.ans, e.err = d.learn(ctx, arn) })
	if e.err != nil {
		// A cancelled ask is asked again by the next caller.
		d.mu.Lock()
		if d.keys[arn] == e {
			delete(d.keys, arn)
		}
		d.mu.Unlock()
	}
	return e.ans, e.err
}

// KeyManager is the answer Learn got for arn; unknown when Learn was
// not called for it.
func (d *Describer) KeyManager(arn string) Answer {
	d.mu.Lock()
	e := d.keys[arn]
	d.mu.Unlock()
	if e == nil {
		return Answer{Why: "KMS was not asked about this key"}
	}
	e.once.Do(func() {}) // waits for a Learn under way
	return e.ans
}

// Unknown are the keys this Describer could not learn the manager of,
// with why (key ARN → why).
func (d *Describer) Unknown() map[string]string {
	d.mu.Lock()
	es := make(map[string]*entry, len(d.keys))
	for arn, e := range d.keys {
		es[arn] = e
	}
	d.mu.Unlock()
	out := map[string]string{}
	for arn, e := range es {
		e.once.Do(func() {})
		if e.err == nil && e.ans.Manager == ManagerUnknown && arn != "" {
			out[arn] = e.ans.Why
		}
	}
	return out
}

func (d *Describer) learn(ctx context.Context, arn string) (Answer, error) {
	var cached state.KMSKey
	if d.cache != nil {
		k, ok, err := d.cache.GetKMSKey(arn)
		if err != nil {
			return Answer{}, err
		}
		if ok && Manager(k.Manager) != ManagerUnknown {
			return Answer{Manager: Manager(k.Manager), At: k.At}, nil
		}
		cached = k
	}
	ans, err := d.describe(ctx, arn)
	if err != nil {
		return Answer{}, err
	}
	if d.cache != nil && (string(ans.Manager) != cached.Manager || ans.Why != cached.Why) {
		if err := d.cache.PutKMSKey(arn, state.KMSKey{Manager: string(ans.Manager), Why: ans.Why, At: d.at}); err != nil {
			return Answer{}, err
		}
	}
	return ans, nil
}

// describe calls DescribeKey; only a cancelled context is an error.
func (d *Describer) describe(ctx context.Context, arn string) (Answer, error) {
	if arn == "" {
		return Answer{Why: "the recovery point names no key"}, nil
	}
	if d.api == nil {
		return Answer{Why: "no KMS client for the source account"}, nil
	}
	out, err := d.api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		return Answer{Why: whyUndescribed(err)}, nil
	}
	if out.KeyMetadata == nil {
		return Answer{Why: "kms:DescribeKey answered without KeyMetadata"}, nil
	}
	switch m := Manager(out.KeyMetadata.KeyManager); m {
	case ManagerAWS, ManagerCustomer:
		return Answer{Manager: m, At: d.at}, nil
	default:
		return Answer{Why: fmt.Sprintf("kms:DescribeKey answered KeyManager %q, which shuffle does not know", m)}, nil
	}
}

// whyUndescribed says, for the operator, why KMS did not describe a key.
func whyUndescribed(err error) string {
	var nf *kmstypes.NotFoundException
	var api smithy.APIError
	switch {
	case awsclient.IsAccessDenied(err):
		return "kms:DescribeKey was denied (grant it to the source operator role, see `shuffle iam-policy`; a key in another account must also allow it in its key policy): " + errText(err)
	case errors.As(err, &nf):
		return "KMS does not know the key in the source account (NotFoundException; it may be deleted or in another account): " + errText(err)
	case errors.As(err, &api):
		return "kms:DescribeKey failed: " + errText(err)
	}
	return "kms:DescribeKey failed: " + err.Error()
}

func errText(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// Recorded answers from the cache alone, as the last command that asked
// KMS left it; it asks nothing and writes nothing (for a trace).
type Recorded struct{ Cache Cache }

// KeyManager is the recorded answer for arn.
func (r Recorded) KeyManager(arn string) Answer {
	k, ok, err := r.Cache.GetKMSKey(arn)
	switch {
	case err != nil:
		return Answer{Why: "the state could not be read: " + err.Error()}
	case !ok:
		return Answer{Why: "KMS was not asked about this key yet"}
	}
	return Answer{Manager: Manager(k.Manager), Why: k.Why, At: k.At}
}
