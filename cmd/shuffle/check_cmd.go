package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/compliance"
	"github.com/shuffle-migrate/shuffle/engine/finding"
	pf "github.com/shuffle-migrate/shuffle/engine/preflight"
	"github.com/shuffle-migrate/shuffle/engine/profiles"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// configHost runs a script only as far as its shuffle.config call and
// keeps the configuration: check and iam-policy need nothing more, and
// they must not open the state or touch AWS through the script.
type configHost struct{ cfg *scriptconfig.Config }

var errConfigured = errors.New("shuffle.config captured")

func (h *configHost) Configure(cfg scriptconfig.Config) error {
	h.cfg = &cfg
	return errConfigured
}

var errNotConfigured = errors.New("call shuffle.config{...} first")

func (h *configHost) Inventory(context.Context) (map[string]any, error) { return nil, errNotConfigured }
func (h *configHost) Enrich(context.Context) (map[string]any, error)    { return nil, errNotConfigured }
func (h *configHost) Decide(context.Context) (map[string]any, error)    { return nil, errNotConfigured }
func (h *configHost) Replicate(context.Context) (map[string]any, error) { return nil, errNotConfigured }
func (h *configHost) Copy(context.Context, scriptconfig.CopyArgs) (map[string]any, error) {
	return nil, errNotConfigured
}

// scriptConfig runs path up to its shuffle.config call and returns the
// configuration with each side's profile and region resolved from the
// flags, the script and the environment (engine.ResolveProfiles, as a
// run resolves them).
func scriptConfig(ctx context.Context, path string, out io.Writer, sf *sessionFlags) (scriptconfig.Config, error) {
	cfg, _, err := scriptSides(ctx, path, out, sf)
	return cfg, err
}

// scriptSides is scriptConfig, also saying where each side's profile
// and region came from.
func scriptSides(ctx context.Context, path string, out io.Writer, sf *sessionFlags) (scriptconfig.Config, profiles.Sides, error) {
	if _, err := os.Stat(path); err != nil {
		return scriptconfig.Config{}, profiles.Sides{}, usagef("script %s: %v", path, errors.Unwrap(err))
	}
	h := &configHost{}
	err := luabind.RunScript(ctx, path, h, out)
	if h.cfg == nil {
		if err == nil || errors.Is(err, errNotConfigured) {
			return scriptconfig.Config{}, profiles.Sides{}, usagef("%s never called shuffle.config{...} before its first step; see docs/lua-api.md", path)
		}
		return scriptconfig.Config{}, profiles.Sides{}, classify(err)
	}
	cfg, sides, err := engine.ResolveProfiles(*h.cfg, sf.overrides(), sf.aws)
	if err != nil {
		// At the line of shuffle.config, as a run reports it.
		return cfg, sides, classify(&luabind.ScriptError{File: path, Line: h.cfg.Line, Err: err})
	}
	return cfg, sides, nil
}

const checkLong = `Run the script up to its shuffle.config call, then check both accounts
before anything is started: the credentials work and belong to the
script's accounts, cross-account backup is enabled, the copy role exists,
every IAM action shuffle calls is allowed (iam:SimulatePrincipalPolicy for
the caller's role, with resource ARNs and iam:PassedToService where they
matter; read-only probes when simulation is denied), and each existing
destination vault's access policy lets the source account copy in. It
also lists the source recovery points and counts, per vault and type,
those on AWS-managed keys that cannot be copied (--skip-encryption: don't;
where EncryptionKeyType does not say, KMS DescribeKey is asked).

Shared keys: each source KMS key used by the included recovery points
(of the state in --state, when there is one; else of the listed source
recovery points) of types whose copies keep their source key must let
the destination account use it (kms:GetKeyPolicy). A key that does not
is a blocking finding that prints the key policy statement to add.

When the script names a compliance module (policies.compliance, e.g.
policies/compliance.lua), every source vault, every existing destination
vault and every destination vault a run would create (as it would create
it: "proposed") is judged by it, and a table per vault shows each rule's
pass or fail with what was expected and what is there
(--skip-compliance: don't). An existing destination vault failing a
blocking rule is a blocking finding; a proposed one is a warning (the
run does not create it and holds its recovery points), or blocking with
on_proposed_failure = "stop-run". Source vaults are shown for comparison
only. shuffle run's own pre-flight judges the same way.

Each finding has a severity (blocking, warning, info), what it is, why it
matters and how to fix it. Exit code 0: no blocking finding; 3: at least
one blocking finding. See docs/preflight.md.`

