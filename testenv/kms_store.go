package testenv

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The KMS state behind the KMS API (kms_api.go): keys (model.go's
// KMSKey, with their key policies), aliases, how a KeyId names a key,
// and the key-policy rules the API and copy jobs enforce. The caller
// holds w.mu.

// kmsAlias is one alias of an account. TargetArn is "" for the aliases
// AWS predefines for services whose AWS managed key does not exist yet.
type kmsAlias struct {
	Name      string // alias/NAME
	TargetArn string
	Created   time.Time
	Updated   time.Time
}

// setAlias points an alias at a key, creating the alias when needed.
func (a *account) setAlias(name, keyArn string, at time.Time) {
	if al := a.aliases[name]; al != nil {
		al.TargetArn, al.Updated = keyArn, at
		return
	}
	a.aliases[name] = &kmsAlias{Name: name, TargetArn: keyArn, Created: at, Updated: at}
}

// kmsKeyArn builds a key ARN; kmsAliasArn an alias ARN.
func kmsKeyArn(region, acct, id string) string {
	return "arn:aws:kms:" + region + ":" + acct + ":key/" + id
}
func kmsAliasArn(region, acct, name string) string {
	return "arn:aws:kms:" + region + ":" + acct + ":" + name
}

// keyIDOf is the key id at the end of a key ARN.
func keyIDOf(keyArn string) string { return keyArn[strings.LastIndexByte(keyArn, '/')+1:] }

// awsManagedKeyID is the stable key id of an account's AWS managed key
// for a predefined alias (aws/ebs...). aws/backup keeps the id the
// emulator has always given it (awsManagedBackupKeyID).
func awsManagedKeyID(acct, alias string) string {
	if alias == "aws/backup" {
		return awsManagedBackupKeyID(acct)
	}
	h := fmt.Sprintf("%016x%016x", hashString(alias+acct), hashString(acct+alias))
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// kmsRef is what a KeyId parameter names.
type kmsRef struct {
	acct  string // account the key or alias lives in
	alias string // alias/NAME when the KeyId names an alias
	id    string // key id when it names a key
	arn   bool   // the KeyId was an ARN
}

// parseKeyRef reads a KeyId: a key id, a key ARN, alias/NAME or an alias
// ARN. Plain ids and alias names are in the caller's account.
func (s *Server) parseKeyRef(keyID, caller string) (kmsRef, *apiError) {
	if keyID == "" {
		return kmsRef{}, kmsErr("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null").ptr()
	}
	if strings.HasPrefix(keyID, "alias/") {
		return kmsRef{acct: caller, alias: keyID}, nil
	}
	if !strings.HasPrefix(keyID, "arn:") {
		return kmsRef{acct: caller, id: keyID}, nil
	}
	f := strings.SplitN(keyID, ":", 6)
	if len(f) != 6 || f[1] != "aws" || f[2] != "kms" || len(f[4]) != 12 {
		return kmsRef{}, kmsErr("InvalidArnException", "ARN "+keyID+" is not a valid KMS key or alias ARN").ptr()
	}
	if f[3] != s.opts.Region {
		return kmsRef{}, kmsErr("InvalidArnException", "Invalid arn "+f[3]).ptr()
	}
	switch {
	case strings.HasPrefix(f[5], "key/") && len(f[5]) > len("key/"):
		return kmsRef{acct: f[4], id: f[5][len("key/"):], arn: true}, nil
	case strings.HasPrefix(f[5], "alias/") && len(f[5]) > len("alias/"):
		return kmsRef{acct: f[4], alias: f[5], arn: true}, nil
	}
	return kmsRef{}, kmsErr("InvalidArnException", "ARN "+keyID+" names neither a key (key/ID) nor an alias (alias/NAME)").ptr()
}

// lookupKey finds the key a reference names. A predefined AWS alias
// with no key yet gets its AWS managed key now, as DescribeKey does on
// AWS. Errors are KMS's NotFoundException.
func (s *Server) lookupKey(ref kmsRef, keyID string) (*KMSKey, *apiError) {
	a := s.w.accounts[ref.acct]
	if ref.alias != "" {
		var al *kmsAlias
		if a != nil {
			al = a.aliases[ref.alias]
		}
		if al == nil {
			return nil, kmsErr("NotFoundException", "Alias "+kmsAliasArn(s.opts.Region, ref.acct, ref.alias)+" is not found.").ptr()
		}
		if al.TargetArn == "" {
			s.createManagedKey(a, strings.TrimPrefix(ref.alias, "alias/"), s.now().UTC())
		}
		return a.keys[al.TargetArn], nil
	}
	var k *KMSKey
	if a != nil {
		k = a.keys[kmsKeyArn(s.opts.Region, ref.acct, ref.id)]
	}
	if k == nil {
		if !ref.arn {
			keyID = kmsKeyArn(s.opts.Region, ref.acct, ref.id)
		}
		return nil, kmsErr("NotFoundException", "Key '"+keyID+"' does not exist").ptr()
	}
	return k, nil
}

// createManagedKey makes the AWS managed key of a predefined alias
// (aws/NAME) in a and points the alias at it.
func (s *Server) createManagedKey(a *account, alias string, at time.Time) *KMSKey {
	k := &KMSKey{Arn: kmsKeyArn(s.opts.Region, a.id, awsManagedKeyID(a.id, alias)), Alias: alias, AWSManaged: true,
		Description: managedKeyDescription(alias), Created: at}
	k.Policy = awsManagedKeyPolicy(s.opts.Region, a.id, alias)
	s.w.addKey(a.id, k)
	return k
}

// aliasesOf lists the aliases of an account in name order, those
// pointing at keyArn only when it is not "".
func (a *account) aliasesOf(keyArn string) []*kmsAlias {
	out := make([]*kmsAlias, 0, len(a.aliases))
	for _, al := range a.aliases {
		if keyArn == "" || al.TargetArn == keyArn {
			out = append(out, al)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// keysInOrder lists an account's keys by key id.
func (a *account) keysInOrder() []*KMSKey {
	out := make([]*KMSKey, 0, len(a.keys))
	for _, k := range a.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return keyIDOf(out[i].Arn) < keyIDOf(out[j].Arn) })
	return out
}

// keyPolicyDecision evaluates a key's policy for a caller: "allowed",
// "explicitDeny" or "implicitDeny". kms:CallerAccount is set, and
// kms:ViaService is absent (the caller calls KMS directly).
func keyPolicyDecision(k *KMSKey, action string, p *principal) string {
	doc, err := ParsePolicy(k.Policy)
	if err != nil {
		return "implicitDeny"
	}
	return EvaluateResource(NamedPolicy{Id: "default", Type: "Resource Policy", Doc: doc}, EvalInput{
		Action: action, Resource: k.Arn, Principal: p.SessionArn, PrincipalAccount: p.Account,
		Context: map[string][]string{"kms:CallerAccount": {p.Account}},
	}).Decision
}

// CopyKeyActions are the KMS actions a key policy must allow the
// destination account for AWS Backup to copy a recovery point encrypted
// with that key into it.
var CopyKeyActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext"}

// keySharedWith says whether a key policy shares the key with account
// acct: an Allow statement whose Principal names the account (its id or
// root ARN) covers every CopyKeyActions action, and no Deny that applies
// to the account covers one of them. Conditions are not evaluated (a
// conditional Allow still counts).
func keySharedWith(policy, keyArn, acct string) bool {
	doc, err := ParsePolicy(policy)
	if err != nil {
		return false
	}
	caller := EvalInput{Principal: "arn:aws:iam::" + acct + ":root", PrincipalAccount: acct}
	for _, act := range CopyKeyActions {
		allowed := false
		for i := range doc.Statements {
			st := &doc.Statements[i]
			if !polActionMatch(st, act) || !polResourceMatch(st, keyArn) {
				continue
			}
			if st.Effect == "Deny" && polPrincipalMatch(st, caller) {
				return false
			}
			if st.Effect == "Allow" && namesAccount(st.Principal, acct) {
				allowed = true
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// namesAccount says whether a Principal's AWS values name acct by id or
// root ARN.
func namesAccount(pm map[string][]string, acct string) bool {
	for typ, vals := range pm {
		if !strings.EqualFold(typ, "AWS") {
			continue
		}
		for _, v := range vals {
			if v == acct || v == "arn:aws:iam::"+acct+":root" {
				return true
			}
		}
	}
	return false
}

// copyKeyRefusal is why a cross-account copy of rp into account dest
// fails for its key, or "" when the key does not stop it. Only types
// that are not fully managed keep their source key in a copy. A key
// testenv does not know is not judged. The caller holds w.mu.
func (s *Server) copyKeyRefusal(a *account, rp *RecoveryPoint, dest string) string {
	if typeInfo(rp.ResourceType).FullyManaged {
		return ""
	}
	k := a.keys[rp.EncryptionKeyArn]
	switch {
	case k == nil:
		return ""
	case k.AWSManaged:
		return "Copy job failed because the source recovery point is encrypted with the AWS managed key " + k.Alias + " (" + k.Arn +
			"), which cannot be shared with account " + dest + ". Re-encrypt the resource with a customer managed key shared with the destination account."
	case !keySharedWith(k.Policy, k.Arn, dest):
		return "Copy job failed because the key policy of the source KMS key " + k.Arn + " does not allow account " + dest +
			" to use it (" + strings.Join(CopyKeyActions, ", ") + "). Add a key policy statement that allows the destination account, then start the copy again."
	}
	return ""
}
