package vaultpolicy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Verdict is what the access translation does with one statement of a
// source vault's access policy. Its values are the strings vaults.lua's
// access_statement returns (docs/lua-api.md).
type Verdict string

// Verdicts of a Decision.
const (
	Keep    Verdict = "keep"    // translated to the destination (Translator) and written
	Drop    Verdict = "drop"    // not written
	Rewrite Verdict = "rewrite" // the policy's own statement is written instead
)

// Decision is the fate of one source statement.
type Decision struct {
	Index   int    // 0-based position in the source policy
	Name    string // Sid, or "statement N"
	Verdict Verdict
	// Statement is what is written on the destination (nil when dropped).
	Statement Statement
	// Translated is the statement as Keep writes it: the Translator's
	// rewrite (nil when it cannot be translated; Why says why).
	Translated Statement
	Why        string // why it is dropped, or the policy's reason
	By         string // "default", or the policy file that decided
}

// Default decides a statement without a policy: an Allow whose principals
// are all in the source account is kept (rewritten to the destination
// account), a Deny is kept (it only narrows access), and everything else
// is dropped: Principal "*" (even under an organization condition),
// other accounts, services, NotPrincipal, and statements that cannot be
// translated.
func (t Translator) Default(st Statement, i int) Decision {
	d := Decision{Index: i, Name: StatementName(st, i), By: "default"}
	tr, _, why := t.statement(st)
	if why == "" {
		d.Translated = tr
	}
	switch {
	case why != "":
		d.Verdict, d.Why = Drop, why
	case st["Effect"] == "Deny":
		d.Verdict, d.Statement = Keep, tr
	default:
		if w := t.foreignGrant(st); w != "" {
			d.Verdict, d.Why = Drop, w
		} else {
			d.Verdict, d.Statement = Keep, tr
		}
	}
	return d
}

