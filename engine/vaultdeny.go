package engine

import "fmt"

// deniesCopy names the first statement of the policy that explicitly
// denies account acct backup:CopyIntoBackupVault into vaultArn ("" when
// none does). An explicit Deny wins over any Allow, and shuffle never
// removes statements, so such a vault stays blocked until its owner
// changes the policy: reconcile cannot fix it.
func (p *vaultPolicy) deniesCopy(acct, vaultArn string) string {
	for i, st := range p.stmts {
		if st["Effect"] == "Deny" && copyApplies(st, acct, vaultArn) {
			return statementName(st, i)
		}
	}
	return ""
}

// copyDeniedReason is the reason a vault whose access policy denies the
// source account copies is blocked, for run, plan and check alike.
func copyDeniedReason(vault, stmt, acct string) string {
	return fmt.Sprintf("the access policy of %s denies backup:CopyIntoBackupVault to account %s (statement %s), so every copy into it would fail with AccessDenied; an explicit Deny wins over any Allow and shuffle never removes statements: remove or narrow that statement, then run again",
		vault, acct, stmt)
}
