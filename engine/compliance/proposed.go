package compliance

import (
	"context"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// JudgeProposed runs the compliance check on a destination vault that
// does not exist yet, as replication would create it from its source
// vault (v.Proposed, v.SourceVault); onFailure is the module's
// on_proposed_failure. A vault that cannot be judged fails closed: its
// Error is set, and it blocks like a failed blocking rule.
func JudgeProposed(ctx context.Context, w *luabind.Worker, v *luabind.ComplianceVault, onFailure luabind.ProposedFailure) Vault {
	v.Account, v.Proposed = string(finding.SideDestination), true
	v.Access = accessSummary(v.AccessPolicy)
	v.LockMode = luabind.LockMode(v.Locked, v.LockDate, v.VaultType)
	vc := Vault{Account: finding.SideDestination, Name: v.Name, Arn: v.Arn, Proposed: true, SourceVault: v.SourceVault, OnFailure: onFailure}
	res, err := w.Compliance(ctx, v)
	if err != nil {
		vc.Error = err.Error()
	}
	vc.Results = res
	vc.Pass = vc.Error == ""
	for _, r := range res {
		vc.Pass = vc.Pass && r.Pass
	}
	return vc
}

// BlockingFailures are the blocking rules v fails.
func (v Vault) BlockingFailures() []luabind.ComplianceResult {
	var out []luabind.ComplianceResult
	for _, r := range v.Results {
		if !r.Pass && r.Severity == luabind.ComplianceBlocking {
			out = append(out, r)
		}
	}
	return out
}

// StopsRun reports whether v is a proposed vault whose blocking failure
// stops the run (on_proposed_failure = "stop-run"); with the default
// ("block-vault") only its recovery points are held.
func (v Vault) StopsRun() bool {
	return v.Proposed && v.Blocking() && v.OnFailure == luabind.StopRun
}
