package kmskeys

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/glob"
)

// CopyActions are what AWS Backup needs the destination account to be
// allowed on a source key to copy a recovery point of a type that keeps
// its source key (not fully managed) into another account.
var CopyActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext"}

// ShareActions are the actions of the statement shuffle prints as the
// fix (CopyActions and the ones AWS Backup's own guidance adds).
var ShareActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"}

// ShareStatementSid names the statement ShareStatement builds.
const ShareStatementSid = "AllowDestinationAccountCopy"

// Sharing is what a key policy allows another account.
type Sharing struct {
	// Shared: an Allow names the account for every one of CopyActions
	// and no Deny for it covers one of them.
	Shared bool
	// Conditional: some action is allowed only by statements with a
	// Condition (they count as allowing; the operator should look).
	Conditional bool
	// Missing are the CopyActions no Allow grants the account.
	Missing []string
	// Denied are the CopyActions a Deny for the account covers.
	Denied []string
}

// statement is one key policy statement, as far as Shared reads it.
type statement struct {
	Sid       string          `json:"Sid"`
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal"`
	Action    stringList      `json:"Action"`
	Condition json.RawMessage `json:"Condition"`
}

// stringList is an IAM field that is a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// SharedWith evaluates a key policy for account: whether a statement
// with Effect Allow whose Principal names the account
// ("arn:aws:iam::ACCOUNT:root" or "ACCOUNT", alone or in a list) allows
// every one of CopyActions (wildcards such as kms:* match), and no Deny
// whose Principal names the account (or is "*") covers one of them.
// Statements with NotPrincipal or NotAction allow nothing here.
func SharedWith(policy, account string) (Sharing, error) {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return Sharing{}, fmt.Errorf("key policy is not JSON: %w", err)
	}
	var sts []statement
	if len(doc.Statement) > 0 && doc.Statement[0] == '{' {
		var one statement
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return Sharing{}, fmt.Errorf("key policy statement: %w", err)
		}
		sts = []statement{one}
	} else if len(doc.Statement) > 0 {
		if err := json.Unmarshal(doc.Statement, &sts); err != nil {
			return Sharing{}, fmt.Errorf("key policy statements: %w", err)
		}
	}
	var s Sharing
	for _, a := range CopyActions {
		plain, conditional, denied := false, false, false
		for _, st := range sts {
			if !covers(st.Action, a) {
				continue
			}
			switch {
			case strings.EqualFold(st.Effect, "Deny") && namesAccount(st.Principal, account, true):
				denied = true
			case strings.EqualFold(st.Effect, "Allow") && namesAccount(st.Principal, account, false):
				if hasCondition(st.Condition) {
					conditional = true
				} else {
					plain = true
				}
			}
		}
		switch {
		case denied:
			s.Denied = append(s.Denied, a)
		case !plain && !conditional:
			s.Missing = append(s.Missing, a)
		case !plain:
			s.Conditional = true
		}
	}
	s.Shared = len(s.Missing) == 0 && len(s.Denied) == 0
	return s, nil
}

// covers says whether an Action list covers action (IAM action names
// compare without case; * and ? are wildcards).
func covers(patterns []string, action string) bool {
	for _, p := range patterns {
		if glob.Match(p, action, glob.Fold) {
			return true
		}
	}
	return false
}

var rootARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):root$`)

// namesAccount says whether a Principal names account: "ACCOUNT" or
// "arn:PARTITION:iam::ACCOUNT:root" under "AWS", alone or in a list. With
// wildcard, "*" (or "AWS": "*") counts too: a Deny for everyone is a
// Deny for the account.
func namesAccount(raw json.RawMessage, account string, wildcard bool) bool {
	if len(raw) == 0 {
		return false
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return wildcard && star == "*"
	}
	var p map[string]stringList
	if json.Unmarshal(raw, &p) != nil {
		return false
	}
	for _, v := range p["AWS"] {
		if m := rootARN.FindStringSubmatch(v); (m != nil && m[1] == account) || v == account || (wildcard && v == "*") {
			return true
		}
	}
	return false
}

func hasCondition(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != "{}"
}

// ShareStatement is the key policy statement that shares a key with
// account for cross-account copies, in partition (as `shuffle check`
// prints it as the fix).
func ShareStatement(partition, account string) string {
	b, _ := json.Marshal(struct {
		Sid       string            `json:"Sid"`
		Effect    string            `json:"Effect"`
		Principal map[string]string `json:"Principal"`
		Action    []string          `json:"Action"`
		Resource  string            `json:"Resource"`
	}{ShareStatementSid, "Allow", map[string]string{"AWS": "arn:" + partition + ":iam::" + account + ":root"}, ShareActions, "*"})
	return string(b)
}
