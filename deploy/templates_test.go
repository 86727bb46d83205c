package deploy

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/shuffle-migrate/shuffle/engine/finding"
)

var update = flag.Bool("update", false, "rewrite the templates' generated operator policies from preflight.OperatorPolicy (what `shuffle iam-policy` prints)")

// The kit's templates, with the account side whose operator role each
// creates (resource OperatorRole, inline policy shuffle-operator).
var kit = []struct {
	file string
	side finding.Side
}{
	{"source.yaml", finding.SideSource},
	{"destination.yaml", finding.SideDestination},
}

const (
	operatorRole   = "OperatorRole"
	operatorPolicy = "shuffle-operator"
)

// newerTypes are resource types the kit uses that goformation v7.14.9
// does not know yet, with their properties as the CloudFormation
// template reference documents them (required ones first, marked).
var newerTypes = map[string]map[string]bool{
	// docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-backup-logicallyairgappedbackupvault.html
	"AWS::Backup::LogicallyAirGappedBackupVault": {
		"BackupVaultName": true, "MinRetentionDays": true, "MaxRetentionDays": true,
		"AccessPolicy": false, "BackupVaultTags": false, "Notifications": false,
	},
}

// template is one kit template as written: intrinsic functions left
// unresolved, in their long form ({"Ref": ...}, {"Fn::Sub": ...}).
type template struct {
	file string
	raw  map[string]any
}

func loadTemplate(t *testing.T, file string) template {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	tp := template{file: file}
	if err := json.Unmarshal(rawJSON, &tp.raw); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return tp
}

