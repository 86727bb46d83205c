package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// TestTemplates parses every template, checks its references, and checks
// that its operator role's policy is exactly what `shuffle iam-policy`
// prints for that account. With -update it first rewrites the policies.
func TestTemplates(t *testing.T) {
	for _, k := range kit {
		t.Run(k.file, func(t *testing.T) {
			if *update {
				if err := updateTemplatePolicy(k.file, k.side); err != nil {
					t.Fatal(err)
				}
			}
			if parsed := parseWithGoformation(t, k.file); parsed != nil && len(parsed.Resources) == 0 {
				t.Errorf("%s: goformation found no resources", k.file)
			}
			tp := loadTemplate(t, k.file)
			checkReferences(t, tp)
			checkNoCycles(t, tp)
			for _, d := range operatorPolicyDiff(t, tp, k.side) {
				t.Errorf("%s: %s's policy differs from `shuffle iam-policy` (%s): %s", k.file, operatorRole, k.side, d)
			}
		})
	}
	if t.Failed() && !*update {
		t.Log("if engine/preflight's actions changed on purpose, run: go test ./deploy -run TestTemplates -update")
	}
}

// operatorPolicyDiff compares the operator role's only policy with
// wantPolicy(side): statements, action sets and resources.
func operatorPolicyDiff(t *testing.T, tp template, side finding.Side) []string {
	t.Helper()
	role := tp.rawResource(operatorRole)
	if role["Type"] != "AWS::IAM::Role" {
		t.Fatalf("%s: no AWS::IAM::Role named %s", tp.file, operatorRole)
	}
	props, _ := role["Properties"].(map[string]any)
	for _, extra := range []string{"ManagedPolicyArns", "PermissionsBoundary"} {
		if props[extra] != nil {
			t.Errorf("%s: %s has %s: the role must hold exactly shuffle's statements", tp.file, operatorRole, extra)
		}
	}
	policies, _ := props["Policies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("%s: %s has %d inline policies, want exactly one (%s)", tp.file, operatorRole, len(policies), operatorPolicy)
	}
	p, _ := policies[0].(map[string]any)
	if p["PolicyName"] != operatorPolicy {
		t.Errorf("%s: %s's policy is named %v, want %s", tp.file, operatorRole, p["PolicyName"], operatorPolicy)
	}
	doc, _ := p["PolicyDocument"].(map[string]any)
	want := wantPolicy(side)
	if doc["Version"] != want.Version {
		t.Errorf("%s: policy Version %v, want %s", tp.file, doc["Version"], want.Version)
	}
	got, err := normStatements(doc, true)
	if err != nil {
		t.Fatalf("%s: %s: %v", tp.file, operatorRole, err)
	}
	w, err := normStatements(want, false)
	if err != nil {
		t.Fatal(err)
	}
	return diffStatements(w, got)
}

// The comparison must catch a drift in either direction, and -update's
// rewrite must produce a block the comparison accepts.
func TestPolicyComparisonCatchesDrift(t *testing.T) {
	want := wantPolicy(finding.SideSource)
	w, err := normStatements(want, false)
	if err != nil {
		t.Fatal(err)
	}
	drifted := wantPolicy(finding.SideSource)
	dropped := drifted.Statement[0].Action[0]
	drifted.Statement[0].Action = append(drifted.Statement[0].Action[1:], "backup:DeleteBackupVault")
	d, err := normStatements(drifted, false)
	if err != nil {
		t.Fatal(err)
	}
	diff := strings.Join(diffStatements(w, d), "\n")
	for _, must := range []string{"lacks action " + dropped, "extra action backup:DeleteBackupVault"} {
		if !strings.Contains(diff, must) {
			t.Errorf("diff does not say %q:\n%s", must, diff)
		}
	}
	if got := diffStatements(w, w); len(got) != 0 {
		t.Errorf("a policy differs from itself: %v", got)
	}
}

