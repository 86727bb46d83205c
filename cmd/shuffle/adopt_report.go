package main

import (
	"fmt"
	"io"

	"github.com/shuffle-migrate/shuffle/engine/copier"
)

// printAdoptSummary prints what the copy step found in AWS that the
// state had no record of, and the RPs held as possibly copied already.
func printAdoptSummary(w io.Writer, a copier.AdoptSummary) {
	if a.Swept {
		fmt.Fprintf(w, "copy: looked in AWS for copies this state has no record of (%d copy jobs, %d destination recovery points listed)\n", a.Jobs, a.DestRPs)
	}
	if n := a.Completed + a.Running; n > 0 || a.Resent > 0 {
		fmt.Fprintf(w, "copy: %d adopted from AWS (%d copied already, %d jobs still running); %d interrupted starts sent again\n", n, a.Completed, a.Running, a.Resent)
	}
	if a.Held > 0 {
		fmt.Fprintf(w, "copy: %d held as possibly copied already (%d by this run): not started; check them (run report, copy_state held) and requeue the ones to copy\n", a.Held, a.HeldNow)
		for _, k := range sortedKeys(a.HeldByReason) {
			fmt.Fprintf(w, "  held    %6d  %s\n", a.HeldByReason[k], k)
		}
	}
}