// parseWithGoformation parses the template with goformation (intrinsic
// functions resolved as far as goformation can) and checks each
// resource's properties against goformation's types: a misspelt or
// unknown property is an error, as is a value of the wrong shape.
// Resources of newerTypes are checked against their documented
// properties and left out of goformation's parse. It returns nil when
// goformation refuses the template.
func parseWithGoformation(t *testing.T, file string) *cloudformation.Template {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	processed, err := intrinsics.ProcessYAML(data, nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(processed, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	resources, _ := doc["Resources"].(map[string]any)
	known := cloudformation.AllResources()
	for _, name := range sortedKeys(resources) {
		res, _ := resources[name].(map[string]any)
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		if allowed, ok := newerTypes[typ]; ok {
			checkDocumentedProperties(t, file, name, typ, props, allowed)
			delete(resources, name)
			continue
		}
		if _, ok := known[typ]; !ok {
			t.Errorf("%s: resource %s: type %q is unknown to goformation and not in newerTypes", file, name, typ)
			delete(resources, name)
			continue
		}
		checkTypedProperties(t, file, name, typ, res)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := goformation.ParseJSON(b)
	if err != nil {
		t.Errorf("%s: goformation: %v", file, err)
		return nil
	}
	return parsed
}

// checkTypedProperties unmarshals one resource into its goformation type
// and marshals it back: a property the type does not have is lost on the
// way, and is reported.
func checkTypedProperties(t *testing.T, file, name, typ string, res map[string]any) {
	t.Helper()
	in, _ := json.Marshal(res)
	typed := cloudformation.AllResources()[typ]
	if err := json.Unmarshal(in, typed); err != nil {
		t.Errorf("%s: resource %s (%s): %v", file, name, typ, err)
		return
	}
	out, err := json.Marshal(typed)
	if err != nil {
		t.Errorf("%s: resource %s (%s): %v", file, name, typ, err)
		return
	}
	var back map[string]any
	_ = json.Unmarshal(out, &back)
	for _, lost := range lostKeys(res["Properties"], back["Properties"], "Properties") {
		t.Errorf("%s: resource %s (%s): %s is not a property goformation knows (misspelt, or misplaced)", file, name, typ, lost)
	}
}

// lostKeys lists the paths of map keys with a non-null value in src that
// are missing in dst.
func lostKeys(src, dst any, path string) []string {
	var out []string
	switch s := src.(type) {
	case map[string]any:
		d, _ := dst.(map[string]any)
		for _, k := range sortedKeys(s) {
			if s[k] == nil {
				continue
			}
			if _, ok := d[k]; !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, lostKeys(s[k], d[k], path+"."+k)...)
		}
	case []any:
		d, _ := dst.([]any)
		for i := range s {
			if i < len(d) {
				out = append(out, lostKeys(s[i], d[i], fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return out
}

func checkDocumentedProperties(t *testing.T, file, name, typ string, props map[string]any, allowed map[string]bool) {
	t.Helper()
	for _, p := range sortedKeys(props) {
		if _, ok := allowed[p]; !ok {
			t.Errorf("%s: resource %s (%s): %s is not a documented property", file, name, typ, p)
		}
	}
	for _, p := range sortedKeys(allowed) {
		if _, ok := props[p]; allowed[p] && !ok {
			t.Errorf("%s: resource %s (%s): required property %s is missing", file, name, typ, p)
		}
	}
}

// pseudoParameters are CloudFormation's own names, valid in Ref and Sub.
var pseudoParameters = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue",
	"AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

var subVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

// checkReferences reports every Ref, Fn::GetAtt, Fn::Sub variable and
// DependsOn that names nothing the template defines, and every parameter
// nothing refers to.
func checkReferences(t *testing.T, tp template) {
	t.Helper()
	params, _ := tp.raw["Parameters"].(map[string]any)
	resources, _ := tp.raw["Resources"].(map[string]any)
	used := map[string]bool{}
	isResource := func(n string) bool { used[n] = true; _, ok := resources[n]; return ok }
	isName := func(n string) bool {
		used[n] = true
		_, ok := params[n]
		return ok || isResource(n) || slices.Contains(pseudoParameters, n)
	}
	bad := func(where, what string) { t.Errorf("%s: %s: %s", tp.file, where, what) }
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", where, i))
			}
		case map[string]any:
			for _, k := range sortedKeys(v) {
				checkIntrinsic(k, v[k], where, isName, isResource, bad)
				walk(v[k], where+"."+k)
			}
		}
	}
	for _, section := range []string{"Resources", "Outputs", "Rules", "Conditions"} {
		walk(tp.raw[section], section)
	}
	for _, p := range sortedKeys(params) {
		if !used[p] {
			bad("Parameters."+p, "nothing refers to it: an operator would set it for nothing")
		}
	}
	for _, name := range sortedKeys(resources) {
		res, _ := resources[name].(map[string]any)
		deps, _ := stringSet(res["DependsOn"])
		for _, d := range deps {
			if !isResource(d) {
				bad("Resources."+name+".DependsOn", fmt.Sprintf("%q is not a resource", d))
			}
		}
	}
}

func checkIntrinsic(fn string, arg any, where string, isName, isResource func(string) bool, bad func(string, string)) {
	switch fn {
	case "Ref":
		if s, _ := arg.(string); !isName(s) {
			bad(where, fmt.Sprintf("Ref %v names no parameter or resource", arg))
		}
	case "Fn::GetAtt":
		var res string
		switch a := arg.(type) {
		case string:
			res, _, _ = strings.Cut(a, ".")
		case []any:
			if len(a) == 2 {
				res, _ = a[0].(string)
			}
		}
		if !isResource(res) {
			bad(where, fmt.Sprintf("Fn::GetAtt %v names no resource", arg))
		}
	case "Fn::Sub":
		s, vars := "", map[string]any{}
		switch a := arg.(type) {
		case string:
			s = a
		case []any:
			if len(a) == 2 {
				s, _ = a[0].(string)
				vars, _ = a[1].(map[string]any)
			}
		}
		for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
			v := m[1]
			if strings.HasPrefix(v, "!") {
				continue // ${!Literal}
			}
			if _, ok := vars[v]; ok {
				continue
			}
			if res, _, dotted := strings.Cut(v, "."); dotted && !strings.HasPrefix(v, "AWS::") {
				if !isResource(res) {
					bad(where, fmt.Sprintf("Fn::Sub variable ${%s} names no resource", v))
				}
			} else if !isName(v) {
				bad(where, fmt.Sprintf("Fn::Sub variable ${%s} names no parameter or resource", v))
			}
		}
	}
}

// rawResource returns a resource of the raw template.
func (tp template) rawResource(name string) map[string]any {
	resources, _ := tp.raw["Resources"].(map[string]any)
	r, _ := resources[name].(map[string]any)
	return r
}

func (tp template) resourcesOfType(typ string) []string {
	var out []string
	resources, _ := tp.raw["Resources"].(map[string]any)
	for _, name := range sortedKeys(resources) {
		if r, _ := resources[name].(map[string]any); r["Type"] == typ {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checkNoCycles reports a circular dependency between resources (through
// Ref, Fn::GetAtt, Fn::Sub or DependsOn), which CloudFormation refuses.
func checkNoCycles(t *testing.T, tp template) {
	t.Helper()
	resources, _ := tp.raw["Resources"].(map[string]any)
	deps := map[string][]string{}
	for _, name := range sortedKeys(resources) {
		res, _ := resources[name].(map[string]any)
		seen := map[string]bool{}
		mark := func(n string) bool {
			if _, ok := resources[n]; ok && !seen[n] {
				seen[n] = true
				deps[name] = append(deps[name], n)
			}
			return true
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for _, k := range sortedKeys(v) {
					checkIntrinsic(k, v[k], "", mark, mark, func(string, string) {})
					walk(v[k])
				}
			}
		}
		walk(res["Properties"])
		d, _ := stringSet(res["DependsOn"])
		for _, n := range d {
			mark(n)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	st := map[string]int{}
	var visit func(n string, path []string)
	visit = func(n string, path []string) {
		switch st[n] {
		case visiting:
			i := slices.Index(path, n)
			t.Errorf("%s: circular dependency %s", tp.file, strings.Join(append(path[i:], n), " → "))
			return
		case done:
			return
		}
		st[n] = visiting
		for _, d := range deps[n] {
			visit(d, append(path, n))
		}
		st[n] = done
	}
	for _, name := range sortedKeys(resources) {
		visit(name, nil)
	}
}
