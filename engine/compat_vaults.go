package engine

import (
	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
)

// Compatibility names for the vault-policy code that moved to
// engine/vaultpolicy (issue 19). They go once their callers (plan.go)
// use vaultpolicy directly.

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
// cmd/shuffle's check tests still use them; they go once those use the
// packages directly.
type PolicyDocument = preflight.PolicyDocument

const (
	SideDestination = finding.SideDestination
	Blocking        = finding.Blocking
)
