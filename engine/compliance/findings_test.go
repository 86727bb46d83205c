package compliance

import (
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// A proposed vault failing a blocking rule is a warning (its recovery
// points are held) unless the policy says stop-run; an existing one is
// blocking.
func TestProposedFindings(t *testing.T) {
	fail := []luabind.ComplianceResult{{Rule: "access-restricted", Expected: "no *", Actual: `grants Principal "*"`, Severity: luabind.ComplianceBlocking}}
	cases := []struct {
		v    Vault
		want finding.Severity
		what string
	}{
		{Vault{Account: finding.SideDestination, Name: "a", Results: fail}, finding.Blocking, "destination vault a fails access-restricted"},
		{Vault{Account: finding.SideDestination, Name: "b", Results: fail, Proposed: true, SourceVault: "b-src", OnFailure: luabind.BlockVault}, finding.Warning,
			`destination vault b (proposed: as shuffle would create it from source vault b-src) fails access-restricted (expected no *, actual grants Principal "*")`},
		{Vault{Account: finding.SideDestination, Name: "c", Results: fail, Proposed: true, SourceVault: "c", OnFailure: luabind.StopRun}, finding.Blocking, "destination vault c (proposed"},
	}
	for _, c := range cases {
		var got []finding.Finding
		(&Report{Module: "policies/compliance.lua", Vaults: []Vault{c.v}}).Findings(func(f finding.Finding) { got = append(got, f) })
		if len(got) != 1 || got[0].Severity != c.want || !strings.Contains(got[0].What, c.what) {
			t.Errorf("%s: %+v, want one %s finding with %q", c.v.Name, got, c.want, c.what)
		}
	}
	if (Vault{Account: finding.SideDestination, Results: fail, Proposed: true, OnFailure: luabind.BlockVault}).StopsRun() {
		t.Error("block-vault stops the run")
	}
}