func TestUpdateRewritesOnlyTheMarkedBlock(t *testing.T) {
	side := finding.SideDestination
	text := "a: 1\n    " + beginMarker(side) + "\n    stale: true\n    " + endMarker(side) + "\nz: 2\n"
	out, err := replaceGeneratedBlock("x.yaml", text, side, func(indent string) (string, error) {
		return indent + "fresh: true\n", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "a: 1\n    " + beginMarker(side) + "\n    fresh: true\n    " + endMarker(side) + "\nz: 2\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// Idempotent: the same input gives the same output.
	again, _ := replaceGeneratedBlock("x.yaml", out, side, func(indent string) (string, error) {
		return indent + "fresh: true\n", nil
	})
	if again != out {
		t.Errorf("a second update changed the file:\n%s", again)
	}
	if _, err := replaceGeneratedBlock("x.yaml", "a: 1\n", side, nil); err == nil ||
		!strings.Contains(err.Error(), beginMarker(side)) {
		t.Errorf("missing markers: err = %v, want one naming %q", err, beginMarker(side))
	}
}

// allowDestinationAccountCopy is the key-policy statement `shuffle check`
// prints as the fix for a source key not shared with the destination
// account (docs/preflight.md), and the one testenv seeds on shared keys.
var allowDestinationAccountCopy = []string{"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey",
	"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"}

// Every source key is shared with the destination account, and the
// destination has a key for every source alias (vaults.lua maps by alias).
func TestSourceKeysSharedAndAliasesPaired(t *testing.T) {
	src, dst := loadTemplate(t, "source.yaml"), loadTemplate(t, "destination.yaml")
	keys := src.resourcesOfType("AWS::KMS::Key")
	if len(keys) == 0 {
		t.Fatal("source.yaml has no KMS key")
	}
	for _, k := range keys {
		if !sharesWithDestination(src.rawResource(k)) {
			t.Errorf("source.yaml: key %s has no AllowDestinationAccountCopy statement granting arn:${AWS::Partition}:iam::${DestinationAccountId}:root exactly %v",
				k, allowDestinationAccountCopy)
		}
	}
	dstAliases := aliases(dst)
	for _, a := range aliases(src) {
		if !slices.Contains(dstAliases, a) {
			t.Errorf("source.yaml creates %s, destination.yaml has no key with that alias", a)
		}
	}
}

func sharesWithDestination(key map[string]any) bool {
	props, _ := key["Properties"].(map[string]any)
	pol, _ := props["KeyPolicy"].(map[string]any)
	sts, _ := pol["Statement"].([]any)
	for _, s := range sts {
		st, _ := s.(map[string]any)
		if st["Sid"] != "AllowDestinationAccountCopy" || st["Effect"] != "Allow" || st["Resource"] != "*" {
			continue
		}
		pr, _ := st["Principal"].(map[string]any)
		who, _ := resourceKey(pr["AWS"], true)
		acts, _ := stringSet(st["Action"])
		return who == "arn:${AWS::Partition}:iam::${DestinationAccountId}:root" && slices.Equal(acts, allowDestinationAccountCopy)
	}
	return false
}

func aliases(tp template) []string {
	var out []string
	for _, a := range tp.resourcesOfType("AWS::KMS::Alias") {
		props, _ := tp.rawResource(a)["Properties"].(map[string]any)
		if s, ok := props["AliasName"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// The source stack holds one resource of each of the eight types shuffle
// copies, and the three kinds of vault.
func TestSourceHasEveryTypeAndVaultKind(t *testing.T) {
	src := loadTemplate(t, "source.yaml")
	for _, typ := range []string{"AWS::EC2::Instance", "AWS::EC2::Volume", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
		"AWS::S3::Bucket", "AWS::EFS::FileSystem", "AWS::DynamoDB::Table", "AWS::FSx::FileSystem",
		"AWS::Backup::LogicallyAirGappedBackupVault"} {
		if len(src.resourcesOfType(typ)) == 0 {
			t.Errorf("source.yaml has no %s", typ)
		}
	}
	var standard, governance int
	for _, v := range src.resourcesOfType("AWS::Backup::BackupVault") {
		props, _ := src.rawResource(v)["Properties"].(map[string]any)
		lock, locked := props["LockConfiguration"].(map[string]any)
		switch {
		case !locked:
			standard++
		case lock["ChangeableForDays"] == nil:
			governance++
		default:
			t.Errorf("source.yaml: vault %s has a compliance-mode lock (ChangeableForDays): a sandbox could never delete it", v)
		}
	}
	// The destination side's policy names the copy role by this ARN
	// (templatePolicyConfig).
	role, _ := src.rawResource("BackupServiceRole")["Properties"].(map[string]any)
	if role["RoleName"] != "ShuffleRehearsalBackupRole" || role["Path"] != "/service-role/" {
		t.Errorf("source.yaml: BackupServiceRole is %v%v, templatePolicyConfig assumes /service-role/ShuffleRehearsalBackupRole", role["Path"], role["RoleName"])
	}
	if standard == 0 || governance == 0 {
		t.Errorf("source.yaml: %d standard and %d governance-locked vaults, want at least one of each", standard, governance)
	}
}

// The resources the doc backs up and lists in the metadata CSV are the
// source stack's Resource* outputs, and the sample CSV has a row for each.
func TestDocAndSampleCSVMatchTheOutputs(t *testing.T) {
	src := loadTemplate(t, "source.yaml")
	outputs, _ := src.raw["Outputs"].(map[string]any)
	var types []string
	for _, name := range sortedKeys(outputs) {
		if typ, ok := strings.CutPrefix(name, "Resource"); ok {
			types = append(types, typ)
		}
	}
	doc, err := os.ReadFile("../docs/real-aws-rehearsal.md")
	if err != nil {
		t.Fatal(err)
	}
	loops := regexp.MustCompile(`for r in ([A-Za-z0-9 ]+); do`).FindAllStringSubmatch(string(doc), -1)
	if len(loops) < 2 {
		t.Fatalf("docs/real-aws-rehearsal.md: want the backup loop and the CSV loop over the resources, found %d loops", len(loops))
	}
	for _, l := range loops {
		named := strings.Fields(l[1])
		if len(named) == 2 { // the air-gapped copies: a subset
			continue
		}
		if got := slices.Sorted(slices.Values(named)); !slices.Equal(got, types) {
			t.Errorf("docs/real-aws-rehearsal.md: loop over %v, the source stack's Resource* outputs are %v", got, types)
		}
	}
	csv, err := os.ReadFile("metadata-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if !strings.HasPrefix(rows[0], "ResourceArn,APMID,") {
		t.Errorf("metadata-sample.csv: header %q, want ResourceArn,APMID,...", rows[0])
	}
	if len(rows)-1 != len(types) {
		t.Errorf("metadata-sample.csv: %d rows, want one per resource output (%d)", len(rows)-1, len(types))
	}
}
