package kmskeys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// Alias is one alias of an account, as ListAliases lists it.
type Alias struct {
	Name   string // without the "alias/" prefix
	Arn    string // the alias ARN
	KeyArn string // the ARN of the key it names; "" when it names none
}

// AWSManaged says whether the alias is one AWS reserves for its managed
// keys (alias/aws/...): no customer alias can start so.
func (a Alias) AWSManaged() bool { return strings.HasPrefix(a.Name, "aws/") }

// ListAliases lists every alias of the account api answers for (all
// pages). A nil api gives an *Error of kind NoClient.
func ListAliases(ctx context.Context, api API) ([]Alias, error) {
	if api == nil {
		return nil, &Error{Kind: NoClient, Op: "ListAliases"}
	}
	var out []Alias
	p := kms.NewListAliasesPaginator(api, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, kmsError("ListAliases", "", err)
		}
		for _, e := range page.Aliases {
			name := strings.TrimPrefix(aws.ToString(e.AliasName), "alias/")
			out = append(out, Alias{Name: name, Arn: aws.ToString(e.AliasArn), KeyArn: targetArn(aws.ToString(e.AliasArn), aws.ToString(e.TargetKeyId))})
		}
	}
	return out, nil
}

// targetArn is the ARN of the key an alias names: its TargetKeyId is a
// key id in the alias's own account and region.
func targetArn(aliasArn, target string) string {
	if target == "" || strings.HasPrefix(target, "arn:") {
		return target
	}
	i := strings.LastIndex(aliasArn, ":alias/")
	if i < 0 {
		return ""
	}
	return aliasArn[:i] + ":key/" + target
}

