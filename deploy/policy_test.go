// Package deploy holds the CloudFormation templates of the rehearsal kit
// for real AWS accounts (docs/real-aws-rehearsal.md). It has only tests:
// they parse every template with goformation, check that every reference
// names something the template defines, and keep the operator roles'
// policies equal to `shuffle iam-policy`'s output.
//
// After a change to the actions shuffle needs (engine/preflight), rewrite
// the generated policy blocks with
//
//	go test ./deploy -run TestTemplates -update
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// The templates fill the accounts, region, partition and copy role in
// with CloudFormation's own variables, so the policy is computed for a
// configuration made of them (Fn::Sub syntax): the template's own
// account is ${AWS::AccountId}, the other one its parameter.
const (
	cfnAccount = "${AWS::AccountId}"
	cfnRegion  = "${AWS::Region}"
)

// templatePolicyConfig is the script configuration a template of side
// stands for.
func templatePolicyConfig(side finding.Side) scriptconfig.Config {
	src := scriptconfig.Endpoint{Account: cfnAccount, Region: cfnRegion}
	dst := scriptconfig.Endpoint{Account: "${DestinationAccountId}", Region: cfnRegion}
	copyRole := "${BackupServiceRole.Arn}" // source.yaml's copy role
	if side == finding.SideDestination {
		src.Account, dst.Account = "${SourceAccountId}", cfnAccount
		copyRole = "arn:${AWS::Partition}:iam::${SourceAccountId}:role/service-role/ShuffleRehearsalBackupRole"
	}
	return scriptconfig.Config{Source: src, Destination: dst, CopyRole: copyRole}
}

// wantPolicy is the operator policy `shuffle iam-policy` prints for one
// side, computed by the same function (preflight.OperatorPolicy), with
// the ARNs' partition left to CloudFormation.
func wantPolicy(side finding.Side) preflight.PolicyDocument {
	doc := preflight.OperatorPolicy(templatePolicyConfig(side), side)
	for i := range doc.Statement {
		st := &doc.Statement[i]
		if r, ok := strings.CutPrefix(st.Resource, "arn:"+preflight.PartitionOf("")+":"); ok {
			st.Resource = "arn:${AWS::Partition}:" + r
		}
	}
	return doc
}

// renderPolicyBlock renders doc as the YAML of a PolicyDocument property
// at indent: block style, every string double-quoted, a Resource that
// holds a CloudFormation variable as !Sub. Deterministic: the statement
// and action order of doc, condition keys sorted.
func renderPolicyBlock(doc preflight.PolicyDocument, indent string) (string, error) {
	var b strings.Builder
	line := func(depth int, s string) {
		b.WriteString(indent + strings.Repeat("  ", depth) + s + "\n")
	}
	q := strconv.Quote
	line(0, "PolicyDocument:")
	line(1, "Version: "+q(doc.Version))
	line(1, "Statement:")
	for _, st := range doc.Statement {
		if st.Principal != nil {
			return "", fmt.Errorf("statement %s has a Principal: not an identity policy", st.Sid)
		}
		line(2, "- Sid: "+q(st.Sid))
		line(3, "Effect: "+q(st.Effect))
		line(3, "Action:")
		for _, a := range st.Action {
			line(4, "- "+q(a))
		}
		res := q(st.Resource)
		if strings.Contains(st.Resource, "${") {
			res = "!Sub " + res
		}
		line(3, "Resource: "+res)
		if len(st.Condition) > 0 {
			line(3, "Condition:")
			for _, op := range sortedKeys(st.Condition) {
				line(4, q(op)+":")
				for _, k := range sortedKeys(st.Condition[op]) {
					line(5, q(k)+": "+q(st.Condition[op][k]))
				}
			}
		}
	}
	return b.String(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Marker comments around a template's generated policy block.
func beginMarker(side finding.Side) string { return "# BEGIN shuffle iam-policy " + string(side) }
func endMarker(side finding.Side) string   { return "# END shuffle iam-policy " + string(side) }

// replaceGeneratedBlock returns text with the lines between side's
// BEGIN and END markers replaced by block (rendered at the BEGIN
// marker's indentation by render).
func replaceGeneratedBlock(file, text string, side finding.Side, render func(indent string) (string, error)) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case beginMarker(side):
			if begin >= 0 {
				return "", fmt.Errorf("%s:%d: a second %q (the first is on line %d)", file, i+1, beginMarker(side), begin+1)
			}
			begin = i
		case endMarker(side):
			if end >= 0 {
				return "", fmt.Errorf("%s:%d: a second %q (the first is on line %d)", file, i+1, endMarker(side), end+1)
			}
			end = i
		}
	}
	if begin < 0 || end < 0 || end < begin {
		return "", fmt.Errorf("%s: the generated policy must sit between a line %q and a later line %q (found begin line %d, end line %d); put them back around the role's PolicyDocument",
			file, beginMarker(side), endMarker(side), begin+1, end+1)
	}
	l := lines[begin]
	indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
	block, err := render(indent)
	if err != nil {
		return "", fmt.Errorf("%s: %v", file, err)
	}
	out := slices.Concat(lines[:begin+1], []string{block}, lines[end:])
	return strings.Join(out, ""), nil
}

