package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// sessionFlags are the flags every script-running command shares.
type sessionFlags struct {
	state              string
	sourceProfile      string
	destinationProfile string
	fresh              bool
	reconcileEvery     time.Duration
	deltaMargin        time.Duration
	// Not flags: the options the command read from the environment.
	aws       awsclient.Options
	stateOpts state.Options
}

// register adds the flags to cmd and takes the options e read from the
// environment.
func (f *sessionFlags) register(cmd *cobra.Command, e *env) {
	f.aws, f.stateOpts = e.aws, e.state
	fl := cmd.Flags()
	fl.StringVar(&f.state, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	f.registerProfiles(cmd)
	fl.BoolVar(&f.fresh, "fresh", false, "list the source again from scratch (a new inventory generation); decisions and copy state are kept")
	fl.DurationVar(&f.reconcileEvery, "reconcile-every", inventory.DefaultReconcileEvery, "list each vault whole again after this much run time, to find recovery points gone (0: at every command); in between, only what is new is listed")
	fl.DurationVar(&f.deltaMargin, "delta-margin", inventory.DefaultDeltaMargin, "list new recovery points from this long before each vault's newest one, for late arrivals and clock skew (at least 1m)")
}

// delta is the listing's options from the flags, or a usage error.
func (f *sessionFlags) delta() (inventory.DeltaOptions, error) {
	switch {
	case f.reconcileEvery < 0:
		return inventory.DeltaOptions{}, usagef("--reconcile-every must be 0 (every command lists every vault whole) or more, got %s", f.reconcileEvery)
	case f.deltaMargin < time.Minute:
		return inventory.DeltaOptions{}, usagef("--delta-margin must be at least 1m: new recovery points are listed from this long before the newest one seen, and clocks disagree; got %s", f.deltaMargin)
	}
	o := inventory.DeltaOptions{Margin: f.deltaMargin, ReconcileEvery: f.reconcileEvery}
	if o.ReconcileEvery == 0 {
		o.ReconcileEvery = -1
	}
	return o, nil
}

// registerProfiles adds --source-profile and --destination-profile,
// whose help says the precedence engine/profiles applies.
func (f *sessionFlags) registerProfiles(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.sourceProfile, "source-profile", "", "AWS profile for the source account; wins over the script's source.profile, then AWS_PROFILE, then \"default\"")
	fl.StringVar(&f.destinationProfile, "destination-profile", "", "AWS profile for the destination account; wins over the script's destination.profile (one of the two is required: AWS_PROFILE is taken for the source only)")
	completeProfileFlags(cmd, &f.aws)
}

// overrides are the profiles the flags name.
func (f *sessionFlags) overrides() engine.Overrides {
	return engine.Overrides{SourceProfile: f.sourceProfile, DestinationProfile: f.destinationProfile}
}

func (f *sessionFlags) session() (*engine.Session, error) {
	d, err := f.delta()
	if err != nil {
		return nil, err
	}
	return &engine.Session{Options: engine.Options{
		StateDir:  f.state,
		Overrides: f.overrides(),
		Fresh:     f.fresh,
		Delta:     d,
		AWS:       f.aws,
		State:     f.stateOpts,
	}}, nil
}

// runScript runs the operator's script against a session and maps
// script and configuration errors to exit codes.
func runScript(ctx context.Context, e *env, path string, s *engine.Session) error {
	if _, err := os.Stat(path); err != nil {
		return usagef("script %s: %v", path, errors.Unwrap(err))
	}
	err := luabind.RunScript(ctx, path, s, e.stdout)
	if err == nil && s.Store == nil {
		return usagef("%s never called shuffle.config{...}; see docs/lua-api.md", path)
	}
	return classify(err)
}

// classify marks errors the operator fixes in their input as usage
// errors (exit 2); everything else is a run-time error (exit 1).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *engine.ConfigError
	var lce *scriptconfig.FieldError
	var pe *metadata.ParseError
	var se *luabind.ScriptError
	var ae *copier.AccessError
	if de, ok := classifyDrift(err); ok {
		return de
	}
	switch {
	case errors.As(err, &ae):
		return blockingError{err}
	case errors.As(err, &ce), errors.As(err, &lce), errors.As(err, &pe):
		return usageError{err}
	case errors.As(err, &se) && se.Err != nil && errors.Unwrap(se.Err) == nil &&
		!errors.Is(se.Err, context.Canceled) && !errors.Is(se.Err, context.DeadlineExceeded):
		// A Lua syntax or runtime error in the script itself: engine
		// failures always wrap their cause, plain Lua errors do not.
		return usageError{err}
	}
	return err
}

