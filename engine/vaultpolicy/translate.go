package vaultpolicy

import (
	"context"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/glob"
)

// Translator moves a source vault policy's statements to the
// destination vault: the source vault's ARN becomes the destination
// vault's, and principals and resources in the source account move to
// the destination account.
type Translator struct {
	SourceAccount, DestinationAccount string
	SourceVault, DestinationVault     string // vault ARNs
}

// Policy translates a source vault policy by the default rules
// (Default): statements for the source account and Deny statements are
// kept and translated, every other one dropped. Notes say which
// statements were dropped, and why, and which principals were
// rewritten.
func (t Translator) Policy(src string) ([]Statement, []string) {
	ds, notes, _ := t.Decide(context.Background(), src, nil) // no hook: no error
	return Written(ds), notes
}

// statement translates one statement; why is set when it cannot be.
func (t Translator) statement(st Statement) (out Statement, rewritten []string, why string) {
	out = deepCopy(st).(map[string]any)
	if c, ok := out["Condition"]; ok && mentions(c, t.SourceAccount) {
		return nil, nil, "its Condition names the source account " + t.SourceAccount + ", whose meaning on the destination shuffle cannot know"
	}
	for _, k := range []string{"Resource", "NotResource"} {
		v, ok := out[k]
		if !ok {
			continue
		}
		nv, bad := mapStrings(v, t.resource)
		if bad != "" {
			return nil, nil, "its " + k + " " + bad + " names something that does not exist in the destination account"
		}
		out[k] = nv
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		m, isMap := out[k].(map[string]any)
		if !isMap {
			continue // absent, or "*"
		}
		for typ, vals := range m {
			nv, _ := mapStrings(vals, func(s string) (string, bool) {
				n := t.principal(s)
				if n != s {
					rewritten = append(rewritten, s)
				}
				return n, true
			})
			m[typ] = nv
		}
	}
	return out, rewritten, ""
}

// resource maps a Resource value to the destination.
func (t Translator) resource(r string) (string, bool) {
	if r == "*" {
		return r, true
	}
	f := strings.SplitN(r, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return r, false
	}
	if f[4] != t.SourceAccount {
		// Another account: only a pattern over accounts still means
		// something on the destination vault.
		return r, strings.Contains(f[4], "*")
	}
	res := f[5]
	switch {
	case r == t.SourceVault:
		return t.DestinationVault, true
	case strings.HasPrefix(res, "backup-vault:") && glob.Match(r, t.SourceVault, glob.Sensitive):
		return t.DestinationVault, true
	case res == "*" || res == "recovery-point:*":
		f[4] = t.DestinationAccount
		return strings.Join(f, ":"), true
	}
	return r, false
}

// principal rewrites a principal in the source account to the
// destination account.
func (t Translator) principal(p string) string {
	if p == t.SourceAccount {
		return t.DestinationAccount
	}
	if f := strings.SplitN(p, ":", 6); len(f) == 6 && f[0] == "arn" && f[4] == t.SourceAccount {
		f[4] = t.DestinationAccount
		return strings.Join(f, ":")
	}
	return p
}

// mapStrings applies fn to a string or each string of a list; bad is
// the first value fn refused.
func mapStrings(v any, fn func(string) (string, bool)) (any, string) {
	switch x := v.(type) {
	case string:
		n, ok := fn(x)
		if !ok {
			return v, x
		}
		return n, ""
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			s, isStr := e.(string)
			if !isStr {
				out[i] = e
				continue
			}
			n, ok := fn(s)
			if !ok {
				return v, s
			}
			out[i] = n
		}
		return out, ""
	}
	return v, ""
}

// mentions reports whether any string in v contains s.
func mentions(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, s) || mentions(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}
