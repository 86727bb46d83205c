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