// blockingError is a problem found before anything was started that
// the operator must fix first, like a pre-flight failure (exit 3).
type blockingError struct{ error }

func (b blockingError) Unwrap() error { return b.error }
func (b blockingError) ExitCode() int { return exitBlocking }

// planFlags are the flags of `shuffle plan`.
type planFlags struct {
	sf      sessionFlags
	pf      progressFlags
	jsonOut bool
	outFile string
}

const planLong = `Run the script's inventory, enrich and decide steps (any the script does not
call run anyway), then report per vault and resource type: recovery points
and bytes, included, excluded and ineligible by reason, the destination
vaults that would be created or that have drifted, and warnings about
metadata. Nothing is written to AWS; the state directory records the
inventory and decisions, so a later plan or run resumes from them.

--json prints the report as JSON (schema shuffle.plan/v1, see
docs/operator-guide.md).

--out PLAN also writes the approved-plan file (schema
shuffle.approved-plan/v1): every decision (recovery point, destination
vault, key, tags), the policy hash, the inventory's fingerprint, the
vaults to create with their settings and this report, with a checksum.
'shuffle show PLAN' prints it for review; 'shuffle run SCRIPT --plan PLAN'
copies exactly what it approved and stops before any write if the
decisions have changed since.`

func newPlanCmd(e *env) *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan SCRIPT",
		Short: "Inventory, enrich and decide, then report what a run would copy (writes nothing to AWS)",
		Long:  planLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(e, cmd, args[0])
		},
	}
	f.sf.register(cmd, e)
	f.pf.register(cmd)
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the plan as JSON")
	cmd.Flags().StringVar(&f.outFile, "out", "", "also write the approved-plan file (every decision, with a checksum) for 'shuffle show' and 'shuffle run --plan'")
	return cmd
}

