package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// lockedError: a run holds the state directory.
type lockedError struct{ dir string }

func (l lockedError) Error() string {
	return fmt.Sprintf("the state in %s is in use by a running shuffle command (Badger allows one process at a time); "+
		"its own output shows its progress, and status and forecast ask it when it serves its REPL socket", l.dir)
}
func (l lockedError) Unwrap() error { return state.ErrLocked }

// openStateReadOnly opens an existing state directory for a read-only
// command: it refuses a directory with no state in it (instead of
// creating one) and one that a run holds.
func openStateReadOnly(e *env, dir string) (*state.Store, error) {
	// A marker without badger/ is a damaged state, which Open reports.
	if ok, err := state.HasState(dir); err != nil {
		return nil, err
	} else if !ok {
		return nil, usagef("no shuffle state in %s (run 'shuffle plan' or 'shuffle run' first, or name the directory with --state)", dir)
	}
	st, err := state.OpenWith(dir, e.state)
	if errors.Is(err, state.ErrLocked) {
		return nil, lockedError{dir}
	}
	return st, err
}

func newStatusCmd(e *env) *cobra.Command {
	var (
		dir     string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show where the copy stands: recovery points and bytes by copy state and resource type (reads the state only)",
		Long: `Read the state directory and count the included recovery points by copy
state (completed, running, intent, retry, queued, failed), the remaining
recovery points and bytes by resource type, and the failures by reason.
Nothing is asked of AWS and nothing is written, so status works on the
state a finished or interrupted run left; while a run holds the state,
status asks the run (through its REPL socket) for the live numbers.

--json prints the status as JSON (schema shuffle.status/v1, see
docs/forecast.md). 'shuffle forecast' adds rates and a projection.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, live, err := readStatus(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printStatus(e.stdout, dir, s)
			if live {
				fmt.Fprintln(e.stdout, "(live: asked of the shuffle command running on this state)")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the status as JSON")
	return cmd
}

// readStatus reads the status of the state in dir; while a run serves
// its REPL socket there, it asks the run (live is then true).
func readStatus(ctx context.Context, e *env, dir string) (s *forecast.Status, live bool, err error) {
	s = &forecast.Status{}
	if ok, err := liveReport(ctx, dir, replRequest{Status: true}, s); ok {
		return s, true, err
	}
	st, err := openStateReadOnly(e, dir)
	if err != nil {
		return nil, false, err
	}
	defer st.Close()
	s, err = forecast.ReadStatus(ctx, st, time.Now())
	if d := st.Damage(); d != nil {
		return nil, false, d // Badger could not read a value: err is a symptom
	}
	return s, false, err
}

// localTime formats a time for operators, in local time.
func localTime(t time.Time) string { return t.Local().Format("Mon 2 Jan 2006 15:04:05 MST") }

func pctOrDash(n, d int64) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

func printStatus(w io.Writer, dir string, s *forecast.Status) {
	fmt.Fprintf(w, "State %s, read %s\n", dir, localTime(s.GeneratedAt))
	todo, todoBytes := s.Completed+s.Remaining, s.CompletedBytes+s.RemainingBytes
	fmt.Fprintf(w, "Copied %d of %d recovery points (%s), %s of %s (%s); %d remaining (%s), %d failed\n\n",
		s.Completed, todo, pctOrDash(s.Completed, todo), humanBytes(s.CompletedBytes), humanBytes(todoBytes), pctOrDash(s.CompletedBytes, todoBytes),
		s.Remaining, humanBytes(s.RemainingBytes), s.Failed)

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "COPY STATE\tRPS\tSIZE\t")
	for _, k := range forecast.StatusStates {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", k, s.States[k], humanBytes(s.BytesByState[k]))
	}
	fmt.Fprintf(tw, "included\t%d\t%s\t\n", s.Included, humanBytes(s.IncludedBytes))
	tw.Flush()

	if len(s.ByType) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "TYPE\tCOMPLETED\tCOMPL. SIZE\tREMAINING\tREM. SIZE\tFAILED\t")
		for _, t := range s.ByType {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\t\n", t.ResourceType, t.Completed, humanBytes(t.CompletedBytes), t.Remaining, humanBytes(t.RemainingBytes), t.Failed)
		}
		tw.Flush()
	}
	printReasons(w, "Failed", s.FailedByReason)
	printReasons(w, "Waiting to retry", s.RetryByReason)
	printLag(w, s.Lag)
	if a := s.AtRisk; a != nil && a.RecoveryPoints > 0 {
		fmt.Fprintf(w, "%s (projected %s)\n", atRiskLine(a), localTime(*a.AsOf))
	}
	printRunWaiting(w, s.LastRun)
	fmt.Fprintln(w)
	if s.FirstStart != nil {
		fmt.Fprintf(w, "First copy job started %s", localTime(*s.FirstStart))
		if s.LastCompletion != nil {
			fmt.Fprintf(w, "; last completion %s", localTime(*s.LastCompletion))
		}
		fmt.Fprintln(w)
	}
	if r := s.LastRun; r != nil {
		fmt.Fprintf(w, "Last command: %s %s, started %s", r.Command, r.Script, localTime(r.Start))
		if !r.End.IsZero() {
			fmt.Fprintf(w, ", took %s, exit %d", forecast.HumanDuration(r.End.Sub(r.Start)), r.Exit)
		}
		fmt.Fprintf(w, " (%d in the run history)\n", s.Runs)
		if l := approvedPlanLine(r); l != "" {
			fmt.Fprintln(w, l)
		}
	}
	if s.OrphanCopies > 0 {
		fmt.Fprintf(w, "Warning: %d copy records have no recovery point record\n", s.OrphanCopies)
	}
}

// printLag says how far the copy is behind the source.
func printLag(w io.Writer, l *forecast.Lag) {
	if l == nil {
		return
	}
	fmt.Fprintln(w)
	after := strings.TrimSuffix(strings.TrimSuffix(l.After, "0s"), "0m")
	switch {
	case l.Oldest == nil:
		fmt.Fprintln(w, "Lag: every included recovery point is copied")
		return
	case l.RecoveryPoints == 0:
		fmt.Fprintf(w, "Lag: none; every included recovery point created more than %s ago is copied (the oldest not copied was created %s)\n", after, localTime(*l.Oldest))
		return
	}
	fmt.Fprintf(w, "Lag: %d included recovery points created more than %s ago are not copied yet; the oldest was created %s (%s ago)\n",
		l.RecoveryPoints, after, localTime(*l.Oldest), l.OldestAge)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VAULT\tLAGGING\tOLDEST\t")
	for _, v := range l.ByVault {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t\n", v.Vault, v.RecoveryPoints, localTime(v.Oldest))
	}
	tw.Flush()
}