// updateTemplatePolicy rewrites the generated policy block of a template
// file from wantPolicy(side).
func updateTemplatePolicy(path string, side finding.Side) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceGeneratedBlock(path, string(b), side, func(indent string) (string, error) {
		return renderPolicyBlock(wantPolicy(side), indent)
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// normStatements reduces a policy document (as parsed from a template
// without intrinsic processing, or as computed) to comparable
// statements: "Effect Resource Condition" → the set of actions. Sids
// and the order of statements and actions carry no meaning in IAM.
//
// fromTemplate says doc comes from a template, where a plain string
// holding "${" is a mistake: CloudFormation substitutes only in Fn::Sub.
func normStatements(doc any, fromTemplate bool) (map[string][]string, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var d struct {
		Statement []struct {
			Effect    string
			Principal any
			Action    any
			Resource  any
			Condition any
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("policy document: %v", err)
	}
	out := map[string][]string{}
	for i, st := range d.Statement {
		if st.Principal != nil {
			return nil, fmt.Errorf("statement %d has a Principal: an identity policy has none", i+1)
		}
		actions, err := stringSet(st.Action)
		if err != nil {
			return nil, fmt.Errorf("statement %d Action: %v", i+1, err)
		}
		res, err := resourceKey(st.Resource, fromTemplate)
		if err != nil {
			return nil, fmt.Errorf("statement %d Resource: %v", i+1, err)
		}
		cond, _ := json.Marshal(st.Condition) // map keys sorted: canonical
		k := st.Effect + " " + res + " " + string(cond)
		out[k] = slices.Compact(slices.Sorted(slices.Values(append(out[k], actions...))))
	}
	return out, nil
}

// stringSet reads an IAM string-or-list member as a sorted list.
func stringSet(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return out, nil
	}
	return nil, fmt.Errorf("%v is neither a string nor a list", v)
}

// resourceKey makes a Resource comparable: a plain string, or the
// template of an Fn::Sub (the form renderPolicyBlock writes, and the
// form wantPolicy's values take: a string holding ${...}).
func resourceKey(v any, fromTemplate bool) (string, error) {
	switch v := v.(type) {
	case string:
		if fromTemplate && strings.Contains(v, "${") {
			return "", fmt.Errorf("%q holds a variable but is not an !Sub: CloudFormation would leave it as written", v)
		}
		return v, nil
	case map[string]any:
		if s, ok := v["Fn::Sub"].(string); ok && len(v) == 1 {
			return s, nil
		}
	case []any:
		var keys []string
		for _, e := range v {
			k, err := resourceKey(e, fromTemplate)
			if err != nil {
				return "", err
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return strings.Join(keys, ","), nil
	}
	return "", fmt.Errorf("%v: expected a string or an Fn::Sub of a string", v)
}

// diffStatements lists how got differs from want, in words.
func diffStatements(want, got map[string][]string) []string {
	var out []string
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if !ok {
			out = append(out, fmt.Sprintf("missing statement %s with actions %v", k, want[k]))
			continue
		}
		for _, a := range want[k] {
			if !slices.Contains(g, a) {
				out = append(out, fmt.Sprintf("statement %s lacks action %s", k, a))
			}
		}
		for _, a := range g {
			if !slices.Contains(want[k], a) {
				out = append(out, fmt.Sprintf("statement %s has extra action %s", k, a))
			}
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("extra statement %s with actions %v", k, got[k]))
		}
	}
	return out
}
