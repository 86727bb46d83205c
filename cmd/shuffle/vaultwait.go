package main

import (
	"fmt"
	"io"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// printVaultWaits prints, per source vault, the RPs still waiting for
// their destination vault with why (blocked: the operator must act;
// creating: AWS is still creating it), and the vaults that became ready
// during the run.
func printVaultWaits(w io.Writer, s copier.Summary) {
	for _, k := range sortedKeys(s.WaitingByVault) {
		why := s.WaitingWhy[k]
		kind := "blocked"
		if !why.Blocked() {
			kind = "waiting"
		}
		fmt.Fprintf(w, "  %-7s %6d  %s (%s): %s\n", kind, s.WaitingByVault[k], k, why, s.WaitingReasons[k])
	}
	for _, k := range sortedKeys(s.VaultsReady) {
		fmt.Fprintf(w, "  ready   %s after %s: its copies started in this run\n", k, s.VaultsReady[k].Round(time.Second))
	}
}

// printRunWaiting prints the vaults whose RPs waited for their
// destination when the last run ended (status).
func printRunWaiting(w io.Writer, r *state.Run) {
	if r == nil || len(r.Waiting) == 0 {
		return
	}
	fmt.Fprintf(w, "\nWaiting for their destination vault when the last run ended:\n")
	for _, v := range r.Waiting {
		kind := "waiting"
		if v.Blocked {
			kind = "blocked"
		}
		fmt.Fprintf(w, "  %-7s %6d  %s (%s): %s\n", kind, v.RecoveryPoints, v.Vault, v.Wait, v.Reason)
	}
}
