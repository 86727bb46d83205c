package plan

import (
	"context"
	"fmt"

	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The aws-managed-key rule. AWS Backup copies a recovery point of a type
// that is not fully managed with its source key, so the destination
// account must be able to use that key: an AWS-managed key never lets
// another account. EncryptionKeyType says which kind of key it is when
// AWS sends it; AWS documents two values and may leave the field out,
// so anything else is asked of KMS (DescribeKey's KeyManager), and a key
// KMS will not describe is not refused: the copy is tried, and AWS's
// answer to the job says the rest.

// The EncryptionKeyType values AWS documents.
const (
	KeyTypeAWSOwned = "AWS_OWNED_KMS_KEY"
	KeyTypeCustomer = "CUSTOMER_MANAGED_KMS_KEY"
)

// KeyManagers answers who manages a KMS key, as KMS said
// (*kmskeys.Describer satisfies it, once it learnt the key).
type KeyManagers interface {
	KeyManager(arn string) kmskeys.Answer
}

// KeyLearner asks KMS about a key before a decision depends on it, once
// per key (*kmskeys.Describer). Its error is the context's or the
// state's; KMS refusing to answer is an unknown answer.
type KeyLearner interface {
	KeyManagers
	Learn(ctx context.Context, arn string) (kmskeys.Answer, error)
}

// learnKey asks about rp's key when the aws-managed-key rule needs it.
func learnKey(ctx context.Context, rp *state.RP, keys KeyLearner) error {
	if keys == nil || !NeedsKeyManager(rp) {
		return nil
	}
	_, err := keys.Learn(ctx, rp.EncryptionKeyArn)
	return err
}

// NeedsKeyManager says whether the aws-managed-key rule must ask KMS
// about rp's key: an encrypted RP of a type that is not fully managed
// whose EncryptionKeyType is neither documented value.
func NeedsKeyManager(rp *state.RP) bool {
	return rp.IsEncrypted && !FullyManagedTypes[rp.ResourceType] && !NotCopyableTypes[rp.ResourceType] &&
		rp.EncryptionKeyType != KeyTypeAWSOwned && rp.EncryptionKeyType != KeyTypeCustomer
}

// RefusesKey is the aws-managed-key rule alone, for the pre-flight
// check that counts what it refuses: the same code decides both.
func RefusesKey(rp *state.RP, keys KeyManagers) (reason string, bad bool) {
	return managedKey(rp, keys)
}

// managedKey is the aws-managed-key rule.
func managedKey(rp *state.RP, keys KeyManagers) (reason string, bad bool) {
	if !rp.IsEncrypted || FullyManagedTypes[rp.ResourceType] {
		return "", false
	}
	switch rp.EncryptionKeyType {
	case KeyTypeCustomer:
		return "", false
	case KeyTypeAWSOwned:
		return fmt.Sprintf("%s recovery point encrypted with an AWS-owned key (EncryptionKeyType %s); only customer-managed keys shared with the destination can be copied across accounts", rp.ResourceType, KeyTypeAWSOwned), true
	}
	if a := keyAnswer(rp, keys); a.Manager == kmskeys.ManagerAWS {
		return fmt.Sprintf("%s recovery point encrypted with key %s, which KMS says is AWS-managed (DescribeKey KeyManager AWS); only customer-managed keys shared with the destination can be copied across accounts", rp.ResourceType, rp.EncryptionKeyArn), true
	}
	return "", false
}

func keyAnswer(rp *state.RP, keys KeyManagers) kmskeys.Answer {
	if keys == nil {
		return kmskeys.Answer{Why: "KMS was not asked"}
	}
	return keys.KeyManager(rp.EncryptionKeyArn)
}

// KeyNote is what the aws-managed-key rule has to say of an RP it let
// through without knowing who manages its key (empty otherwise): the
// RP is copied, and if AWS refuses the copy, the job's answer says so.
func KeyNote(rp *state.RP, keys KeyManagers) string {
	if !NeedsKeyManager(rp) {
		return ""
	}
	a := keyAnswer(rp, keys)
	if a.Manager != kmskeys.ManagerUnknown {
		return ""
	}
	typ := rp.EncryptionKeyType
	if typ == "" {
		typ = "none"
	}
	return fmt.Sprintf("key manager unknown for key %s (EncryptionKeyType %s; %s): not refused, the copy is tried and a copy AWS fails is classified from the job's answer", rp.EncryptionKeyArn, typ, a.Why)
}

// keyUnknown says whether the aws-managed-key rule decides rp without
// knowing who manages its key.
func keyUnknown(rp *state.RP, keys KeyManagers) bool {
	return NeedsKeyManager(rp) && keyAnswer(rp, keys).Manager == kmskeys.ManagerUnknown
}

// keyLearnedSince says whether KMS told who manages rp's key after
// decision d was made: the aws-managed-key rule may now answer
// otherwise.
func keyLearnedSince(rp *state.RP, d *state.Decision, keys KeyManagers) bool {
	if keys == nil || !NeedsKeyManager(rp) {
		return false
	}
	a := keys.KeyManager(rp.EncryptionKeyArn)
	return a.Manager != kmskeys.ManagerUnknown && a.At.After(d.At)
}

// RuleNotes are the notes of the rules an RP passed, for a decision
// trace (query.ExplainWith): the aws-managed-key rule says when it let
// the RP through without knowing who manages its key.
func RuleNotes(keys KeyManagers) func(rp *state.RP, rule string) string {
	return func(rp *state.RP, rule string) string {
		if rule != RuleManagedKey {
			return ""
		}
		return KeyNote(rp, keys)
	}
}