func newCheckCmd(e *env) *cobra.Command {
	var (
		sf             sessionFlags
		jsonOut        bool
		skipCrypto     bool
		skipCompliance bool
	)
	sf.aws = e.aws // the shared files and AWS_PROFILE, as the other commands take them
	cmd := &cobra.Command{
		Use:   "check SCRIPT",
		Short: "Pre-flight: check identities, account settings and IAM permissions of both accounts (read-only)",
		Long:  checkLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := e.notify(cmd.Context())
			defer cancel()
			r, err := checkScript(ctx, args[0], e.stderr, &sf, checkOptions{skipEncryption: skipCrypto, compliance: !skipCompliance, stateDir: sf.state})
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
				printFindings(e.stdout, r)
			}
			return blockingFindings(r)
		},
	}
	fl := cmd.Flags()
	sf.aws = e.aws
	sf.registerProfiles(cmd)
	fl.StringVar(&sf.state, "state", "./.shuffle", "state directory: when it holds a state, the shared-key check reads the keys of its included recovery points (read-only)")
	complete(cmd, "state", completeDirs)
	fl.BoolVar(&skipCrypto, "skip-encryption", false, "do not list the source recovery points to count those on AWS-managed keys (nor, without a state, to find the keys to check)")
	fl.BoolVar(&skipCompliance, "skip-compliance", false, "do not judge the vaults by the script's compliance module")
	fl.BoolVar(&jsonOut, "json", false, "print the findings as JSON (schema shuffle.check/v1)")
	return cmd
}

// blockingFindings is the exit-3 error of a report with blocking
// findings, nil for one without.
func blockingFindings(r *engine.CheckReport) error {
	if !r.Blocking() {
		return nil
	}
	n := 0
	for _, f := range r.Findings {
		if f.Severity == finding.Blocking {
			n++
		}
	}
	return blockingError{fmt.Errorf("pre-flight check: %d blocking finding(s)", n)}
}

// printFindings prints each finding once: the blocking and warning ones
// first, each with its why and fix, then the info ones in a table.
func printFindings(w io.Writer, r *engine.CheckReport) {
	infos := 0
	for _, f := range r.Findings {
		if f.Severity == finding.Info {
			infos++
			continue
		}
		fmt.Fprintf(w, "[%s] %s: %s\n", f.Severity, f.Account, f.What)
		if f.Why != "" {
			fmt.Fprintf(w, "  why: %s\n", f.Why)
		}
		if f.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", f.Fix)
		}
		fmt.Fprintln(w)
	}
	if infos > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tACCOUNT\tCHECK\tFINDING\t")
		for _, f := range r.Findings {
			if f.Severity == finding.Info {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", f.Severity, f.Account, f.Check, f.What)
			}
		}
		tw.Flush()
	}
	printCompliance(w, r.Compliance)
	other, compliance, held := 0, 0, 0
	if r.Compliance != nil {
		for _, v := range r.Compliance.Vaults {
			if v.Proposed && v.Blocking() && !v.StopsRun() {
				held++
			}
		}
	}
	for _, f := range r.Findings {
		switch {
		case f.Severity != finding.Blocking:
		case f.Check == "compliance":
			compliance++
		default:
			other++
		}
	}
	if compliance > 0 {
		fmt.Fprintf(w, "\nNOT COMPLIANT: %d destination vault(s) fail a blocking rule of %s.\n", compliance, r.Compliance.Module)
	}
	if held > 0 {
		fmt.Fprintf(w, "\nHELD: %d destination vault(s) as shuffle would create (or reconcile) them fail a blocking rule of %s: `shuffle run` leaves them as they are and holds their recovery points (blocked: compliance); the other vaults go on.\n", held, r.Compliance.Module)
	}
	if other > 0 {
		fmt.Fprintln(w, "\nBLOCKED: fix the blocking findings before `shuffle run`.")
	} else if compliance > 0 {
		fmt.Fprintln(w, "No other blocking findings: `shuffle run` is not stopped by compliance, but the destination does not meet the policy.")
	} else {
		fmt.Fprintln(w, "\nOK: no blocking findings.")
	}
}

