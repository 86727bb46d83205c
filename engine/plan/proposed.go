package plan

import (
	"fmt"
	"strings"

	"github.com/shuffle-migrate/shuffle/luabind"
)

// AccessPlan is a source vault's access policy translated for its
// destination: the statements the destination vault gets besides
// shuffle's copy statement, by the default rules and vaults.lua's
// access_statement (docs/vault-replication.md).
type AccessPlan struct {
	Statements []map[string]any `json:"statements,omitempty"`
	Notes      []string         `json:"notes,omitempty"` // dropped or rewritten statements, and why
}

// ProposedVerdict is the compliance policy's verdict on a destination
// vault as replication would create it (a proposed vault).
type ProposedVerdict struct {
	Module string `json:"module"` // e.g. policies/compliance.lua
	// Failed are the blocking rules it fails.
	Failed []luabind.ComplianceResult `json:"failed,omitempty"`
	// Error says why it could not be judged (it then blocks too).
	Error string `json:"error,omitempty"`
	// OnFailure is the module's on_proposed_failure.
	OnFailure luabind.ProposedFailure `json:"on_failure"`
	// Reconcile: the vault exists and is judged as reconcile = true
	// would leave it.
	Reconcile bool `json:"reconcile,omitempty"`
}

// Blocks reports whether the vault may not be created: it fails a
// blocking rule, or could not be judged.
func (p *ProposedVerdict) Blocks() bool {
	return p != nil && (len(p.Failed) > 0 || p.Error != "")
}

// StopsRun reports whether the failure stops the run (stop-run) rather
// than only the vault.
func (p *ProposedVerdict) StopsRun() bool {
	return p.Blocks() && p.OnFailure == luabind.StopRun
}

// Failures names the failed rules with what was expected and what the
// vault would have.
func (p *ProposedVerdict) Failures() string {
	if p.Error != "" {
		return "it could not be judged: " + p.Error
	}
	parts := make([]string, len(p.Failed))
	for i, r := range p.Failed {
		parts[i] = fmt.Sprintf("%s (expected %s, actual %s)", r.Rule, dash(r.Expected), dash(r.Actual))
	}
	return strings.Join(parts, "; ")
}

// Reason is why the destination vault dest is not created, with what to
// do; replicate blocks its recovery points with it (WaitCompliance).
func (p *ProposedVerdict) Reason(dest string) string {
	how, done := "create", "created"
	if p.Reconcile {
		how, done = "reconcile", "reconciled"
	}
	return fmt.Sprintf("compliance: destination vault %s as shuffle would %s it fails %s: %s; it is not %s and nothing is copied into it: make the source vault or its mapping in policies/vaults.lua (key, tags, lock, access_statement) give a compliant vault, or change the policy, then run again",
		dest, how, p.Module, p.Failures(), done)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
