package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/cutover"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// cutoverError carries cutover's exit code: some included RP created
// before the cutover time is not copied and verified.
type cutoverError struct{ rep *cutover.Report }

func (c cutoverError) Error() string {
	notCovered := 0
	for _, v := range c.rep.Vaults {
		if !v.Covered {
			notCovered++
		}
	}
	return fmt.Sprintf("cutover as of %s: not ready: %d of %d included recovery points missing, %d vaults not listed since; "+
		"run 'shuffle run' again to list and copy them (those gone from the source cannot be copied: the list above names them), then ask again",
		c.rep.AsOf.Format(time.RFC3339), c.rep.MissingN, c.rep.Included, notCovered)
}
func (c cutoverError) ExitCode() int { return exitUnverified }

func newCutoverCmd(e *env) *cobra.Command {
	var (
		sf      sessionFlags
		jsonOut bool
		asOf    string
	)
	cmd := &cobra.Command{
		Use:   "cutover SCRIPT --as-of TIME",
		Short: "Say whether every included recovery point created before TIME is copied and verified (the gate before switching backup plans)",
		Long: `Run the script as plan does (each vault is listed from its newest
recovery point, so what the source made since the last run is known;
nothing is written to AWS), verify every completed copy as 'shuffle verify'
does, then answer per source vault: is every recovery point the policies
include, created before --as-of, copied and verified?

A vault is ready when its last listing began at or after --as-of and
nothing is missing. Missing recovery points are listed oldest first with
why: not copied (and its state), copy did not verify, or gone from the
source before it was copied (nothing can bring those back; the report
names them so the owners can decide).

--as-of takes RFC 3339 (2026-12-07T06:00:00Z), a date (UTC midnight), or
last-run: the start of the last 'shuffle run' in this state.

Exit codes: 0 ready; 4 not ready; 1 and 2 as for the other commands.
--json prints the report (schema shuffle.cutover/v1).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asOf == "" {
				return usagef("--as-of is required: the time before which every included recovery point must be in the destination (RFC 3339, a date, or last-run)")
			}
			if asOf != "last-run" {
				if _, err := parseAsOf(asOf, nil); err != nil {
					return err
				}
			}
			ctx, cancel := e.notify(cmd.Context())
			defer cancel()
			s, err := sf.session()
			if err != nil {
				return err
			}
			s.DryRun, s.DecideWhileListing = true, true
			defer s.Close()
			se := *e
			if jsonOut {
				se.stdout = e.stderr // stdout is the report alone
			}
			if err := runScript(ctx, &se, args[0], s); err != nil {
				return err
			}
			at, err := parseAsOf(asOf, s.Store)
			if err != nil {
				return err
			}
			rep, _, err := s.Cutover(ctx, at)
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printCutover(e.stdout, rep)
			}
			if !rep.Ready {
				return cutoverError{rep}
			}
			return nil
		},
	}
	sf.register(cmd, e)
	cmd.Flags().StringVar(&asOf, "as-of", "", "the cutover time: RFC 3339, a date (UTC midnight), or last-run (the start of the last 'shuffle run')")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the cutover report as JSON")
	return cmd
}

// parseAsOf reads --as-of; st is read only for last-run.
func parseAsOf(v string, st *state.Store) (time.Time, error) {
	if v == "last-run" {
		runs, err := st.Runs()
		if err != nil {
			return time.Time{}, err
		}
		for i := len(runs) - 1; i >= 0; i-- {
			if runs[i].Command == state.CommandRun {
				return runs[i].Start, nil
			}
		}
		return time.Time{}, usagef("--as-of last-run: this state records no 'shuffle run' yet; give a time instead")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--as-of %q: want RFC 3339 (2026-12-07T06:00:00Z), a date (2026-12-07) or last-run", v)
}

// cutoverShown is how many missing RPs the human output lists.
const cutoverShown = 20

func printCutover(w io.Writer, r *cutover.Report) {
	fmt.Fprintf(w, "cutover as of %s\n", r.AsOf.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VAULT\tLISTED FROM\tINCLUDED\tVERIFIED\tMISSING\tLOST\tREADY\t")
	for _, v := range r.Vaults {
		listed := v.ListedAt.Format(time.RFC3339)
		if v.ListedAt.IsZero() {
			listed = "never"
		}
		if !v.Covered {
			listed += " (before as-of)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n", v.Vault, listed, v.Included, v.Verified, v.Missing, v.Lost, yesNo(v.Ready))
	}
	tw.Flush()
	for i, m := range r.Missing {
		if i == cutoverShown {
			fmt.Fprintf(w, "... and %d more (--json lists up to %d)\n", r.MissingN-int64(cutoverShown), cutover.MaxListed)
			break
		}
		fmt.Fprintf(w, "missing: %s %s (created %s, %s): %s\n", m.Vault, m.Arn, m.CreationDate.Format(time.RFC3339), m.Status, m.Why)
	}
	if r.Ready {
		fmt.Fprintf(w, "ready: all %d included recovery points created before %s are copied and verified\n", r.Included, r.AsOf.Format(time.RFC3339))
		return
	}
	var why []string
	if r.MissingN > 0 {
		why = append(why, fmt.Sprintf("%d of %d included recovery points missing", r.MissingN, r.Included))
	}
	for _, v := range r.Vaults {
		if !v.Covered {
			why = append(why, "vault "+v.Vault+" not listed since "+r.AsOf.Format(time.RFC3339))
		}
	}
	fmt.Fprintf(w, "not ready: %s\n", strings.Join(why, "; "))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
