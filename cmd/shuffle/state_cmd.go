package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

func newStateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state check|recount|backup FILE|restore FILE",
		Short: "Check a state directory, rebuild its counters, back it up, or restore it from a backup or snapshot",
		Long: `Look after the state directory (--state, default ./.shuffle).

  check          open the state read-only, verify every table checksum,
                 read and decode every record, and report the records by
                 kind and every problem found, including counters that
                 differ from a full scan (exit 0 clean, 1 damaged)
  recount        rebuild the counters that status and the REPL's count
                 and group read, from one full scan of the records
  backup FILE    write a consistent backup of the state to FILE (Badger's
                 backup stream, about the size of the state's records)
  restore FILE   build the state from a backup or from one of the
                 snapshots 'shuffle run --snapshots N' keeps in
                 STATE/snapshots; refuses to replace an existing state
                 unless --force (the old one is then moved aside, not
                 deleted)

Every command that opens a state first compares its files with the
marker STATE/state.json; a damaged state is an error naming the file
(exit 1), and nothing in it is changed.`,
	}
	cmd.AddCommand(newStateCheckCmd(e), newStateRecountCmd(e), newStateBackupCmd(e), newStateRestoreCmd(e))
	return cmd
}

// openForCheck opens a state read-only; one whose last user did not
// close it is opened read-write, which lets Badger finish its recovery
// (what any other command would do).
func openForCheck(e *env, dir string) (*state.Store, error) {
	if ok, err := state.HasState(dir); err != nil {
		return nil, err
	} else if !ok {
		return nil, usagef("no shuffle state in %s (name the directory with --state)", dir)
	}
	if state.InUse(dir) {
		return nil, lockedError{dir}
	}
	st, err := state.OpenForCheck(dir)
	if errors.Is(err, state.ErrNotClean) {
		fmt.Fprintf(e.stderr, "note: %s was not closed cleanly (a command was killed); opening it read-write so that Badger recovers its log\n", dir)
		st, err = state.OpenWith(dir, e.state)
	}
	if errors.Is(err, state.ErrLocked) {
		return nil, lockedError{dir}
	}
	return st, err
}

func newStateCheckCmd(e *env) *cobra.Command {
	var (
		dir     string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify every table and record of the state; exit 1 if anything is damaged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			st, err := openForCheck(e, dir)
			if err != nil {
				return err
			}
			r, err := st.Check(cmd.Context())
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				printCheck(e.stdout, r, time.Since(start))
			}
			if len(r.Problems) > 0 {
				return &state.DamagedError{Dir: dir, Problem: fmt.Sprintf("'state check' found %d problems (listed above)", len(r.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}

func newStateRecountCmd(e *env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "recount",
		Short: "Rebuild the state's counters from a full scan of its records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ok, err := state.HasState(dir); err != nil {
				return err
			} else if !ok {
				return usagef("no shuffle state in %s (name the directory with --state)", dir)
			}
			start := time.Now()
			st, err := state.OpenWith(dir, e.state)
			if errors.Is(err, state.ErrLocked) {
				return lockedError{dir}
			}
			if err != nil {
				return err
			}
			before, berr := st.Summary()
			err = st.Recount()
			var after *state.Summary
			if err == nil {
				after, err = st.Summary()
			}
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			changed := "the counters were not kept before"
			if berr == nil {
				changed = fmt.Sprintf("%d cells changed", len(state.SummaryDiff(before, after)))
			}
			fmt.Fprintf(e.stdout, "Recounted %s in %s: %d cells; %s.\n", dir, time.Since(start).Round(time.Millisecond), len(after.Cells), changed)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	return cmd
}

func printCheck(w io.Writer, r *state.CheckReport, took time.Duration) {
	fmt.Fprintf(w, "State %s (id %s), checked in %s\n", r.Dir, r.StateID, took.Round(time.Millisecond))
	kinds := make([]string, 0, len(r.Records))
	for k := range r.Records {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-8s %10d records\n", k, r.Records[k])
	}
	if r.Counters != "" {
		fmt.Fprintf(w, "  counters: %s\n", r.Counters)
	}
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "No problems found.")
		return
	}
	fmt.Fprintf(w, "%d problems:\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func newStateBackupCmd(e *env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent backup of the state to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openForCheck(e, dir)
			if err != nil {
				return err
			}
			err = st.BackupFile(args[0])
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			info, err := os.Stat(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "backed up %s to %s (%s)\n", dir, args[0], humanBytes(info.Size()))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	return cmd
}

func newStateRestoreCmd(e *env) *cobra.Command {
	var (
		dir   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Build the state from a backup or snapshot FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return usagef("backup %s: %v", args[0], errors.Unwrap(err))
			}
			defer f.Close()
			has, err := state.HasState(dir)
			if err != nil {
				return err
			}
			if has && !force {
				return usagef("%s already holds a state; add --force to replace it (it is moved aside, not deleted)", dir)
			}
			if has && state.InUse(dir) {
				return lockedError{dir}
			}
			aside, err := state.Restore(dir, f)
			if err != nil {
				return fmt.Errorf("restore %s into %s: %w", args[0], dir, err)
			}
			fmt.Fprintf(e.stdout, "restored %s from %s\n", dir, args[0])
			if aside != "" {
				fmt.Fprintf(e.stdout, "the state it replaced is in %s (delete it once you no longer need it)\n", aside)
			}
			fmt.Fprintln(e.stdout, "warning: copy jobs started after this backup was taken are not in the restored state, and a run may start them again; "+
				"restore the newest snapshot, and if a run was killed after it, compare with the source account's copy jobs (aws backup list-copy-jobs) before running")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	cmd.Flags().BoolVar(&force, "force", false, "replace the state already in --state (moved aside)")
	return cmd
}

// snapshot asks the state for a snapshot as it closes (run
// --snapshots N), reported by cleanup; a failure is a warning, since
// the run itself is done.
func (g *stateDirGuard) snapshot(e *env, st *state.Store, keep int) {
	if keep <= 0 || st == nil || g.drop {
		return
	}
	st.SnapshotOnClose(keep)
	g.e, g.snap = e, st
}

// stateDirGuard removes a state directory that this command created
// when the command failed before recording anything learnt from AWS
// (a script error right after shuffle.config, say): no empty state is
// left behind to be mistaken for a real one.
type stateDirGuard struct {
	dir     string
	existed bool
	drop    bool
	e       *env
	snap    *state.Store // the state asked for a snapshot
}

func newStateDirGuard(dir string) *stateDirGuard {
	_, err := os.Stat(dir)
	return &stateDirGuard{dir: dir, existed: err == nil}
}

// check decides, while the state is still open, whether to drop it,
// and returns err, or the state's damage when reading the state failed
// (the command's own error is then only a symptom of it).
func (g *stateDirGuard) check(err error, st *state.Store) error {
	if err == nil {
		return nil
	}
	if st != nil {
		if d := st.Damage(); d != nil {
			return d
		}
	}
	if g.existed {
		return err
	}
	if st != nil {
		if has, herr := st.HasRecords(); has || herr != nil {
			return err
		}
	}
	g.drop = true
	return err
}

// cleanup removes the directory if check said so; call it after the
// state is closed.
func (g *stateDirGuard) cleanup() {
	if g.drop {
		_ = os.RemoveAll(g.dir)
		return
	}
	if g.snap != nil {
		switch path, err := g.snap.SnapshotResult(); {
		case err != nil:
			fmt.Fprintf(g.e.stderr, "warning: state snapshot: %v\n", err)
		case path != "":
			fmt.Fprintf(g.e.stderr, "state snapshot: %s\n", path)
		}
	}
}
