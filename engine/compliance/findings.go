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
		if v.Proposed {
			cr.proposedFinding(v, add)
			continue
		}
		sev := finding.Warning
		if v.Blocking() {
			sev = finding.Blocking
		}
		fixedBy := cr.reconciledPass(v.Name)
		if fixedBy {
			// reconcile = true brings it in line, and the vault as it
			// would be reconciled complies: the run fixes it.
			sev = finding.Warning
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
		why, fix := "the security team's compliance policy ("+cr.Module+") requires it of destination vaults",
			"change the vault to meet the rule (for settings copied from the source vault, fix the source and replicate with reconcile = true), or change the policy"
		if fixedBy {
			why, fix = "the vault as reconcile = true would leave it complies (its proposed form passes): `shuffle run` brings it in line", "run shuffle, then check again"
		}
		add(finding.New(sev, finding.SideDestination, "compliance", "", fmt.Sprintf("destination vault %s fails %s", v.Name, strings.Join(failed, "; ")), why, fix))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// proposedFinding is the finding of a destination vault shuffle would
// create that fails the policy. A blocking failure holds the vault's
// recovery points (the vault is not created): a warning, since the run
// goes on with the other vaults, unless the policy says stop-run, which
// makes it blocking, as `shuffle run`'s pre-flight then stops.
func (cr *Report) proposedFinding(v Vault, add func(finding.Finding)) {
	what := fmt.Sprintf("destination vault %s (proposed: %s) ", v.Name, v.ProposedLabel())
	if v.Error != "" {
		what += "cannot be judged: " + v.Error
	} else {
		var failed []string
		for _, res := range v.Results {
			if !res.Pass {
				failed = append(failed, fmt.Sprintf("%s (expected %s, actual %s)", res.Rule, orDash(res.Expected), orDash(res.Actual)))
			}
		}
		what += "fails " + strings.Join(failed, "; ")
	}
	fix := "make the source vault or its mapping in policies/vaults.lua (encryption_key, tags, access_statement) give a compliant vault, or change " + cr.Module + ", then run check again"
	switch {
	case !v.Blocking():
		add(finding.New(finding.Warning, finding.SideDestination, "compliance", "", what,
			"shuffle would create it with warnings of "+cr.Module, fix))
	case v.StopsRun():
		add(finding.New(finding.Blocking, finding.SideDestination, "compliance", "", what,
			cr.Module+" sets on_proposed_failure = \"stop-run\": `shuffle run` stops before it writes anything", fix))
	default:
		add(finding.New(finding.Warning, finding.SideDestination, "compliance", "", what,
			"shuffle does not create a vault that fails a blocking rule of "+cr.Module+": its recovery points are held (blocked: compliance) and the other vaults go on", fix))
	}
}

// reconciledPass reports whether the existing destination vault name
// has a proposed, reconciled form that passes every blocking rule.
func (cr *Report) reconciledPass(name string) bool {
	for _, p := range cr.Vaults {
		if p.Proposed && p.Reconcile && p.Name == name {
			return !p.Blocking()
		}
	}
	return false
}

// ProposedLabel says how a proposed vault is judged, e.g. "as shuffle
// would create it from source vault X".
func (v Vault) ProposedLabel() string {
	if v.Reconcile {
		return "as reconcile = true would leave it, from source vault " + v.SourceVault
	}
	return "as shuffle would create it from source vault " + v.SourceVault
}
