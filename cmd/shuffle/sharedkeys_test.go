package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// TestCheckCLISharedKeys: with testenv's keys (each source CMK shared
// with the destination, except redshift-data, whose Redshift RPs are
// not copyable) check passes. Once the ebs-data key's policy no longer
// shares it, check blocks naming the key and prints the statement to
// add with the real destination account, from a listing (no state) and
// from the included RPs of a plan's state alike.
func TestCheckCLISharedKeys(t *testing.T) {
	env, dir := workspace(t, 80)
	if code, out, errs := shuffle(t, "check", "examples/migrate.lua", "--skip-compliance"); code != exitOK || !strings.Contains(out, "shared with account 222222222222") {
		t.Fatalf("check with testenv's shared keys exited %d:\n%s\n%s", code, out, errs)
	}
	// The source operator may rewrite key policies for the test.
	code, out, errs := shuffle(t, "iam-policy", "examples/migrate.lua", "--only", "source")
	if code != exitOK {
		t.Fatalf("iam-policy exited %d: %s", code, errs)
	}
	if err := env.SetPolicies(testenv.ProfileSource, []string{out, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:PutKeyPolicy","Resource":"*"}]}`}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kc := kms.NewFromConfig(env.Config(t, testenv.ProfileSource))
	key := aliasTarget(t, kc, "alias/ebs-data")
	owner := `{"Version":"2012-10-17","Statement":[{"Sid":"Owner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}`
	if _, err := kc.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(key), PolicyName: aws.String("default"), Policy: aws.String(owner)}); err != nil {
		t.Fatal(err)
	}
	wantBlocked := func(args ...string) {
		t.Helper()
		code, out, errs := shuffle(t, append([]string{"check", "examples/migrate.lua", "--skip-compliance"}, args...)...)
		if code != exitBlocking {
			t.Fatalf("check %v with ebs-data unshared exited %d, want %d:\n%s\n%s", args, code, exitBlocking, out, errs)
		}
		if !strings.Contains(out, key) || !strings.Contains(out, "is not shared with destination account 222222222222") ||
			!strings.Contains(out, `"Principal":{"AWS":"arn:aws:iam::222222222222:root"}`) || !strings.Contains(out, "AllowDestinationAccountCopy") {
			t.Fatalf("check %v does not name the key and the statement to add:\n%s", args, out)
		}
	}
	wantBlocked()
	stateDir := filepath.Join(dir, "state")
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != exitOK {
		t.Fatalf("plan exited %d: %s", code, errs)
	}
	wantBlocked("--state", stateDir, "--skip-encryption")
}

// aliasTarget is the ARN of the key an alias names.
func aliasTarget(t *testing.T, kc *kms.Client, alias string) string {
	t.Helper()
	p := kms.NewListAliasesPaginator(kc, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Aliases {
			if aws.ToString(a.AliasName) == alias {
				arn := strings.Replace(aws.ToString(a.AliasArn), alias, "key/"+aws.ToString(a.TargetKeyId), 1)
				return arn
			}
		}
	}
	b, _ := json.Marshal(alias)
	t.Fatalf("no alias %s in the source account", b)
	return ""
}

// TestCheckStateKeys: check reads the keys of a plan's included RPs
// from its state (read-only, after the plan closed it), and none from a
// directory without a state.
func TestCheckStateKeys(t *testing.T) {
	_, dir := workspace(t, 80)
	stateDir := filepath.Join(dir, "state")
	if keys, ok := stateKeys(stateDir, &strings.Builder{}); ok || keys != nil {
		t.Fatalf("no state yet: %v %v", keys, ok)
	}
	if code, _, errs := shuffle(t, "plan", "examples/migrate.lua", "--state", stateDir); code != exitOK {
		t.Fatalf("plan exited %d: %s", code, errs)
	}
	var note strings.Builder
	keys, ok := stateKeys(stateDir, &note)
	if !ok || len(keys) == 0 {
		t.Fatalf("keys of the plan's included RPs: %v %v (%s)", keys, ok, note.String())
	}
	for _, k := range keys {
		if !k.Encrypted || k.KeyArn == "" || k.ResourceType == "S3" || k.ResourceType == "Redshift" {
			t.Errorf("a key the shared-key check need not read: %+v", k)
		}
	}
}