// ByKey gives each key its customer aliases (names without "alias/",
// sorted), by key ARN. AWS managed aliases and aliases that name no key
// are left out.
func ByKey(aliases []Alias) map[string][]string {
	out := make(map[string][]string)
	for _, a := range aliases {
		if a.KeyArn == "" || a.AWSManaged() {
			continue
		}
		out[a.KeyArn] = append(out[a.KeyArn], a.Name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

// ErrorKind says why KMS gave no answer, so that callers can say what
// to do. Code compares the constants.
type ErrorKind string

// The kinds of an *Error.
const (
	// NotFound: KMS answered that the key or alias does not exist.
	NotFound ErrorKind = "not-found"
	// AccessDenied: KMS refused the caller the action.
	AccessDenied ErrorKind = "access-denied"
	// NoClient: there is no KMS client for the account, so KMS cannot
	// be asked.
	NoClient ErrorKind = "no-client"
	// Unusable: the key exists but is not Enabled (State says how).
	Unusable ErrorKind = "unusable"
	// Other: any other failure (throttling, network, an unknown error);
	// asking again may answer.
	Other ErrorKind = "other"
)

// Error is a KMS question that got no usable answer.
type Error struct {
	Kind  ErrorKind
	Op    string // the KMS action, e.g. DescribeKey
	Key   string // the key or alias asked about ("" for a listing)
	State string // the key state, for Unusable
	Err   error  // the AWS error, when there is one
}

func (e *Error) Error() string {
	what := e.Op
	if e.Key != "" {
		what += " " + e.Key
	}
	switch e.Kind {
	case NotFound:
		return what + ": not found"
	case AccessDenied:
		return what + ": access denied (" + e.Err.Error() + ")"
	case NoClient:
		return what + ": no KMS client for the account"
	case Unusable:
		return what + ": the key is " + e.State + ", not Enabled"
	}
	return what + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf is err's kind: Other for an error that is not an *Error.
func KindOf(err error) ErrorKind {
	var ke *Error
	if errors.As(err, &ke) {
		return ke.Kind
	}
	return Other
}

// kmsError wraps an error of a KMS call in an *Error.
func kmsError(op, key string, err error) error {
	var nf *types.NotFoundException
	var ae smithy.APIError
	kind := Other
	switch {
	case errors.As(err, &nf), errors.As(err, &ae) && ae.ErrorCode() == "NotFoundException":
		kind = NotFound
	case awsclient.IsAccessDenied(err):
		kind = AccessDenied
	}
	return &Error{Kind: kind, Op: op, Key: key, Err: err}
}

// Key is a destination key as KMS resolved it.
type Key struct {
	Named string // as asked: alias/NAME, an alias ARN or a key ARN
	Arn   string // the key ARN
	// Unchecked is set for a key ARN KMS could not describe (no client,
	// access denied, an error): it is used as given. Why says why.
	Unchecked bool
	Why       error
}

// IsAlias says whether named is an alias (alias/NAME or an alias ARN)
// rather than a key ARN.
func IsAlias(named string) bool {
	return strings.HasPrefix(named, "alias/") || strings.Contains(named, ":alias/")
}

// Resolver resolves the keys policies name in one account, asking KMS
// once per name and run (it caches every answer but an Other error). It
// is safe for concurrent use.
type Resolver struct {
	api     API
	mu      sync.Mutex
	keys    map[string]Key
	errs    map[string]error
	aliases []Alias // the account's aliases, once listed
	listErr error
	listed  bool
}

// NewResolver resolves through api (nil: KMS cannot be asked; then only
// key ARNs resolve, as given).
func NewResolver(api API) *Resolver {
	return &Resolver{api: api, keys: map[string]Key{}, errs: map[string]error{}}
}

// Resolve gives the key ARN named names. DescribeKey answers for all
// three forms; when it is denied, an alias is looked up in the
// account's ListAliases instead. A key ARN resolves to itself unless
// KMS says it does not exist or is not Enabled. errors.As finds an
// *Error in every error (KindOf).
func (r *Resolver) Resolve(ctx context.Context, named string) (Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[named]; ok {
		return k, nil
	}
	if err, ok := r.errs[named]; ok {
		return Key{}, err
	}
	k, err := r.resolve(ctx, named)
	switch {
	case err == nil:
		r.keys[named] = k
	case KindOf(err) != Other:
		r.errs[named] = err
	}
	return k, err
}

func (r *Resolver) resolve(ctx context.Context, named string) (Key, error) {
	alias := IsAlias(named)
	if r.api == nil {
		if alias {
			return Key{}, &Error{Kind: NoClient, Op: "DescribeKey", Key: named}
		}
		return Key{Named: named, Arn: named, Unchecked: true, Why: &Error{Kind: NoClient, Op: "DescribeKey", Key: named}}, nil
	}
	out, err := r.api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(named)})
	if err == nil && out.KeyMetadata != nil && aws.ToString(out.KeyMetadata.Arn) != "" {
		md := out.KeyMetadata
		if st := md.KeyState; st != "" && st != types.KeyStateEnabled {
			return Key{}, &Error{Kind: Unusable, Op: "DescribeKey", Key: named, State: string(st)}
		}
		return Key{Named: named, Arn: aws.ToString(md.Arn)}, nil
	}
	if err == nil {
		err = errors.New("DescribeKey answered without a key ARN")
	}
	err = kmsError("DescribeKey", named, err)
	kind := KindOf(err)
	switch {
	case kind == NotFound:
		return Key{}, err
	case !alias:
		// A key ARN needs no resolving: CreateBackupVault will say if
		// it is wrong.
		return Key{Named: named, Arn: named, Unchecked: true, Why: err}, nil
	case kind == AccessDenied:
		return r.fromListing(ctx, named, err)
	}
	return Key{}, err
}

// sameAccount says whether two alias ARNs are of the same account and
// region.
func sameAccount(a, b string) bool {
	i, j := strings.LastIndex(a, ":alias/"), strings.LastIndex(b, ":alias/")
	return i >= 0 && j >= 0 && a[:i] == b[:j]
}

// fromListing resolves an alias from the account's alias listing, after
// DescribeKey was denied (describeErr).
func (r *Resolver) fromListing(ctx context.Context, named string, describeErr error) (Key, error) {
	if !r.listed {
		r.aliases, r.listErr = ListAliases(ctx, r.api)
		r.listed = r.listErr == nil || KindOf(r.listErr) != Other
	}
	if r.listErr != nil {
		// Neither way answered: report the DescribeKey refusal, which
		// names what to allow first.
		return Key{}, fmt.Errorf("%w (and %v)", describeErr, r.listErr)
	}
	name := named[strings.Index(named, "alias/")+len("alias/"):]
	if strings.HasPrefix(named, "arn:") && !slices.ContainsFunc(r.aliases, func(a Alias) bool { return sameAccount(a.Arn, named) }) {
		// An alias ARN of an account the listing does not show: the
		// listing cannot tell.
		return Key{}, describeErr
	}
	for _, a := range r.aliases {
		if a.Name != name || (strings.HasPrefix(named, "arn:") && a.Arn != named) {
			continue
		}
		if a.KeyArn == "" {
			break
		}
		return Key{Named: named, Arn: a.KeyArn}, nil
	}
	return Key{}, &Error{Kind: NotFound, Op: "ListAliases", Key: named}
}