// run is `shuffle plan SCRIPT`: the script in dry-run, the plan report,
// the approved-plan file with --out, and the run history entry.
func (f *planFlags) run(e *env, cmd *cobra.Command, script string) error {
	ctx, cancel := e.notify(cmd.Context())
	defer cancel()
	s, err := f.sf.session()
	if err != nil {
		return err
	}
	s.DryRun = true
	// The report needs every decision: make them while listing.
	s.DecideWhileListing = true
	guard := newStateDirGuard(f.sf.state)
	defer guard.cleanup()
	defer s.Close()
	start := time.Now()
	// With --json, stdout is the report alone; the script's own output
	// goes to stderr.
	se := *e
	if f.jsonOut {
		se.stdout = e.stderr
	}
	obs := f.pf.start(&se, s, f.sf.state, "plan")
	defer obs.stop(nil)
	if err := runScript(ctx, obs.env, script, s); err != nil {
		err = guard.check(err, s.Store)
		obs.stop(err)
		return err
	}
	if err := s.Complete(ctx); err != nil {
		obs.stop(err)
		return err
	}
	p, err := s.Plan(ctx, script)
	obs.stop(err)
	if err != nil {
		return err
	}
	r := state.Run{Command: "plan", Script: script, Start: start, Counts: map[string]int64{
		"recovery_points": p.Totals.RecoveryPoints, "included": p.Totals.Included, "excluded": p.Totals.Excluded, "ineligible": p.Totals.Ineligible}}
	if f.outFile != "" {
		sum, err := writeApproved(ctx, e, s, f.outFile, p)
		if err != nil {
			return err
		}
		r.Flags = map[string]string{"out": f.outFile, approval.RunFlag: sum}
	}
	r.End = time.Now()
	_ = s.Store.PutRun(r)
	if f.jsonOut {
		// The report, with the at-risk projection the text prints.
		out := planOutput{Plan: p, AtRisk: noteAtRisk(ctx, e.stderr, s.Store)}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printPlan(e.stdout, p)
	noteAtRisk(ctx, e.stdout, s.Store)
	return nil
}

// planOutput is what `plan --json` prints: the plan report and, when the
// projection finds any, the recovery points at risk of expiring before
// their copy (absent when none, as in the run report).
type planOutput struct {
	*plan.Plan
	AtRisk *forecast.AtRisk `json:"at_risk,omitempty"`
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func printPlan(w io.Writer, p *plan.Plan) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VAULT\tRPS\tSIZE\tINCLUDED\tINCL. SIZE\tEXCLUDED\tINELIGIBLE\tDESTINATION\t")
	for _, v := range p.Vaults {
		dest := string(v.Destination.Action) + " " + v.Destination.Name
		if v.Destination.LockNeedsConfirmation {
			dest += " (compliance lock: needs --confirm-compliance-lock)"
		}
		if len(v.Destination.Blocking) > 0 {
			dest += " (blocked)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\t%d\t%s\t\n", v.Name, v.RecoveryPoints, humanBytes(v.Bytes), v.Included, humanBytes(v.IncludedBytes), v.Excluded, v.Ineligible, dest)
	}
	t := p.Totals
	fmt.Fprintf(tw, "TOTAL\t%d\t%s\t%d\t%s\t%d\t%d\t\t\n", t.RecoveryPoints, humanBytes(t.Bytes), t.Included, humanBytes(t.IncludedBytes), t.Excluded, t.Ineligible)
	tw.Flush()
	printReasons(w, "Excluded", t.ExcludedByReason)
	printReasons(w, "Ineligible", t.IneligibleByReason)
	for _, v := range p.Vaults {
		if len(v.Destination.Drift) > 0 {
			fmt.Fprintf(w, "\nDrift: destination vault %s differs from its source: %s (left alone)\n", v.Destination.Name, strings.Join(v.Destination.Drift, "; "))
		}
		for _, b := range v.Destination.Blocking {
			fmt.Fprintf(w, "\nBlocked: destination vault %s: %s\n", v.Destination.Name, b)
		}
	}
	printKeys(w, p)
	wn := p.Warnings
	if wn.RPsWithoutMetadata > 0 || len(wn.Conflicts) > 0 || wn.MetadataRowsWithoutRPs > 0 {
		fmt.Fprintln(w, "\nWarnings:")
	}
	if wn.RPsWithoutMetadata > 0 {
		fmt.Fprintf(w, "  %d recovery points have no metadata row (e.g. %s)\n", wn.RPsWithoutMetadata, strings.Join(first(wn.ResourcesWithoutMetadata, 3), ", "))
	}
	for i, c := range wn.Conflicts {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more conflicting resources (see --json)\n", len(wn.Conflicts)-10)
			break
		}
		fmt.Fprintf(w, "  conflicting metadata rows for %s: %s is %s on lines %s\n", c.ResourceArn, c.Field, quoteAll(c.Values), joinInts(c.Lines))
	}
	if wn.MetadataRowsWithoutRPs > 0 {
		fmt.Fprintf(w, "  %d metadata rows name resources with no recovery point\n", wn.MetadataRowsWithoutRPs)
	}
}

// printKeys lists the destination key of each vault to create: as the
// vault mapping named it, and the key ARN KMS resolved it to.
func printKeys(w io.Writer, p *plan.Plan) {
	title := false
	for _, v := range p.Vaults {
		d := v.Destination
		if d.Action != plan.DestinationCreate || d.Settings.EncryptionKey == "" {
			continue
		}
		if !title {
			fmt.Fprintln(w, "\nDestination keys (vaults to create):")
			title = true
		}
		arn := d.Settings.EncryptionKeyArn
		switch {
		case arn == "":
			arn = "does not resolve (see Blocked)"
		case arn == d.Settings.EncryptionKey:
			arn = "(key ARN)"
		}
		fmt.Fprintf(w, "  %s: %s = %s\n", d.Name, d.Settings.EncryptionKey, arn)
	}
}

func printReasons(w io.Writer, title string, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	type kv struct {
		k string
		v int64
	}
	var rs []kv
	for k, v := range m {
		rs = append(rs, kv{k, v})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].v > rs[j].v || (rs[i].v == rs[j].v && rs[i].k < rs[j].k) })
	fmt.Fprintf(w, "\n%s, by reason:\n", title)
	for _, r := range rs {
		fmt.Fprintf(w, "  %8d  %s\n", r.v, r.k)
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, " vs ")
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