// preflight is the check `shuffle run` makes before its script starts
// (--skip-check skips it). It prints only what needs attention, and a
// blocking finding stops the run with exit 3 before anything is written.
// The encryption count, which lists every source RP, is left to
// `shuffle check`: the run's own eligibility rules record those RPs.
// The compliance policy is judged as `shuffle check` judges it, existing
// destination vaults and the ones the run would create alike, so that
// run and check never disagree on the same accounts: a vault to create
// that fails is held by the run's replication (or, with
// on_proposed_failure = "stop-run", stops the run here).
func preflight(ctx context.Context, e *env, script string, sf *sessionFlags) error {
	r, err := checkScript(ctx, script, io.Discard, sf, checkOptions{skipEncryption: true, compliance: true})
	if ctx.Err() != nil { // interrupted: findings made of cancelled calls mean nothing
		return fmt.Errorf("pre-flight check: %w", context.Cause(ctx))
	}
	if err != nil {
		return err
	}
	if !r.Blocking() {
		fmt.Fprintf(e.stderr, "pre-flight check: no blocking findings (%d checks; `shuffle check %s` shows them all)\n", len(r.Findings), script)
		if r.Compliance != nil {
			for _, v := range r.Compliance.Vaults {
				if v.Proposed && v.Blocking() {
					fmt.Fprintf(e.stderr, "pre-flight check: destination vault %s (%s) would fail a blocking rule of %s; it is left as it is and its recovery points are held (`shuffle check %s` shows why)\n", v.Name, v.ProposedLabel(), r.Compliance.Module, script)
				}
			}
		}
		return nil
	}
	printFindings(e.stderr, r)
	return blockingError{fmt.Errorf("pre-flight check found blocking problems; fix them, or run with --skip-check to start anyway")}
}

// checkScript runs the script up to shuffle.config and checks both
// accounts it names.
func checkScript(ctx context.Context, script string, out io.Writer, sf *sessionFlags, opt checkOptions) (*engine.CheckReport, error) {
	cfg, sides, err := scriptSides(ctx, script, out, sf)
	if err != nil {
		return nil, err
	}
	var pol *luabind.Policies
	if opt.compliance && cfg.Policies.Compliance != "" {
		// The whole policy set is loaded, as a run would, so that a
		// broken policy is found here too; only compliance is evaluated.
		if pol, err = luabind.LoadPolicies(cfg.Policies); err != nil {
			return nil, usageError{err}
		}
	}
	scfg, sp, err := awsclient.LoadProvider(ctx, sf.aws, cfg.Source.Profile, cfg.Source.Region)
	if err != nil {
		return nil, usageError{fmt.Errorf("source: %w", err)}
	}
	dcfg, dp, err := awsclient.LoadProvider(ctx, sf.aws, cfg.Destination.Profile, cfg.Destination.Region)
	if err != nil {
		return nil, usageError{fmt.Errorf("destination: %w", err)}
	}
	in := engine.CheckInput{Config: cfg, Source: scfg, Destination: dcfg, SkipEncryption: opt.skipEncryption, Compliance: pol,
		SourceCredentials: sp.Info, DestinationCredentials: dp.Info, Sides: &sides}
	if opt.stateDir != "" {
		in.StateKeys, in.FromState = stateKeys(opt.stateDir, out)
	}
	return engine.Check(ctx, in)
}

