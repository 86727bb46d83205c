package testenv

// IAM policy parsing and evaluation. The same evaluator enforces every
// emulated API call and answers iam:SimulatePrincipalPolicy, so the two
// can never disagree.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PolicyDocument is a parsed IAM policy (identity or resource policy).
type PolicyDocument struct {
	Version    string
	Statements []Statement
	Raw        string
}

// Statement is one statement of a policy. Absent elements are nil.
// A statement without Resource and NotResource (a trust policy) matches
// any resource.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"
	// Principal and NotPrincipal map a principal type ("AWS", "Service",
	// ...) to its values; the bare "*" becomes {"*": ["*"]}.
	Principal, NotPrincipal                  map[string][]string
	Action, NotAction, Resource, NotResource []string
	Condition                                map[string]map[string][]string // operator -> key -> values
	Index                                    int                            // 0-based position in the document
	// 1-based line and column of the statement's opening and closing
	// braces in Raw (columns count characters), as reported in
	// SimulatePrincipalPolicy MatchedStatements.
	StartLine, StartCol, EndLine, EndCol int
}

// NamedPolicy is a policy with the identity SimulatePrincipalPolicy
// reports for it. Type is "IAM Policy" or "Resource Policy".
type NamedPolicy struct {
	Id   string
	Type string
	Doc  *PolicyDocument
}

// EvalInput describes one request to authorize.
type EvalInput struct {
	Action           string              // "backup:StartCopyJob"
	Resource         string              // ARN or "*"
	Context          map[string][]string // condition keys, case-insensitive names
	Principal        string              // caller ARN (or service name), for resource policies
	PrincipalAccount string              // caller account id
}

// MatchedStatement names a statement that decided an evaluation.
type MatchedStatement struct {
	PolicyId, PolicyType string
	Statement            *Statement
}

// EvalResult is the outcome of an evaluation.
type EvalResult struct {
	Decision       string             // "allowed", "explicitDeny" or "implicitDeny"
	Matched        []MatchedStatement // the Deny statements if explicitDeny, else the Allow ones
	MissingContext []string           // keys referenced by applicable statements but absent from Context
}

