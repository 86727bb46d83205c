package vaultpolicy

import (
	"sort"
	"strings"
)

// Access is what an access policy's Allow statements grant, as the
// compliance policy sees it (luabind.AccessSummary has the same fields).
type Access struct {
	Accounts     []string // account ids named by AWS principals (ARNs or ids), sorted
	AnyPrincipal bool     // an Allow to Principal "*" (with or without conditions)
	Services     []string // service principals
	Statements   int      // statements in the document (Allow and Deny)
	Invalid      string   // why the document could not be read ("" when it could)
}

// Summarize works out what an access policy's Allow statements grant.
func Summarize(doc string) Access {
	var s Access
	if strings.TrimSpace(doc) == "" {
		return s
	}
	p, err := Parse(doc)
	if err != nil {
		s.Invalid = err.Error()
		return s
	}
	s.Statements = len(p.Statements)
	accounts, services := map[string]bool{}, map[string]bool{}
	for _, st := range p.Statements {
		if st["Effect"] != "Allow" {
			continue
		}
		switch pr := st["Principal"].(type) {
		case string:
			if pr == "*" {
				s.AnyPrincipal = true
			}
		case map[string]any:
			for typ, v := range pr {
				s.AnyPrincipal = grantees(typ, strs(v), accounts, services) || s.AnyPrincipal
			}
		}
		if _, ok := st["NotPrincipal"]; ok {
			s.AnyPrincipal = true // an Allow with NotPrincipal grants everybody else
		}
	}
	s.Accounts = sortedKeys(accounts)
	s.Services = sortedKeys(services)
	return s
}

// grantees adds the accounts and services a Principal entry of type typ
// names; it reports whether the entry names any principal ("*").
func grantees(typ string, vals []string, accounts, services map[string]bool) (anyone bool) {
	for _, x := range vals {
		switch {
		case strings.EqualFold(typ, "Service"):
			services[x] = true
		case !strings.EqualFold(typ, "AWS"):
		case x == "*":
			anyone = true
		case IsAccountID(x):
			accounts[x] = true
		default:
			if f := strings.SplitN(x, ":", 6); len(f) == 6 && f[0] == "arn" && IsAccountID(f[4]) {
				accounts[f[4]] = true
			}
		}
	}
	return anyone
}

// sortedKeys lists m's keys, sorted (empty, not nil, when m is).
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
