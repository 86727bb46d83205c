package vaultpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Statement is one statement of a policy, every element as decoded
// (numbers as json.Number).
type Statement = map[string]any

// Policy is a parsed backup vault access policy. Statements keep every
// element as decoded, so what shuffle does not rewrite is written back
// as it was.
type Policy struct {
	top        map[string]any // every element but Statement
	Statements []Statement
}

// New is an empty policy (Version 2012-10-17, no statements).
func New() *Policy {
	return &Policy{top: map[string]any{"Version": "2012-10-17"}}
}

// Parse reads a policy document; an empty document is an empty policy.
func Parse(s string) (*Policy, error) {
	p := New()
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	switch st := top["Statement"].(type) {
	case nil:
	case map[string]any:
		p.Statements = []Statement{st}
	case []any:
		for i, x := range st {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("statement %d is not an object", i+1)
			}
			p.Statements = append(p.Statements, m)
		}
	default:
		return nil, errors.New("Statement is neither an object nor a list")
	}
	delete(top, "Statement")
	p.top = top
	return p, nil
}

// Clone copies the policy's top level and statement list (not the
// statements themselves).
func (p *Policy) Clone() *Policy {
	return &Policy{top: maps.Clone(p.top), Statements: slices.Clone(p.Statements)}
}

// String renders the policy as JSON.
func (p *Policy) String() string {
	top := maps.Clone(p.top)
	if top == nil {
		top = map[string]any{}
	}
	if top["Version"] == nil {
		top["Version"] = "2012-10-17"
	}
	st := make([]any, len(p.Statements))
	for i, s := range p.Statements {
		st[i] = s
	}
	top["Statement"] = st
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(top) // maps of strings, lists and json.Number always encode
	return strings.TrimSpace(b.String())
}

// StatementList names statements by Sid (or position), comma-separated.
func StatementList(stmts []Statement) string {
	names := make([]string, len(stmts))
	for i, st := range stmts {
		names[i] = StatementName(st, i)
	}
	return strings.Join(names, ", ")
}

// StatementName is the statement's Sid, or "statement N" for the i-th
// (0-based) statement without one.
func StatementName(st Statement, i int) string {
	if sid := Sid(st); sid != "" {
		return sid
	}
	return "statement " + strconv.Itoa(i+1)
}

// Sid is the statement's Sid ("" when it has none).
func Sid(st Statement) string {
	sid, _ := st["Sid"].(string)
	return sid
}

// strs reads a policy element that is a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Canonical renders a statement for comparison: one-element lists as
// their element, string lists sorted.
func Canonical(st Statement) string {
	b, _ := json.Marshal(normalize(st))
	return string(b)
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(x) == 1 {
			return normalize(x[0])
		}
		out := make([]any, len(x))
		allStr := true
		for i, e := range x {
			out[i] = normalize(e)
			_, ok := out[i].(string)
			allStr = allStr && ok
		}
		if allStr {
			sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
		}
		return out
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
