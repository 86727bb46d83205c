package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/engine/verify"
)

// exitUnverified: verify found completed copies that are missing from,
// or differ in, their destination vault.
const exitUnverified = 4

// verifyError carries verify's exit code.
type verifyError struct{ rep *verify.Report }

func (v verifyError) Error() string {
	return fmt.Sprintf("verify: %d of %d completed copies did not verify (%d missing, %d mismatched)",
		v.rep.Missing+v.rep.Mismatched, v.rep.Completed, v.rep.Missing, v.rep.Mismatched)
}
func (v verifyError) ExitCode() int { return exitUnverified }

// verifyShown is how many problems the human output lists.
const verifyShown = 20

func newVerifyCmd(e *env) *cobra.Command {
	var (
		sf      sessionFlags
		jsonOut bool
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "verify SCRIPT",
		Short: "Check that every completed copy exists in its destination vault, like for like (writes nothing to AWS)",
		Long: `Run the script as plan does (nothing is written to AWS), then check every
copy the state records as completed against the destination account: each
destination vault is listed once, and each copy's destination recovery
point must be there with the source's resource ARN, size and
DeleteAfterDays. Destination recovery points of copies still under way
(running) and those shuffle did not copy (not shuffle's) are counted,
for information only.

Exit codes: 0 every completed copy verified; 4 at least one is missing or
differs; 1 and 2 as for the other commands. --json prints the full report
(schema shuffle.verify/v1); without it, a table per destination vault and
the first 20 problems. See docs/verify-and-reports.md.

While a 'shuffle run' holds the state, verify asks it (through its REPL
socket) to check its live state against the destination, instead of
opening the state: nothing is listed in the source or recorded. With
--dry-run, a verify that opens the state records no run-history entry
either.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := e.notify(cmd.Context())
			defer cancel()
			if rep, ok, err := liveVerify(ctx, e, sf.state); ok {
				if err != nil {
					return err
				}
				return reportVerify(e.stdout, rep, jsonOut)
			}
			s, err := sf.session()
			if err != nil {
				return err
			}
			s.DryRun = true
			defer s.Close()
			start := time.Now()
			se := *e
			if jsonOut {
				se.stdout = e.stderr // stdout is the report alone
			}
			if err := runScript(ctx, &se, args[0], s); err != nil {
				return err
			}
			if err := s.Finish(ctx); err != nil {
				return err
			}
			rep, err := s.Verify(ctx)
			if err != nil {
				return err
			}
			r := state.Run{Command: state.CommandVerify, Script: args[0], Start: start, End: time.Now(), Counts: map[string]int64{
				"completed": rep.Completed, "verified": rep.Verified, "missing": rep.Missing, "mismatched": rep.Mismatched, "running": rep.Running, "unknown": rep.Unknown}}
			if !rep.OK() {
				r.Exit = exitUnverified
			}
			if !dryRun {
				_ = s.Store.PutRun(r)
			}
			return reportVerify(e.stdout, rep, jsonOut)
		},
	}
	sf.register(cmd, e)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the full verify report as JSON")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "record no run-history entry (a verify that asks a running run never records one)")
	return cmd
}

// liveVerify asks the run serving its REPL socket in dir to verify its
// live state; ok is false when no run answers there.
func liveVerify(ctx context.Context, e *env, dir string) (rep *verify.Report, ok bool, err error) {
	rep = &verify.Report{}
	ok, err = liveReport(ctx, dir, replRequest{Verify: true}, rep)
	if ok && err == nil {
		fmt.Fprintf(e.stderr, "verify: asked the shuffle run that holds %s (its live state); nothing is recorded\n", dir)
	}
	return rep, ok, err
}

// reportVerify prints a verify report, and returns verify's exit error
// when a copy did not verify.
func reportVerify(w io.Writer, rep *verify.Report, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printVerify(w, rep)
	}
	if !rep.OK() {
		return verifyError{rep}
	}
	return nil
}

func printVerify(w io.Writer, r *verify.Report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VAULT\tCOMPLETED\tVERIFIED\tMISSING\tMISMATCHED\tRUNNING\tNOT SHUFFLE'S\tSOURCE VAULTS\t")
	for _, v := range r.Vaults {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", v.Vault, v.Completed, v.Verified, v.Missing, v.Mismatched, v.Running, v.Unknown, strings.Join(v.SourceVaults, ","))
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%d\t%d\t%d\t%d\t\t\n", r.Completed, r.Verified, r.Missing, r.Mismatched, r.Running, r.Unknown)
	tw.Flush()
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "\nall %d completed copies verified\n", r.Completed)
		return
	}
	fmt.Fprintf(w, "\nProblems (%d):\n", len(r.Problems))
	for i, p := range r.Problems {
		if i == verifyShown {
			fmt.Fprintf(w, "  ... and %d more (see --json)\n", len(r.Problems)-verifyShown)
			break
		}
		fmt.Fprintf(w, "  %s\n    -> %s\n    %s: want %s, got %s\n", p.SourceRPArn, orNone(p.DestRPArn), p.Field, p.Want, p.Got)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
