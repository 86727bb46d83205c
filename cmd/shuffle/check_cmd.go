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
	"github.com/shuffle-migrate/shuffle/luabind"
)

// configHost runs a script only as far as its shuffle.config call and
// keeps the configuration: check and iam-policy need nothing more, and
// they must not open the state or touch AWS through the script.
type configHost struct{ cfg *luabind.ScriptConfig }

var errConfigured = errors.New("shuffle.config captured")

func (h *configHost) Configure(cfg luabind.ScriptConfig) error {
	h.cfg = &cfg
	return errConfigured
}

var errNotConfigured = errors.New("call shuffle.config{...} first")

func (h *configHost) Inventory(context.Context) (map[string]any, error) { return nil, errNotConfigured }
func (h *configHost) Enrich(context.Context) (map[string]any, error)    { return nil, errNotConfigured }
func (h *configHost) Decide(context.Context) (map[string]any, error)    { return nil, errNotConfigured }
func (h *configHost) Replicate(context.Context) (map[string]any, error) { return nil, errNotConfigured }
func (h *configHost) Copy(context.Context, luabind.CopyArgs) (map[string]any, error) {
	return nil, errNotConfigured
}

// scriptConfig runs path up to its shuffle.config call and returns the
// configuration with the profile overrides applied.
func scriptConfig(ctx context.Context, path string, out io.Writer, sf *sessionFlags) (luabind.ScriptConfig, error) {
	if _, err := os.Stat(path); err != nil {
		return luabind.ScriptConfig{}, usagef("script %s: %v", path, errors.Unwrap(err))
	}
	h := &configHost{}
	err := luabind.RunScript(ctx, path, h, out)
	if h.cfg == nil {
		if err == nil || errors.Is(err, errNotConfigured) {
			return luabind.ScriptConfig{}, usagef("%s never called shuffle.config{...} before its first step; see docs/lua-api.md", path)
		}
		return luabind.ScriptConfig{}, classify(err)
	}
	cfg := *h.cfg
	if sf != nil && sf.sourceProfile != "" {
		cfg.Source.Profile = sf.sourceProfile
	}
	if sf != nil && sf.destinationProfile != "" {
		cfg.Destination.Profile = sf.destinationProfile
	}
	return cfg, nil
}

func newCheckCmd(e *env) *cobra.Command {
	var (
		sf         sessionFlags
		jsonOut    bool
		skipCrypto bool
	)
	cmd := &cobra.Command{
		Use:   "check SCRIPT",
		Short: "Pre-flight: check identities, account settings and IAM permissions of both accounts (read-only)",
		Long: `Run the script up to its shuffle.config call, then check both accounts
before anything is started: the credentials work and belong to the
script's accounts, cross-account backup is enabled, the copy role exists,
every IAM action shuffle calls is allowed (iam:SimulatePrincipalPolicy for
the caller's role, with resource ARNs and iam:PassedToService where they
matter; read-only probes when simulation is denied), and each existing
destination vault's access policy lets the source account copy in. It
also lists the source recovery points and counts, per vault and type,
those on AWS-managed keys that cannot be copied (--skip-encryption: don't).

Each finding has a severity (blocking, warning, info), what it is, why it
matters and how to fix it. Exit code 0: no blocking finding; 3: at least
one blocking finding. See docs/preflight.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := e.notify(cmd.Context())
			defer cancel()
			r, err := checkScript(ctx, args[0], e.stderr, &sf, skipCrypto)
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
			if r.Blocking() {
				n := 0
				for _, f := range r.Findings {
					if f.Severity == engine.Blocking {
						n++
					}
				}
				return blockingError{fmt.Errorf("pre-flight check: %d blocking finding(s)", n)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sf.sourceProfile, "source-profile", "", "AWS profile for the source account (overrides the script)")
	fl.StringVar(&sf.destinationProfile, "destination-profile", "", "AWS profile for the destination account (overrides the script)")
	fl.StringVar(&sf.state, "state", "./.shuffle", "state directory (accepted for symmetry with run; check does not open it)")
	fl.BoolVar(&skipCrypto, "skip-encryption", false, "do not list the source recovery points to count those on AWS-managed keys")
	fl.BoolVar(&jsonOut, "json", false, "print the findings as JSON (schema shuffle.check/v1)")
	return cmd
}

func printFindings(w io.Writer, r *engine.CheckReport) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tACCOUNT\tCHECK\tFINDING\t")
	for _, f := range r.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", f.Severity, f.Account, f.Check, f.What)
	}
	tw.Flush()
	for _, f := range r.Findings {
		if f.Severity == engine.Info {
			continue
		}
		fmt.Fprintf(w, "\n[%s] %s: %s\n", f.Severity, f.Account, f.What)
		if f.Why != "" {
			fmt.Fprintf(w, "  why: %s\n", f.Why)
		}
		if f.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", f.Fix)
		}
	}
	if r.Blocking() {
		fmt.Fprintln(w, "\nBLOCKED: fix the blocking findings before `shuffle run`.")
	} else {
		fmt.Fprintln(w, "\nOK: no blocking findings.")
	}
}

// preflight is the check `shuffle run` makes before its script starts
// (--skip-check skips it). It prints only what needs attention, and a
// blocking finding stops the run with exit 3 before anything is written.
// The encryption count, which lists every source RP, is left to
// `shuffle check`: the run's own eligibility rules record those RPs.
func preflight(ctx context.Context, e *env, script string, sf *sessionFlags) error {
	r, err := checkScript(ctx, script, io.Discard, sf, true)
	if err != nil {
		return err
	}
	if !r.Blocking() {
		fmt.Fprintf(e.stderr, "pre-flight check: no blocking findings (%d checks; `shuffle check %s` shows them all)\n", len(r.Findings), script)
		return nil
	}
	printFindings(e.stderr, r)
	return blockingError{fmt.Errorf("pre-flight check found blocking problems; fix them, or run with --skip-check to start anyway")}
}

// checkScript runs the script up to shuffle.config and checks both
// accounts it names.
func checkScript(ctx context.Context, script string, out io.Writer, sf *sessionFlags, skipEncryption bool) (*engine.CheckReport, error) {
	cfg, err := scriptConfig(ctx, script, out, sf)
	if err != nil {
		return nil, err
	}
	scfg, err := awsclient.Load(ctx, cfg.Source.Profile, cfg.Source.Region, nil)
	if err != nil {
		return nil, usageError{fmt.Errorf("source: %w", err)}
	}
	dcfg, err := awsclient.Load(ctx, cfg.Destination.Profile, cfg.Destination.Region, nil)
	if err != nil {
		return nil, usageError{fmt.Errorf("destination: %w", err)}
	}
	return engine.Check(ctx, engine.CheckInput{Config: cfg, Source: scfg, Destination: dcfg, SkipEncryption: skipEncryption}), nil
}
