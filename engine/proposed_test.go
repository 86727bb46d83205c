package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
)

const proposedSourcePolicy = `{"Version":"2012-10-17","Statement":[
	{"Sid":"Ops","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/Ops"},"Action":"backup:DescribeBackupVault","Resource":"*"},
	{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"},
	{"Sid":"OrgCopyIn","Effect":"Allow","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
	{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"backup:DescribeBackupVault","Resource":"*"}]}`

// proposedPolicies writes a policy set whose vaults.lua has the given
// access_statement body ("" for none) and the shipped compliance rules
// reduced to the access rule.
func proposedPolicies(t *testing.T, access, compliance string) *luabind.Policies {
	t.Helper()
	dir := t.TempDir()
	vaults := "local M = {}\nfunction M.map(v) return { name = v.name } end\n"
	if access != "" {
		vaults += "function M.access_statement(st, ctx)\n" + access + "\nend\n"
	}
	files := map[string]string{
		"apmid.lua":  `return { decide = function(rp) return "include", "ok" end }`,
		"vaults.lua": vaults + "return M\n",
		"compliance.lua": "local M = {}\n" + compliance + "\nfunction M.check(v)\n" +
			"  return { { rule = 'access-restricted', pass = not v.access.any_principal, expected = 'no Principal \"*\"', actual = v.access.any_principal and 'grants Principal \"*\"' or 'restricted' } }\nend\nreturn M\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := luabind.LoadPolicies(scriptconfig.PolicyConfig{Dir: dir, Decide: []string{"apmid"}, Vaults: "vaults", Compliance: "compliance"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func proposedPlans() map[string]*plan.VaultPlan {
	src := &state.Vault{Name: "prod-ebs-daily", Arn: "arn:aws:backup:us-east-1:111111111111:backup-vault:prod-ebs-daily", AccessPolicy: proposedSourcePolicy}
	return map[string]*plan.VaultPlan{"prod-ebs-daily": {Source: src, Mapping: luabind.VaultMapping{Name: "prod-ebs-daily"}}}
}

var proposedOpt = replicate.Options{SourceAccount: "111111111111", DestinationAccount: "222222222222", Region: "us-east-1"}

func sids(vp *plan.VaultPlan) string {
	var out []string
	for _, st := range vp.Access.Statements {
		out = append(out, vaultpolicy.Sid(st))
	}
	return strings.Join(out, ",")
}

func TestProposedVaultsDefaultTranslationComplies(t *testing.T) {
	plans := proposedPlans()
	got, err := proposeVaults(context.Background(), proposedPolicies(t, "", ""), plans, proposedOpt)
	if err != nil {
		t.Fatal(err)
	}
	vp := plans["prod-ebs-daily"]
	if s := sids(vp); s != "Ops,NoDelete" {
		t.Errorf("default translation wrote %s, want Ops,NoDelete", s)
	}
	if len(got) != 1 || !got[0].Proposed || got[0].Blocking() || vp.Proposed.Blocks() {
		t.Errorf("a compliant proposed vault: %+v / %+v", got, vp.Proposed)
	}
	notes := strings.Join(vp.Access.Notes, "\n")
	for _, want := range []string{`OrgCopyIn not replicated (default): it admits Principal "*" under the condition aws:PrincipalOrgID`, "Partner not replicated (default): it admits 333333333333"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// A vaults.lua that keeps the organization statement gives a vault that
// fails the access rule: it is blocked with the rule, and with
// stop-run it stops the run.
func TestProposedVaultKeptAnyPrincipalIsBlocked(t *testing.T) {
	keep := `if ctx.sid == "OrgCopyIn" then return "keep", "signed off" end`
	plans := proposedPlans()
	got, err := proposeVaults(context.Background(), proposedPolicies(t, keep, ""), plans, proposedOpt)
	if err != nil {
		t.Fatal(err)
	}
	vp := plans["prod-ebs-daily"]
	if s := sids(vp); s != "Ops,NoDelete,OrgCopyIn" {
		t.Errorf("kept %s", s)
	}
	if !vp.Proposed.Blocks() || vp.Proposed.StopsRun() || !got[0].Blocking() {
		t.Fatalf("proposed vault with Principal \"*\" not blocked: %+v", vp.Proposed)
	}
	for _, want := range []string{"compliance: destination vault prod-ebs-daily", "access-restricted (expected no Principal \"*\", actual grants Principal \"*\")"} {
		if r := vp.Proposed.Reason("prod-ebs-daily"); !strings.Contains(r, want) {
			t.Errorf("reason lacks %q: %s", want, r)
		}
	}
	plans = proposedPlans()
	if _, err := proposeVaults(context.Background(), proposedPolicies(t, keep, `M.on_proposed_failure = "stop-run"`), plans, proposedOpt); err != nil {
		t.Fatal(err)
	}
	if !plans["prod-ebs-daily"].Proposed.StopsRun() {
		t.Errorf("stop-run: %+v", plans["prod-ebs-daily"].Proposed)
	}
}

func TestProposedVaultsRewriteAndDrop(t *testing.T) {
	rw := `if ctx.sid == "OrgCopyIn" then
	  return { Sid = "DestCopyIn", Effect = "Allow", Principal = { AWS = "arn:aws:iam::" .. ctx.destination_account_id .. ":root" }, Action = st.Action, Resource = "*" }, "narrowed"
	elseif ctx.sid == "Ops" then return "drop", "ops use their own role" end`
	plans := proposedPlans()
	if _, err := proposeVaults(context.Background(), proposedPolicies(t, rw, ""), plans, proposedOpt); err != nil {
		t.Fatal(err)
	}
	vp := plans["prod-ebs-daily"]
	if s := sids(vp); s != "NoDelete,DestCopyIn" || vp.Proposed.Blocks() {
		t.Errorf("rewrite and drop: %s %+v", s, vp.Proposed)
	}
	notes := strings.Join(vp.Access.Notes, "\n")
	if !strings.Contains(notes, "OrgCopyIn rewritten by") || !strings.Contains(notes, "Ops not replicated (") || !strings.Contains(notes, "ops use their own role") {
		t.Errorf("notes:\n%s", notes)
	}
}

func TestProposedVaultsBadRewriteNamesFileVaultAndStatement(t *testing.T) {
	bad := `if ctx.sid == "OrgCopyIn" then return { Effect = "Permit", Principal = "*", Action = "backup:*" } end`
	_, err := proposeVaults(context.Background(), proposedPolicies(t, bad, ""), proposedPlans(), proposedOpt)
	if err == nil {
		t.Fatal("an invalid rewritten statement was accepted")
	}
	for _, want := range []string{"vaults.lua: access_statement for vault prod-ebs-daily, statement OrgCopyIn", `Effect is Permit; want "Allow" or "Deny"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
