package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Approved plans on the command line: `run --plan PLAN --allow-drift
// KINDS` (engine/approval has the file, the engine the comparison).

// exitDrift: shuffle run --plan found the decisions differ from the
// approved plan in ways --allow-drift did not accept.
const exitDrift = 5

// driftError is an *approval.DriftError with its exit code.
type driftError struct{ error }

func (d driftError) Unwrap() error { return d.error }
func (d driftError) ExitCode() int { return exitDrift }

// approvedPlanFlags are run's --plan and --allow-drift.
type approvedPlanFlags struct {
	path  string
	allow string
	set   approval.DriftSet
}

const runPlanHelp = `

Approved plans: --plan PLAN holds the run to a plan file that
'shuffle plan --out PLAN' wrote and the security team approved ('shuffle
show PLAN' prints it). After the inventory and the decisions, and before
anything is written to AWS, the run compares its decisions with the plan:
recovery points added (included now, not in the plan), removed (in the
plan, not included now) and changed (another destination vault, key or
tags), and vaults (a destination vault to create that the plan does not
create, or with other settings). Any of them stops the run with exit 5
and the difference, unless --allow-drift names the kinds to accept.
Whatever is accepted, only the plan's recovery points decided exactly as
approved are copied; the others stay queued. An edited or damaged plan
file, or one for other accounts, is refused (exit 2).`

// register adds the flags to run.
func (f *approvedPlanFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.path, "plan", "", "copy only what this approved plan (written by shuffle plan --out) includes; stop before any write if the decisions differ from it")
	fl.StringVar(&f.allow, "allow-drift", "", "with --plan, the differences to accept: a comma-separated list of added, removed, changed and vaults, or all (only the plan's recovery points decided as approved are copied)")
	complete(cmd, "allow-drift", completeDrift)
}

// completeDrift completes --allow-drift with the drift kinds, after
// those already typed (comma-separated).
func completeDrift(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, last := "", prefix
	if i := strings.LastIndex(prefix, ","); i >= 0 {
		done, last = prefix[:i+1], prefix[i+1:]
	}
	var out []cobra.Completion
	for _, k := range append(append([]approval.DriftKind(nil), approval.DriftKinds...), "all") {
		if strings.HasPrefix(string(k), last) && !strings.Contains(","+done, ","+string(k)+",") {
			out = append(out, cobra.Completion(done+string(k)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// validate checks the flags and the plan file before anything runs:
// usage errors (exit 2) for a bad kind, --allow-drift without --plan,
// and a missing, damaged or edited plan file.
func (f *approvedPlanFlags) validate() error {
	set, err := approval.ParseDriftSet(f.allow)
	if err != nil {
		return usagef("--allow-drift: %v", err)
	}
	f.set = set
	switch {
	case f.path == "" && f.allow != "":
		return usagef("--allow-drift needs --plan PLAN: it says which differences from the approved plan to accept")
	case f.path == "":
		return nil
	}
	if _, err := approval.Read(f.path, nil); err != nil {
		return usagef("--plan: %v", err)
	}
	return nil
}

// apply makes the session follow the plan and tell the operator what
// they should know as it goes.
func (f *approvedPlanFlags) apply(e *env, s *engine.Session) {
	s.Approval = engine.ApprovalOptions{Path: f.path, Allow: f.set}
	s.Notice = func(msg string) { fmt.Fprintln(e.stderr, "shuffle:", msg) }
}

// runFlags adds the approved plan's checksum to a run record's flags.
func (f *approvedPlanFlags) runFlags(flags map[string]string, s *engine.Session) map[string]string {
	r := s.ApprovalResult
	if r == nil {
		return flags
	}
	if flags == nil {
		flags = map[string]string{}
	}
	flags[approval.RunFlag] = r.Checksum
	if len(f.set) > 0 {
		flags["allow_drift"] = f.set.String()
	}
	return flags
}

// report says what following the plan did: the drift accepted, and the
// included recovery points the plan held back.
func (f *approvedPlanFlags) report(w io.Writer, s *engine.Session) {
	r := s.ApprovalResult
	if r != nil && !r.Accepted {
		return // the run stopped on the drift: the error says it
	}
	if r == nil {
		return
	}
	if s.CopySummary.NotApproved == 0 && len(r.Drift.Kinds()) == 0 {
		fmt.Fprintf(w, "approved plan %s (checksum %s): %d recovery points decided as approved, no drift\n", r.Path, r.Checksum, r.Drift.Approved)
		for _, n := range r.Drift.Notes() {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		return
	}
	fmt.Fprintf(w, "approved plan %s (checksum %s), drift accepted with --allow-drift %s:\n", r.Path, r.Checksum, f.set)
	r.Drift.Write(w)
	if n := s.CopySummary.NotApproved; n > 0 {
		fmt.Fprintf(w, "copy: %d included recovery points not started: not in the approved plan, or decided otherwise now\n", n)
	}
}

// approvedPlanLine says which approved plan a run record followed, or
// which one a plan command wrote ("" for none), for status.
func approvedPlanLine(r *state.Run) string {
	sum := r.Flags[approval.RunFlag]
	switch {
	case sum == "":
		return ""
	case r.Command == state.CommandPlan:
		return fmt.Sprintf("  it wrote the approved plan %s (checksum %s)", r.Flags["out"], sum)
	case r.Flags["allow_drift"] != "":
		return fmt.Sprintf("  it followed the approved plan with checksum %s, accepting drift: %s", sum, r.Flags["allow_drift"])
	}
	return fmt.Sprintf("  it followed the approved plan with checksum %s", sum)
}

// classifyDrift gives a refused drift its exit code.
func classifyDrift(err error) (error, bool) {
	var de *approval.DriftError
	if errors.As(err, &de) {
		return driftError{err}, true
	}
	return err, false
}