// foreignGrant says what an Allow statement grants beyond the source
// account ("" when its principals are all in the source account).
func (t Translator) foreignGrant(st Statement) string {
	if _, ok := st["NotPrincipal"]; ok {
		return "it is an Allow with NotPrincipal, which admits everybody but the principals it names"
	}
	cond := ""
	if c, ok := st["Condition"].(map[string]any); ok {
		var keys []string
		for _, m := range c {
			if mm, ok := m.(map[string]any); ok {
				for k := range mm {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			cond = " under the condition " + strings.Join(slices.Compact(keys), ", ")
		}
	}
	switch pr := st["Principal"].(type) {
	case nil:
		return "it has no Principal"
	case string:
		return `it admits Principal "*"` + cond + "; only statements for the source account are copied by default"
	case map[string]any:
		types := make([]string, 0, len(pr))
		for typ := range pr {
			types = append(types, typ)
		}
		sort.Strings(types)
		for _, typ := range types {
			for _, x := range strs(pr[typ]) {
				switch {
				case !strings.EqualFold(typ, "AWS"):
					return "it admits the " + typ + " principal " + x + "; only statements for the source account are copied by default"
				case x == "*":
					return `it admits Principal "*"` + cond + "; only statements for the source account are copied by default"
				case Account(x) != t.SourceAccount && x != t.SourceAccount:
					return "it admits " + x + ", outside the source account " + t.SourceAccount + "; only statements for the source account are copied by default"
				}
			}
		}
		return ""
	}
	return "its Principal is neither \"*\" nor an object"
}

// Hook decides a statement in place of the default (vaults.lua's
// access_statement); d is the default's decision. It returns the
// decision to apply, or an error when the policy failed or answered
// something that is not a decision.
type Hook func(ctx context.Context, st Statement, d Decision) (Decision, error)

// Decide decides every statement of a source policy, by hook when there
// is one, else by Default. The copy statement (CopyStatementSid) is left
// out: shuffle adds its own. A rewritten statement must be valid
// (Validate). Notes say which statements were dropped or rewritten and
// why, and which principals were rewritten to the destination account.
func (t Translator) Decide(ctx context.Context, src string, hook Hook) ([]Decision, []string, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil, nil
	}
	p, err := Parse(src)
	if err != nil {
		return nil, []string{"the source access policy cannot be read (" + err.Error() + "); none of its statements were replicated"}, nil
	}
	var out []Decision
	var notes, rewritten []string
	for i, st := range p.Statements {
		if Sid(st) == CopyStatementSid {
			continue
		}
		d := t.Default(st, i)
		if hook != nil {
			if d, err = hook(ctx, st, d); err != nil {
				return nil, nil, err
			}
		}
		switch d.Verdict {
		case Drop:
			notes = append(notes, "source access-policy statement "+d.Name+" not replicated ("+d.By+"): "+orNoReason(d.Why))
		case Rewrite:
			notes = append(notes, "source access-policy statement "+d.Name+" rewritten by "+d.By+": "+orNoReason(d.Why))
		case Keep:
			_, rw, _ := t.statement(st)
			rewritten = append(rewritten, rw...)
			if d.By != "default" && d.Why != "" {
				notes = append(notes, "source access-policy statement "+d.Name+" kept by "+d.By+": "+d.Why)
			}
		}
		out = append(out, d)
	}
	if len(rewritten) > 0 {
		sort.Strings(rewritten)
		rewritten = slices.Compact(rewritten)
		to := "account " + t.DestinationAccount
		if t.DestinationAccount == "" {
			to = "the destination account"
		}
		notes = append(notes, "access-policy principals in account "+t.SourceAccount+" are rewritten to "+to+
			" (this assumes same-named principals exist there): "+strings.Join(rewritten, ", "))
	}
	return out, notes, nil
}

// Written are the statements the decisions write (kept or rewritten).
func Written(ds []Decision) []Statement {
	var out []Statement
	for _, d := range ds {
		if d.Verdict != Drop && d.Statement != nil {
			out = append(out, d.Statement)
		}
	}
	return out
}

func orNoReason(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// statementKeys are the elements a vault access-policy statement may have.
var statementKeys = map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}

// Validate says what is wrong with a statement to be written ("" when
// nothing is): the elements IAM allows, Effect Allow or Deny, an Action
// or NotAction, a Principal or NotPrincipal, string or string-list
// values, a Condition of operator objects; and it must encode as JSON.
func Validate(st Statement) string {
	for k := range st {
		if !statementKeys[k] {
			return fmt.Sprintf("unknown element %q (known: Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)", k)
		}
	}
	if e := st["Effect"]; e != "Allow" && e != "Deny" {
		return fmt.Sprintf("Effect is %v; want \"Allow\" or \"Deny\"", e)
	}
	if sid, ok := st["Sid"]; ok {
		if s, isStr := sid.(string); !isStr || !sidRe(s) {
			return fmt.Sprintf("Sid %v must be letters and digits", sid)
		}
	}
	if one(st, "Action", "NotAction") != 1 {
		return "it needs exactly one of Action and NotAction"
	}
	if one(st, "Principal", "NotPrincipal") != 1 {
		return "it needs exactly one of Principal and NotPrincipal (a vault access policy is a resource policy)"
	}
	if one(st, "Resource", "NotResource") > 1 {
		return "it has both Resource and NotResource"
	}
	for _, k := range []string{"Action", "NotAction", "Resource", "NotResource"} {
		if v, ok := st[k]; ok && !stringOrList(v) {
			return k + " must be a string or a list of strings"
		}
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		v, ok := st[k]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			if x != "*" {
				return k + ` must be "*" or an object like { AWS = "arn:aws:iam::ACCOUNT:root" }`
			}
		case map[string]any:
			for typ, vals := range x {
				if !stringOrList(vals) {
					return k + "." + typ + " must be a string or a list of strings"
				}
			}
		default:
			return k + ` must be "*" or an object like { AWS = "arn:aws:iam::ACCOUNT:root" }`
		}
	}
	if c, ok := st["Condition"]; ok {
		cm, isMap := c.(map[string]any)
		if !isMap {
			return "Condition must be an object of operators, like { StringEquals = { [\"aws:PrincipalOrgID\"] = \"o-...\" } }"
		}
		for op, m := range cm {
			if _, isMap := m.(map[string]any); !isMap {
				return "Condition." + op + " must be an object of condition keys"
			}
		}
	}
	if _, err := json.Marshal(st); err != nil {
		return "it does not encode as JSON: " + err.Error()
	}
	return ""
}

func one(st Statement, a, b string) int {
	n := 0
	for _, k := range []string{a, b} {
		if _, ok := st[k]; ok {
			n++
		}
	}
	return n
}

func stringOrList(v any) bool {
	switch x := v.(type) {
	case string:
		return x != ""
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return len(x) > 0
	}
	return false
}

func sidRe(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
