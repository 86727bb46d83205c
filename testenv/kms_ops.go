package testenv

import (
	"strings"
)

// The KMS operations (kms_api.go routes them). Each runs under w.mu and
// returns its answer or a KMS error.

type kmsKeyEntry struct {
	KeyId  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

func (s *Server) kmsListKeys(c *call) (any, *apiError) {
	var in kmsListIn
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	if e := kmsListAuthorize(c, "kms:ListKeys"); e != nil {
		return nil, e
	}
	keys := c.acct().keysInOrder()
	from, to, next, e := kmsPage(in, len(keys), 100, 1000, "kmskeys")
	if e != nil {
		return nil, e
	}
	out := struct {
		Keys       []kmsKeyEntry `json:"Keys"`
		Truncated  bool          `json:"Truncated"`
		NextMarker string        `json:"NextMarker,omitempty"`
	}{Keys: []kmsKeyEntry{}, Truncated: next != "", NextMarker: next}
	for _, k := range keys[from:to] {
		out.Keys = append(out.Keys, kmsKeyEntry{KeyId: keyIDOf(k.Arn), KeyArn: k.Arn})
	}
	return out, nil
}

type kmsAliasEntry struct {
	AliasName       string `json:"AliasName"`
	AliasArn        string `json:"AliasArn"`
	TargetKeyId     string `json:"TargetKeyId,omitempty"`
	CreationDate    *epoch `json:"CreationDate,omitempty"`
	LastUpdatedDate *epoch `json:"LastUpdatedDate,omitempty"`
}

// kmsListAliases lists the caller's aliases in name order, those of one
// key with KeyId. AWS documents a page of at most 100 aliases whatever
// the Limit.
func (s *Server) kmsListAliases(c *call) (any, *apiError) {
	var in kmsListIn
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	if e := kmsListAuthorize(c, "kms:ListAliases"); e != nil {
		return nil, e
	}
	target := ""
	if in.KeyId != "" {
		k, e := s.kmsOwnKey(c, in.KeyId, "kms:ListAliases")
		if e != nil {
			return nil, e
		}
		target = k.Arn
	}
	als := c.acct().aliasesOf(target)
	from, to, next, e := kmsPage(in, len(als), 50, 100, "kmsaliases")
	if e != nil {
		return nil, e
	}
	out := struct {
		Aliases    []kmsAliasEntry `json:"Aliases"`
		Truncated  bool            `json:"Truncated"`
		NextMarker string          `json:"NextMarker,omitempty"`
	}{Aliases: []kmsAliasEntry{}, Truncated: next != "", NextMarker: next}
	for _, al := range als[from:to] {
		en := kmsAliasEntry{AliasName: al.Name, AliasArn: kmsAliasArn(s.opts.Region, c.p.Account, al.Name)}
		if al.TargetArn != "" {
			en.TargetKeyId, en.CreationDate, en.LastUpdatedDate = keyIDOf(al.TargetArn), ep(al.Created), ep(al.Updated)
		}
		out.Aliases = append(out.Aliases, en)
	}
	return out, nil
}

type kmsKeyMetadata struct {
	AWSAccountId          string   `json:"AWSAccountId"`
	KeyId                 string   `json:"KeyId"`
	Arn                   string   `json:"Arn"`
	CreationDate          *epoch   `json:"CreationDate"`
	Enabled               bool     `json:"Enabled"`
	Description           string   `json:"Description"`
	KeyUsage              string   `json:"KeyUsage"`
	KeyState              string   `json:"KeyState"`
	Origin                string   `json:"Origin"`
	KeyManager            string   `json:"KeyManager"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	KeySpec               string   `json:"KeySpec"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms"`
	MultiRegion           bool     `json:"MultiRegion"`
}

func keyMetadata(k *KMSKey) kmsKeyMetadata {
	f := strings.SplitN(k.Arn, ":", 6)
	m := kmsKeyMetadata{AWSAccountId: f[4], KeyId: keyIDOf(k.Arn), Arn: k.Arn, CreationDate: ep(k.Created), Enabled: true,
		Description: k.Description, KeyUsage: "ENCRYPT_DECRYPT", KeyState: "Enabled", Origin: "AWS_KMS", KeyManager: "CUSTOMER",
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", KeySpec: "SYMMETRIC_DEFAULT", EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}}
	if k.AWSManaged {
		m.KeyManager = "AWS"
	}
	return m
}

// kmsDescribeKey describes a key named by id, key ARN, alias name or
// alias ARN; another account's key only by ARN, and only when its key
// policy allows the caller's account.
func (s *Server) kmsDescribeKey(c *call) (any, *apiError) {
	var in struct{ KeyId string }
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	ref, e := s.parseKeyRef(in.KeyId, c.p.Account)
	if e != nil {
		return nil, e
	}
	k, e := s.lookupKey(ref, in.KeyId)
	if e != nil {
		return nil, e
	}
	if e := kmsAuthorize(c, "kms:DescribeKey", k); e != nil {
		return nil, e
	}
	return map[string]any{"KeyMetadata": keyMetadata(k)}, nil
}

type kmsPolicyIn struct {
	KeyId                          string
	PolicyName                     string
	Policy                         string
	BypassPolicyLockoutSafetyCheck bool
}

// kmsPolicyKey resolves a policy operation's key and checks its
// PolicyName (only "default" exists) and the caller's permission.
func (s *Server) kmsPolicyKey(c *call, in kmsPolicyIn, action string) (*KMSKey, *apiError) {
	k, e := s.kmsOwnKey(c, in.KeyId, action)
	if e != nil {
		return nil, e
	}
	if e := kmsAuthorize(c, action, k); e != nil {
		return nil, e
	}
	if in.PolicyName != "" && in.PolicyName != "default" {
		return nil, kmsErr("NotFoundException", "No such policy exists: "+in.PolicyName+" (the only key policy name is default)").ptr()
	}
	return k, nil
}

func (s *Server) kmsGetKeyPolicy(c *call) (any, *apiError) {
	var in kmsPolicyIn
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	k, e := s.kmsPolicyKey(c, in, "kms:GetKeyPolicy")
	if e != nil {
		return nil, e
	}
	return map[string]string{"Policy": k.Policy, "PolicyName": "default"}, nil
}

// kmsPutKeyPolicy replaces a key policy. Like KMS, it refuses a policy
// that would stop the caller from changing it again, unless told to
// bypass that check.
func (s *Server) kmsPutKeyPolicy(c *call) (any, *apiError) {
	var in kmsPolicyIn
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	k, e := s.kmsPolicyKey(c, in, "kms:PutKeyPolicy")
	if e != nil {
		return nil, e
	}
	if _, err := ParsePolicy(in.Policy); err != nil {
		return nil, kmsErr("MalformedPolicyDocumentException", "The key policy is not valid: "+err.Error()).ptr()
	}
	if !in.BypassPolicyLockoutSafetyCheck && keyPolicyDecision(&KMSKey{Arn: k.Arn, Policy: in.Policy}, "kms:PutKeyPolicy", c.p) != "allowed" {
		return nil, kmsErr("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.").ptr()
	}
	k.Policy = in.Policy
	return nil, nil
}

// kmsAliasName checks an alias name a caller may create or delete.
func kmsAliasName(name string) *apiError {
	switch {
	case name == "":
		return kmsErr("ValidationException", "1 validation error detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null").ptr()
	case !aliasNameRE.MatchString(name):
		return kmsErr("InvalidAliasNameException", "Alias name "+name+" must begin with alias/ followed by letters, digits, /, _ or -").ptr()
	case strings.HasPrefix(name, "alias/aws/"):
		return kmsErr("InvalidAliasNameException", "Alias name "+name+" must not begin with alias/aws/, which is reserved for AWS managed keys").ptr()
	}
	return nil
}

func (s *Server) kmsCreateAlias(c *call) (any, *apiError) {
	var in struct{ AliasName, TargetKeyId string }
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	if e := kmsAliasName(in.AliasName); e != nil {
		return nil, e
	}
	aliasArn := kmsAliasArn(s.opts.Region, c.p.Account, in.AliasName)
	if e := c.authorize("kms:CreateAlias", aliasArn, nil); e != nil {
		return nil, kmsErr("AccessDeniedException", e.Message).ptr()
	}
	k, e := s.kmsOwnKey(c, in.TargetKeyId, "kms:CreateAlias")
	if e != nil {
		return nil, e
	}
	if e := kmsAuthorize(c, "kms:CreateAlias", k); e != nil {
		return nil, e
	}
	a := c.acct()
	if a.aliases[in.AliasName] != nil {
		return nil, kmsErr("AlreadyExistsException", "An alias with the name "+aliasArn+" already exists").ptr()
	}
	a.setAlias(in.AliasName, k.Arn, s.now().UTC())
	return nil, nil
}

func (s *Server) kmsDeleteAlias(c *call) (any, *apiError) {
	var in struct{ AliasName string }
	if e := kmsDecode(c, &in); e != nil {
		return nil, e
	}
	if e := kmsAliasName(in.AliasName); e != nil {
		return nil, e
	}
	aliasArn := kmsAliasArn(s.opts.Region, c.p.Account, in.AliasName)
	if e := c.authorize("kms:DeleteAlias", aliasArn, nil); e != nil {
		return nil, kmsErr("AccessDeniedException", e.Message).ptr()
	}
	a := c.acct()
	al := a.aliases[in.AliasName]
	if al == nil {
		return nil, kmsErr("NotFoundException", "Alias "+aliasArn+" is not found.").ptr()
	}
	if e := kmsAuthorize(c, "kms:DeleteAlias", a.keys[al.TargetArn]); e != nil {
		return nil, e
	}
	delete(a.aliases, in.AliasName)
	return nil, nil
}
