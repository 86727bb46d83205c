package compliance

import (
	"fmt"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// Findings turns each destination vault that fails the
// compliance policy into one finding; source vaults are only shown in the
// table, since shuffle cannot change them.
func (cr *Report) Findings(add func(finding.Finding)) {
	for _, v := range cr.Vaults {
		if v.Account != finding.SideDestination || v.Pass {
			continue
		}
		sev := finding.Warning
		if v.Blocking() {
			sev = finding.Blocking
		}
		if v.Error != "" {
			add(finding.New(sev, finding.SideDestination, "compliance", "", fmt.Sprintf("destination vault %s: %s", v.Name, v.Error),
				"its compliance cannot be judged", "fix the cause ("+cr.Module+" or access to the vault) and run check again"))
			continue
		}
		var failed []string
		for _, res := range v.Results {
			if !res.Pass {
				failed = append(failed, fmt.Sprintf("%s (expected %s, actual %s)", res.Rule, orDash(res.Expected), orDash(res.Actual)))
			}
		}
		add(finding.New(sev, finding.SideDestination, "compliance", "", fmt.Sprintf("destination vault %s fails %s", v.Name, strings.Join(failed, "; ")),
			"the security team's compliance policy ("+cr.Module+") requires it of destination vaults",
			"change the vault to meet the rule (for settings copied from the source vault, fix the source and replicate with reconcile = true), or change the policy"))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
