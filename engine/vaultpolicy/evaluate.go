package vaultpolicy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/glob"
)

// CopyAction is the action a source account needs on a destination
// vault for its copies to land there.
const CopyAction = "backup:CopyIntoBackupVault"

// CopyStatementSid is the Sid of the access-policy statement that lets
// the source account copy into a destination vault.
const CopyStatementSid = "ShuffleCopyFromSourceAccount"

// AllowsCopy reports whether the policy lets account acct copy into the
// vault vaultArn: an Allow of backup:CopyIntoBackupVault to the account
// (its id, its root or "*") and no Deny of it. Statements with a
// Condition or NotAction/NotResource/NotPrincipal are not counted either
// way, since shuffle cannot evaluate them.
func (p *Policy) AllowsCopy(acct, vaultArn string) bool {
	allowed := false
	for _, st := range p.Statements {
		if !copyApplies(st, acct, vaultArn) {
			continue
		}
		switch st["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// DeniesCopy names the first statement of the policy that explicitly
// denies account acct backup:CopyIntoBackupVault into vaultArn ("" when
// none does). An explicit Deny wins over any Allow, and shuffle never
// removes statements, so such a vault stays blocked until its owner
// changes the policy: reconcile cannot fix it.
func (p *Policy) DeniesCopy(acct, vaultArn string) string {
	for i, st := range p.Statements {
		if st["Effect"] == "Deny" && copyApplies(st, acct, vaultArn) {
			return StatementName(st, i)
		}
	}
	return ""
}

// copyApplies reports whether st is about account acct copying into
// vaultArn, as far as shuffle can tell without evaluating conditions.
func copyApplies(st Statement, acct, vaultArn string) bool {
	for _, k := range []string{"Condition", "NotAction", "NotResource", "NotPrincipal"} {
		if _, ok := st[k]; ok {
			return false
		}
	}
	// IAM action names compare case-insensitively, resources exactly.
	if !glob.Any(strs(st["Action"]), CopyAction, glob.Fold) || !glob.Any(strs(st["Resource"]), vaultArn, glob.Sensitive) {
		return false
	}
	switch pr := st["Principal"].(type) {
	case string:
		return pr == "*"
	case map[string]any:
		for typ, v := range pr {
			if strings.EqualFold(typ, "AWS") && namesAccount(strs(v), acct) {
				return true
			}
		}
	}
	return false
}

// namesAccount reports whether AWS principals name account acct: "*",
// its id or its root.
func namesAccount(principals []string, acct string) bool {
	for _, s := range principals {
		if s == "*" || s == acct {
			return true
		}
		if f := strings.SplitN(s, ":", 6); len(f) == 6 && f[0] == "arn" && f[2] == "iam" && f[4] == acct && f[5] == "root" {
			return true
		}
	}
	return false
}

// CopyStatement is the statement that lets account srcAcct copy into a
// vault (the one replication adds).
func CopyStatement(srcAcct, partition string) Statement {
	return Statement{
		"Sid": CopyStatementSid, "Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:" + partition + ":iam::" + srcAcct + ":root"},
		"Action":    CopyAction, "Resource": "*",
	}
}

// CopyStatementJSON is CopyStatement as JSON.
func CopyStatementJSON(srcAcct, partition string) string {
	b, _ := json.Marshal(CopyStatement(srcAcct, partition))
	return string(b)
}

// CopyDeniedReason is the reason a vault whose access policy denies the
// source account copies is blocked, for run, plan and check alike.
func CopyDeniedReason(vault, stmt, acct string) string {
	return fmt.Sprintf("the access policy of %s denies backup:CopyIntoBackupVault to account %s (statement %s), so every copy into it would fail with AccessDenied; an explicit Deny wins over any Allow and shuffle never removes statements: remove or narrow that statement, then run again",
		vault, acct, stmt)
}