// ParsePolicy parses and validates a policy document.
func ParsePolicy(doc string) (*PolicyDocument, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("policy is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("policy is not valid JSON: unexpected data after the policy object")
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("policy must be a JSON object")
	}
	p := &PolicyDocument{Raw: doc}
	for _, k := range polKeys(top) {
		switch k {
		case "Version":
			s, _ := top[k].(string)
			if s != "2012-10-17" && s != "2008-10-17" {
				return nil, errors.New(`Version must be "2012-10-17" or "2008-10-17"`)
			}
			p.Version = s
		case "Id", "Statement":
		default:
			return nil, fmt.Errorf("unknown policy element %q", k)
		}
	}
	var raws []any
	switch s := top["Statement"].(type) {
	case nil:
		return nil, errors.New("policy has no Statement")
	case map[string]any:
		raws = []any{s}
	case []any:
		raws = s
	default:
		return nil, errors.New("Statement must be an object or an array of objects")
	}
	if len(raws) == 0 {
		return nil, errors.New("Statement must not be empty")
	}
	spans := polSpans(doc)
	for i, r := range raws {
		st, err := polStatement(r)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %v", i+1, err)
		}
		st.Index = i
		if len(spans) == len(raws) {
			st.StartLine, st.StartCol = polPos(doc, spans[i][0])
			st.EndLine, st.EndCol = polPos(doc, spans[i][1]-1)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func polStatement(r any) (Statement, error) {
	var st Statement
	m, ok := r.(map[string]any)
	if !ok {
		return st, errors.New("must be a JSON object")
	}
	var err error
	for _, k := range polKeys(m) {
		v := m[k]
		switch k {
		case "Sid":
			if st.Sid, ok = v.(string); !ok {
				return st, errors.New("Sid must be a string")
			}
		case "Effect":
			st.Effect, _ = v.(string)
		case "Action":
			st.Action, err = polList(k, v)
		case "NotAction":
			st.NotAction, err = polList(k, v)
		case "Resource":
			st.Resource, err = polList(k, v)
		case "NotResource":
			st.NotResource, err = polList(k, v)
		case "Principal":
			st.Principal, err = polPrincipal(k, v)
		case "NotPrincipal":
			st.NotPrincipal, err = polPrincipal(k, v)
		case "Condition":
			st.Condition, err = polCondition(v)
		default:
			err = fmt.Errorf("unknown element %q", k)
		}
		if err != nil {
			return st, err
		}
	}
	switch {
	case st.Effect != "Allow" && st.Effect != "Deny":
		return st, errors.New("Effect must be Allow or Deny")
	case st.Action == nil && st.NotAction == nil:
		return st, errors.New("missing Action or NotAction")
	case st.Action != nil && st.NotAction != nil:
		return st, errors.New("cannot have both Action and NotAction")
	case st.Resource != nil && st.NotResource != nil:
		return st, errors.New("cannot have both Resource and NotResource")
	case st.Principal != nil && st.NotPrincipal != nil:
		return st, errors.New("cannot have both Principal and NotPrincipal")
	}
	return st, nil
}

func polKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func polList(name string, v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		if len(x) == 0 {
			return nil, fmt.Errorf("%s must not be empty", name)
		}
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s must be a string or an array of strings", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be a string or an array of strings", name)
}

func polPrincipal(name string, v any) (map[string][]string, error) {
	if v == "*" {
		return map[string][]string{"*": {"*"}}, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf(`%s must be "*" or a non-empty object`, name)
	}
	out := make(map[string][]string, len(m))
	for _, k := range polKeys(m) {
		l, err := polList(name+"."+k, m[k])
		if err != nil {
			return nil, err
		}
		out[k] = l
	}
	return out, nil
}

func polCondition(v any) (map[string]map[string][]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("Condition must be an object")
	}
	scalar := func(e any) (string, bool) {
		switch x := e.(type) {
		case string:
			return x, true
		case bool:
			return strconv.FormatBool(x), true
		case json.Number:
			return x.String(), true
		}
		return "", false
	}
	out := make(map[string]map[string][]string, len(m))
	for _, op := range polKeys(m) {
		km, ok := m[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Condition %s must be an object", op)
		}
		out[op] = make(map[string][]string, len(km))
		for _, key := range polKeys(km) {
			elems, isArr := km[key].([]any)
			if !isArr {
				elems = []any{km[key]}
			}
			vals := make([]string, 0, len(elems))
			for _, e := range elems {
				s, ok := scalar(e)
				if !ok {
					return nil, fmt.Errorf("Condition %s %s: values must be strings, booleans or numbers", op, key)
				}
				vals = append(vals, s)
			}
			out[op][key] = vals
		}
	}
	return out, nil
}

// polSpans returns the byte range [start, end) of each statement object
// in raw, in document order. raw must already be valid JSON.
func polSpans(raw string) [][2]int {
	dec := json.NewDecoder(strings.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var spans [][2]int
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		if k != "Statement" {
			if polSkip(dec) != nil {
				return nil
			}
			continue
		}
		spans = nil // the last Statement element wins, as in decoding
		start := polNext(raw, dec.InputOffset())
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t {
		case json.Delim('{'):
			if polSkipRest(dec) != nil {
				return nil
			}
			spans = append(spans, [2]int{start, int(dec.InputOffset())})
		case json.Delim('['):
			for dec.More() {
				s := polNext(raw, dec.InputOffset())
				if polSkip(dec) != nil {
					return nil
				}
				spans = append(spans, [2]int{s, int(dec.InputOffset())})
			}
			if _, err := dec.Token(); err != nil {
				return nil
			}
		}
	}
	return spans
}

// polNext skips whitespace and separators from off to the next value.
func polNext(raw string, off int64) int {
	i := int(off)
	for i < len(raw) && strings.IndexByte(" \t\r\n:,", raw[i]) >= 0 {
		i++
	}
	return i
}

func polSkip(dec *json.Decoder) error {
	t, err := dec.Token()
	if err == nil && (t == json.Delim('{') || t == json.Delim('[')) {
		err = polSkipRest(dec)
	}
	return err
}

func polSkipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// polPos converts a byte offset into a 1-based line and column.
func polPos(raw string, off int) (line, col int) {
	prefix := raw[:off]
	line = strings.Count(prefix, "\n") + 1
	col = utf8.RuneCountInString(prefix[strings.LastIndexByte(prefix, '\n')+1:]) + 1
	return line, col
}

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