// stateKeys reads the keys of the included recovery points from the
// state in dir, for the shared-key check; false when there is no state
// to read (none, in use, or not closed cleanly): check then reads the
// keys of the source recovery points it lists.
func stateKeys(dir string, out io.Writer) ([]pf.RPKey, bool) {
	if ok, err := state.HasState(dir); err != nil || !ok {
		return nil, false
	}
	if state.InUse(dir) {
		fmt.Fprintf(out, "note: the state %s is in use; the shared-key check reads the keys of the listed source recovery points instead\n", dir)
		return nil, false
	}
	st, err := state.OpenReadOnly(dir)
	if err != nil {
		fmt.Fprintf(out, "note: the state %s could not be read (%v); the shared-key check reads the keys of the listed source recovery points instead\n", dir, err)
		return nil, false
	}
	defer st.Close()
	keys, err := engine.IncludedKeys(st)
	if err != nil {
		fmt.Fprintf(out, "note: the state %s could not be read (%v); the shared-key check reads the keys of the listed source recovery points instead\n", dir, err)
		return nil, false
	}
	return keys, true
}

// checkOptions are the parts of the check a caller can leave out.
type checkOptions struct {
	skipEncryption bool // do not list every source RP to count AWS-managed keys
	// stateDir, when set, is the state whose included RPs name the
	// source keys the shared-key check reads (check only).
	stateDir   string
	compliance bool // judge the vaults by the script's compliance module
}

// printCompliance prints, per vault, each compliance rule's verdict. A
// destination vault's table also shows what the source vault of the same
// name has, so a failure inherited from the source is plain to see.
func printCompliance(w io.Writer, cr *compliance.Report) {
	if cr == nil {
		return
	}
	pass := 0
	source := map[[2]string]string{} // vault, rule -> result on the source vault
	for _, v := range cr.Vaults {
		if v.Pass {
			pass++
		}
		if v.Account == finding.SideSource {
			for _, r := range v.Results {
				source[[2]string{v.Name, r.Rule}] = resultWord(r) + ": " + r.Actual
			}
		}
	}
	fmt.Fprintf(w, "\nCOMPLIANCE (%s): %d of %d vaults pass\n", cr.Module, pass, len(cr.Vaults))
	for _, v := range cr.Vaults {
		verdict, label := "pass", ""
		if v.Proposed {
			label = " (proposed: " + v.ProposedLabel() + ")"
		}
		switch {
		case v.StopsRun():
			verdict = "FAIL (blocking: on_proposed_failure = \"stop-run\" stops the run)"
		case v.Proposed && v.Reconcile && v.Blocking():
			verdict = "FAIL (blocking rule: shuffle does not reconcile it; its recovery points are held)"
		case v.Proposed && v.Blocking():
			verdict = "FAIL (blocking rule: shuffle does not create it; its recovery points are held)"
		case v.Blocking():
			verdict = "FAIL (blocking)"
		case !v.Pass && v.Account == finding.SideDestination:
			verdict = "FAIL (warnings only)"
		case !v.Pass:
			verdict = "FAIL (a source vault: shown for comparison, never blocks)"
		}
		fmt.Fprintf(w, "\n%s vault %s%s: %s\n", v.Account, v.Name, label, verdict)
		if v.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", v.Error)
			continue
		}
		if len(v.Results) == 0 {
			fmt.Fprintln(w, "  no rule applies")
			continue
		}
		dest := v.Account == finding.SideDestination
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		if dest {
			fmt.Fprintln(tw, "  RULE\tRESULT\tEXPECTED\tACTUAL\tSOURCE VAULT OF THE SAME NAME\t")
		} else {
			fmt.Fprintln(tw, "  RULE\tRESULT\tEXPECTED\tACTUAL\t")
		}
		for _, r := range v.Results {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t", r.Rule, resultWord(r), r.Expected, r.Actual)
			if dest {
				srcName := v.Name
				if v.Proposed {
					srcName = v.SourceVault
				}
				src, ok := source[[2]string{srcName, r.Rule}]
				if !ok {
					src = "-"
				}
				fmt.Fprintf(tw, "%s\t", src)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

func resultWord(r luabind.ComplianceResult) string {
	switch {
	case r.Pass:
		return "pass"
	case r.Severity == luabind.ComplianceWarning:
		return "fail (warning)"
	}
	return "FAIL"
}
