package testenv

import (
	"sort"
	"strconv"
	"strings"
)

// Evaluating IAM policies: identity and resource policies, actions,
// resources, principals and conditions.

// EvaluateIdentity evaluates identity policies; Principal elements are ignored.
func EvaluateIdentity(policies []NamedPolicy, in EvalInput) EvalResult {
	return polEvaluate(policies, in, false)
}

// EvaluateResource evaluates a resource policy: a statement applies only
// when its Principal/NotPrincipal matches the caller.
func EvaluateResource(policy NamedPolicy, in EvalInput) EvalResult {
	return polEvaluate([]NamedPolicy{policy}, in, true)
}

func polEvaluate(policies []NamedPolicy, in EvalInput, resource bool) EvalResult {
	ctx := make(map[string][]string, len(in.Context))
	for k, v := range in.Context {
		ctx[strings.ToLower(k)] = append(ctx[strings.ToLower(k)], v...)
	}
	missing := map[string]string{}
	var allows, denies []MatchedStatement
	for _, p := range policies {
		if p.Doc == nil {
			continue
		}
		for i := range p.Doc.Statements {
			st := &p.Doc.Statements[i]
			if !polActionMatch(st, in.Action) || !polResourceMatch(st, in.Resource) {
				continue
			}
			if resource && !polPrincipalMatch(st, in) {
				continue
			}
			if !polConditions(st.Condition, ctx, missing) {
				continue
			}
			m := MatchedStatement{PolicyId: p.Id, PolicyType: p.Type, Statement: st}
			if st.Effect == "Deny" {
				denies = append(denies, m)
			} else {
				allows = append(allows, m)
			}
		}
	}
	res := EvalResult{Decision: "implicitDeny"}
	switch {
	case len(denies) > 0:
		res.Decision, res.Matched = "explicitDeny", denies
	case len(allows) > 0:
		res.Decision, res.Matched = "allowed", allows
	}
	for _, k := range missing {
		res.MissingContext = append(res.MissingContext, k)
	}
	sort.Strings(res.MissingContext)
	return res
}

func polActionMatch(st *Statement, action string) bool {
	if st.NotAction != nil {
		return !polAny(st.NotAction, action, true)
	}
	return polAny(st.Action, action, true)
}

func polResourceMatch(st *Statement, res string) bool {
	if st.NotResource != nil {
		return !polAny(st.NotResource, res, false)
	}
	return st.Resource == nil || polAny(st.Resource, res, false)
}

func polAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if polGlob(p, s, fold) {
			return true
		}
	}
	return false
}

// polGlob matches s against a pattern with * and ? wildcards.
func polGlob(p, s string, fold bool) bool {
	if fold {
		p, s = strings.ToLower(p), strings.ToLower(s)
	}
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func polPrincipalMatch(st *Statement, in EvalInput) bool {
	if st.NotPrincipal != nil {
		return !polPrincipalIn(st.NotPrincipal, in)
	}
	return st.Principal != nil && polPrincipalIn(st.Principal, in)
}

func polPrincipalIn(pm map[string][]string, in EvalInput) bool {
	acct := in.PrincipalAccount
	if f := strings.SplitN(in.Principal, ":", 6); acct == "" && len(f) == 6 && f[0] == "arn" {
		acct = f[4]
	}
	for typ, vals := range pm {
		for _, v := range vals {
			switch {
			case v == "*":
				return true
			case strings.EqualFold(typ, "AWS"):
				if polAWSPrincipal(v, in.Principal, acct) {
					return true
				}
			case strings.EqualFold(v, in.Principal):
				return true
			}
		}
	}
	return false
}

// polAWSPrincipal matches an "AWS" principal value: an account id or
// root ARN matches the whole account, a role ARN matches the role and
// its sessions, anything else must equal the caller ARN.
func polAWSPrincipal(v, caller, acct string) bool {
	if v == caller {
		return true
	}
	if _, err := strconv.ParseUint(v, 10, 64); err == nil && len(v) == 12 {
		return v == acct
	}
	f := strings.SplitN(v, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return false
	}
	if f[5] == "root" {
		return f[4] == acct
	}
	if f[2] == "iam" && strings.HasPrefix(f[5], "role/") {
		name := f[5][strings.LastIndexByte(f[5], '/')+1:]
		c := strings.SplitN(caller, ":", 6)
		return len(c) == 6 && c[1] == f[1] && c[2] == "sts" && c[4] == f[4] &&
			strings.HasPrefix(c[5], "assumed-role/"+name+"/")
	}
	return false
}

// polConditions reports whether all conditions hold. It evaluates every
// condition, recording referenced keys absent from ctx in missing.
func polConditions(cond map[string]map[string][]string, ctx map[string][]string, missing map[string]string) bool {
	ok := true
	for op, keys := range cond {
		for key, want := range keys {
			got := ctx[strings.ToLower(key)]
			if len(got) == 0 {
				if _, seen := missing[strings.ToLower(key)]; !seen {
					missing[strings.ToLower(key)] = key
				}
			}
			if !polCond(op, want, got) {
				ok = false
			}
		}
	}
	return ok
}

var polOps = map[string]bool{
	"stringequals": true, "stringequalsignorecase": true, "stringlike": true,
	"arnequals": true, "arnlike": true, "bool": true, "numericequals": true,
	"numericlessthan": true, "numericlessthanequals": true,
	"numericgreaterthan": true, "numericgreaterthanequals": true,
}

// polCond evaluates one operator for one key.
func polCond(op string, want, got []string) bool {
	set := ""
	if i := strings.IndexByte(op, ':'); i >= 0 {
		set, op = strings.ToLower(op[:i]), op[i+1:]
	}
	if set != "" && set != "foranyvalue" && set != "forallvalues" {
		return false
	}
	ifExists := len(op) > 8 && strings.EqualFold(op[len(op)-8:], "IfExists")
	if ifExists {
		op = op[:len(op)-8]
	}
	op = strings.ToLower(op)
	if op == "null" {
		absent := strconv.FormatBool(len(got) == 0)
		for _, w := range want {
			if strings.EqualFold(w, absent) {
				return true
			}
		}
		return false
	}
	negate := strings.Contains(op, "not")
	base := strings.Replace(op, "not", "", 1)
	if !polOps[base] {
		return false
	}
	if len(got) == 0 {
		return ifExists || set == "forallvalues"
	}
	one := func(g string) bool {
		for _, w := range want {
			if polOpMatch(base, g, w) {
				return !negate
			}
		}
		return negate
	}
	all := set == "forallvalues" || (set == "" && negate)
	for _, g := range got {
		if one(g) != all {
			return !all
		}
	}
	return all
}

func polOpMatch(op, got, want string) bool {
	switch op {
	case "stringequals":
		return got == want
	case "stringequalsignorecase", "bool":
		return strings.EqualFold(got, want)
	case "stringlike":
		return polGlob(want, got, false)
	case "arnequals", "arnlike":
		p, a := strings.SplitN(want, ":", 6), strings.SplitN(got, ":", 6)
		if len(p) != 6 || len(a) != 6 {
			return false
		}
		for i := range p {
			if !polGlob(p[i], a[i], false) {
				return false
			}
		}
		return true
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch op {
	case "numericequals":
		return g == w
	case "numericlessthan":
		return g < w
	case "numericlessthanequals":
		return g <= w
	case "numericgreaterthan":
		return g > w
	}
	return g >= w
}
