package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
)

// The destination key of a vault to create: the one its mapping names
// (alias/NAME, an alias ARN or a key ARN), resolved through KMS in the
// destination account before anything is created. A key that does not
// resolve holds back its vault only (WaitEncryptionKey), with a reason
// naming the vault, the key and what to do.

// KeyResolver resolves a destination key a vault mapping names
// (*kmskeys.Resolver).
type KeyResolver interface {
	Resolve(ctx context.Context, named string) (kmskeys.Key, error)
}

var _ KeyResolver = (*kmskeys.Resolver)(nil)

// ResolveKeys resolves the destination key each vault mapping names
// into plan.VaultPlan.Key, through r in account destAccount. A key that
// does not resolve is recorded with a reason naming it and what to do
// (keyProblem then holds back its vault only), and the other vaults go
// on. sourceAliasErr is why the source keys' aliases are unknown (nil:
// they are known): a customer-managed vault the mapping left unmapped
// says so. The error is ctx's.
func ResolveKeys(ctx context.Context, plans map[string]*plan.VaultPlan, r KeyResolver, destAccount string, sourceAliasErr error) error {
	for _, vp := range plans {
		vp.Key = plan.DestinationKey{}
		named := vp.Mapping.EncryptionKey
		switch {
		case vp.Mapping.Skip:
		case named != "":
			key, err := r.Resolve(ctx, named)
			if err := ctx.Err(); err != nil {
				return err
			}
			vp.Key = plan.DestinationKey{Named: named, Arn: key.Arn}
			switch {
			case err != nil:
				vp.Key.Problem = unresolvedKey(named, destAccount, err)
			case key.Unchecked:
				vp.Key.Problem = fmt.Sprintf("destination key %s could not be checked in KMS (%v); it is used as given, and CreateBackupVault says whether the vault may use it", named, key.Why)
			}
		case sourceAliasErr != nil && vp.Source.EncryptionKeyType == string(types.EncryptionKeyTypeCustomerManagedKmsKey):
			vp.Key.Problem = sourceAliasesUnknown(sourceAliasErr)
		}
	}
	return nil
}

// unresolvedKey says why named did not resolve in the destination
// account, and what to do.
func unresolvedKey(named, acct string, err error) string {
	what := "key " + named
	if kmskeys.IsAlias(named) {
		what = "alias " + named
	}
	var ke *kmskeys.Error
	state := "not usable"
	if errors.As(err, &ke) && ke.State != "" {
		state = ke.State
	}
	switch kmskeys.KindOf(err) {
	case kmskeys.NotFound:
		fix := "create it there (aws kms create-alias --alias-name " + named + " --target-key-id KEY_ID, with the destination profile)"
		if !kmskeys.IsAlias(named) {
			fix = "name an existing key"
		}
		return fmt.Sprintf("destination %s does not exist in account %s (KMS: not found): %s, or map this vault to another destination key in policies/vaults.lua (encryption_key)", what, acct, fix)
	case kmskeys.AccessDenied:
		return fmt.Sprintf("KMS refused to resolve destination %s (%v): allow kms:DescribeKey and kms:ListAliases to the destination profile's role (shuffle iam-policy prints them), or map this vault to a key ARN in policies/vaults.lua", what, err)
	case kmskeys.NoClient:
		return fmt.Sprintf("destination %s cannot be resolved: shuffle has no KMS client for account %s; map this vault to a key ARN in policies/vaults.lua", what, acct)
	case kmskeys.Unusable:
		return fmt.Sprintf("destination %s names a key that is %s in account %s, not Enabled: enable it (or cancel its deletion), or map this vault to another destination key in policies/vaults.lua", what, state, acct)
	}
	return fmt.Sprintf("KMS could not resolve destination %s (%v): run again, or map this vault to a key ARN in policies/vaults.lua", what, err)
}

// sourceAliasesUnknown says why the source keys' aliases are unknown,
// and what to do.
func sourceAliasesUnknown(err error) string {
	switch kmskeys.KindOf(err) {
	case kmskeys.NoClient:
		return "the source keys' aliases are unknown: shuffle has no KMS client for the source account"
	case kmskeys.AccessDenied:
		return fmt.Sprintf("the source keys' aliases could not be read (%v): allow kms:ListAliases to the source profile's role (shuffle iam-policy prints it), then run again", err)
	}
	return fmt.Sprintf("the source keys' aliases could not be read (%v): run again", err)
}

// keyProblem says why a vault to create has no destination key it may
// be created with ("" when there is no problem): the key its mapping
// names did not resolve (vp.Key.Problem says why and what to do), or
// its source vault is on a customer-managed key and the mapping names
// none.
func keyProblem(vp *plan.VaultPlan) string {
	named := vp.Mapping.EncryptionKey
	where := vp.Source.Name + " (destination " + vp.Mapping.Name + ")"
	switch {
	case named != "" && vp.Key.Arn == "":
		p := vp.Key.Problem
		if p == "" {
			p = "destination key " + named + " was not resolved through KMS; run again"
		}
		return where + ": " + p
	case named != "" || vp.Source.EncryptionKeyType != string(types.EncryptionKeyTypeCustomerManagedKmsKey):
		return ""
	}
	alias := "it has no alias in the source account"
	switch {
	case len(vp.SourceKeyAliases) > 0:
		alias = "alias/" + vp.SourceKeyAliases[0]
	case vp.Key.Problem != "":
		alias = "its aliases are unknown"
	}
	msg := fmt.Sprintf("%s: source key %s (%s) is customer-managed and policies/vaults.lua maps no destination key for it; give the vault encryption_key = \"alias/NAME\" (or an alias or key ARN of the destination account): in the shipped policy, M.keys[%q] = \"alias/NAME\"",
		where, vp.Source.EncryptionKeyArn, alias, vp.Source.Name)
	if vp.Key.Problem != "" {
		msg += "; " + vp.Key.Problem
	}
	return msg
}
