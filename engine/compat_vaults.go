package engine

import (
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// Compatibility names for the vault-policy code that moved to
// engine/vaultpolicy (issue 19). They go once their callers (plan.go)
// use vaultpolicy directly.

// CopyStatementSid is vaultpolicy.CopyStatementSid.
const CopyStatementSid = vaultpolicy.CopyStatementSid

func arnAccount(arn string) string   { return vaultpolicy.Account(arn) }
func arnPartition(arn string) string { return vaultpolicy.Partition(arn) }

func copyStatementJSON(srcAcct, partition string) string {
	return vaultpolicy.CopyStatementJSON(srcAcct, partition)
}

func copyDeniedReason(vault, stmt, acct string) string {
	return vaultpolicy.CopyDeniedReason(vault, stmt, acct)
}

// translator is vaultpolicy.Translator with the field names plan.go
// still uses.
type translator struct{ srcAcct, dstAcct, srcVault, dstVault string }

func (t translator) policy(src string) ([]vaultpolicy.Statement, []string) {
	return vaultpolicy.Translator{SourceAccount: t.srcAcct, DestinationAccount: t.dstAcct, SourceVault: t.srcVault, DestinationVault: t.dstVault}.Policy(src)
}

// Compatibility names for the pre-flight code that moved to
// engine/preflight and its vocabulary in engine/finding (issue 19).
// They go once their callers (cmd/shuffle tests, engine tests, the
// compliance report) use those packages directly.
type (
	Side            = finding.Side
	Severity        = finding.Severity
	Finding         = finding.Finding
	Action          = preflight.Action
	PolicyDocument  = preflight.PolicyDocument
	PolicyStatement = preflight.PolicyStatement
)

const (
	SideSource      = finding.SideSource
	SideDestination = finding.SideDestination
	Blocking        = finding.Blocking
	Warning         = finding.Warning
	Info            = finding.Info
)

var (
	Actions           = preflight.Actions
	ActionsFor        = preflight.ActionsFor
	OperatorPolicy    = preflight.OperatorPolicy
	VaultAccessPolicy = preflight.VaultAccessPolicy
	PrincipalARN      = preflight.PrincipalARN
)

