// Package profiles resolves which AWS profile and region each side of a
// migration uses, as the AWS CLI would, and where each came from (a
// flag, the script, the environment, a line of the shared config file),
// so that a message can say why shuffle took a value.
//
// The profile: --source-profile / --destination-profile, then the
// script, then AWS_PROFILE for the source only, then "default" for the
// source. The destination has no environment fallback: AWS_PROFILE
// names one account, and one profile cannot be both.
//
// The region: the script's; else the profile's own `region` (as the SDK
// reads it: an assume-role profile's own key, never its
// source_profile's); else AWS_REGION, else AWS_DEFAULT_REGION (the CLI
// and the SDK put the environment before the profile; shuffle compares
// what the operator wrote for the account first). shuffle
// copies within one region and refuses to guess: each side's region
// (its profile's, else the environment's) must equal the script's when
// the script names one, and the two sides must agree when it names none.
//
// It reads the shared files (engine/awsfiles) and nothing else: no AWS
// calls and no environment reads (the caller passes Env).
package profiles

import (
	"fmt"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Env is what the environment says (cmd/shuffle reads it once).
type Env struct {
	Profile       string         // AWS_PROFILE
	Region        string         // AWS_REGION
	DefaultRegion string         // AWS_DEFAULT_REGION
	Files         awsfiles.Files // AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE
}

// Flags are the command line's profiles.
type Flags struct{ SourceProfile, DestinationProfile string }

// Side is the profile and region one side uses, and where each came
// from.
type Side struct {
	Profile, ProfileFrom string // e.g. "--source-profile", "script source.profile", "AWS_PROFILE", "default"
	Region, RegionFrom   string // e.g. "script source.region", `region of profile "x", /p/config line 4`, "AWS_REGION"
}

// Sides are both sides' profiles and regions.
type Sides struct{ Source, Destination Side }

// FromDefault is Side.ProfileFrom when nothing names the source
// profile: the SDK's default chain applies (the environment's keys,
// then profile "default", then an instance role), as for the AWS CLI.
const FromDefault = "default"

// Where a value came from, in Side and in messages.
const (
	fromSourceFlag         = "--source-profile"
	fromDestinationFlag    = "--destination-profile"
	fromScriptSource       = "script source.profile"
	fromScriptDestination  = "script destination.profile"
	fromEnvProfile         = "AWS_PROFILE"
	fromDefault            = FromDefault
	fromScriptSourceRegion = "script source.region"
	fromScriptDestRegion   = "script destination.region"
	fromEnvRegion          = "AWS_REGION"
	fromEnvDefaultRegion   = "AWS_DEFAULT_REGION"
)

// UsageError is a profile or region the operator must fix before
// anything is written (exit 2): it says what was found, where, and what
// to do.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Resolve fills cfg.Source/Destination Profile and Region; a mismatch or
// a missing destination profile is a *UsageError (exit 2) naming both
// values and where each came from.
func Resolve(cfg scriptconfig.Config, flags Flags, env Env) (scriptconfig.Config, Sides, error) {
	var sides Sides
	sides.Source.Profile, sides.Source.ProfileFrom = sourceProfile(cfg, flags, env)
	dst, dstFrom, err := destinationProfile(cfg, flags, env)
	if err != nil {
		return cfg, Sides{}, err
	}
	sides.Destination.Profile, sides.Destination.ProfileFrom = dst, dstFrom
	set, err := awsfiles.Read(env.Files)
	if err != nil {
		return cfg, Sides{}, &UsageError{Msg: fmt.Sprintf("reading the AWS shared files: %v", err)}
	}
	src := sideRegion(set, env, "source", sides.Source.Profile)
	dstR := sideRegion(set, env, "destination", sides.Destination.Profile)
	region, err := pickRegion(cfg, src, dstR)
	if err != nil {
		return cfg, Sides{}, err
	}
	sides.Source.Region, sides.Source.RegionFrom = region.value, region.fromFor(src)
	sides.Destination.Region, sides.Destination.RegionFrom = region.value, region.fromFor(dstR)
	cfg.Source.Profile, cfg.Source.Region = sides.Source.Profile, region.value
	cfg.Destination.Profile, cfg.Destination.Region = sides.Destination.Profile, region.value
	return cfg, sides, nil
}

// sourceProfile is the source's profile: the flag, the script,
// AWS_PROFILE, then "default".
func sourceProfile(cfg scriptconfig.Config, flags Flags, env Env) (name, from string) {
	switch {
	case flags.SourceProfile != "":
		return flags.SourceProfile, fromSourceFlag
	case cfg.Source.Profile != "":
		return cfg.Source.Profile, fromScriptSource
	case env.Profile != "":
		return env.Profile, fromEnvProfile
	}
	return "default", fromDefault
}

// destinationProfile is the destination's profile: the flag, then the
// script; there is no fallback.
func destinationProfile(cfg scriptconfig.Config, flags Flags, env Env) (name, from string, err error) {
	switch {
	case flags.DestinationProfile != "":
		return flags.DestinationProfile, fromDestinationFlag, nil
	case cfg.Destination.Profile != "":
		return cfg.Destination.Profile, fromScriptDestination, nil
	}
	why := "AWS_PROFILE names one account's profile, and one profile cannot be both accounts, so it is taken for the source only"
	if env.Profile != "" {
		why = fmt.Sprintf("AWS_PROFILE (%q) is taken for the source only: it names one account's profile, and one profile cannot be both accounts", env.Profile)
	}
	return "", "", usagef("no AWS profile for the destination account: set destination.profile in the script's shuffle.config or pass --destination-profile (%s)", why)
}

// resolved is one side's region as its profile and the environment give
// it (the region the side would use without the script), or the
// script's.
type resolved struct {
	side    string // "source", "destination", or "" for the script
	profile string
	value   string
	from    string
	// missing notes, when value is "", why the profile gave none.
	missing string
}

// sideRegion is the region profile resolves to: its own `region`, else
// AWS_REGION, else AWS_DEFAULT_REGION.
func sideRegion(set *awsfiles.Set, env Env, side, profile string) resolved {
	r := resolved{side: side, profile: profile}
	p, ok := set.Profile(profile)
	if ok {
		if v, ok := p.Get("region"); ok && v.Value != "" {
			r.value, r.from = v.Value, fmt.Sprintf("region of profile %q, %s line %d", profile, v.File, v.Line)
			return r
		}
		r.missing = fmt.Sprintf("profile %q names no region", profile)
	} else {
		r.missing = fmt.Sprintf("profile %q is not in %s or %s", profile, env.Files.ConfigPath(), env.Files.CredentialsPath())
	}
	switch {
	case env.Region != "":
		r.value, r.from = env.Region, fromEnvRegion
	case env.DefaultRegion != "":
		r.value, r.from = env.DefaultRegion, fromEnvDefaultRegion
	}
	return r
}

// describe is "us-east-1 (region of profile "x", /p line 3)", with why
// the profile gave none when the value came from the environment.
func (r resolved) describe() string {
	if r.missing != "" {
		return fmt.Sprintf("%s (%s; %s)", r.value, r.from, r.missing)
	}
	return fmt.Sprintf("%s (%s)", r.value, r.from)
}

// fromFor is where side's region came from, given that the region
// chosen is r: the side's own source when it named one (it equals r),
// else r's.
func (r resolved) fromFor(side resolved) string {
	if r.side == "" || side.value == "" {
		return r.from
	}
	return side.from
}

// pickRegion is the one region both sides use: the script's (every
// side's own must equal it), else the source's, else the destination's
// (the other, when it names one, must equal it).
func pickRegion(cfg scriptconfig.Config, src, dst resolved) (resolved, error) {
	var script []resolved
	if r := cfg.Source.Region; r != "" {
		script = append(script, resolved{value: r, from: fromScriptSourceRegion})
	}
	if r := cfg.Destination.Region; r != "" {
		script = append(script, resolved{value: r, from: fromScriptDestRegion})
	}
	if len(script) == 2 && script[0].value != script[1].value {
		return resolved{}, usagef("the script says source region %s but destination region %s; shuffle copies within one region, so set both to the same region",
			script[0].value, script[1].value)
	}
	if len(script) > 0 {
		if err := scriptMismatch(script[0], src, dst); err != nil {
			return resolved{}, err
		}
		return script[0], nil
	}
	switch {
	case src.value != "" && dst.value != "" && src.value != dst.value:
		return resolved{}, usagef("the source profile %q resolves to region %s but the destination profile %q resolves to %s; shuffle copies within one region and will not guess which you meant: make the two profiles' regions agree (or name the region in the script with source.region, and have both profiles agree with it)",
			src.profile, src.describe(), dst.profile, dst.describe())
	case src.value != "":
		return checkValid(src)
	case dst.value != "":
		return checkValid(dst)
	}
	return resolved{}, usagef("no AWS region: the script names none (source.region), %s, %s, and neither AWS_REGION nor AWS_DEFAULT_REGION is set; set source.region in the script's shuffle.config (or region in profile %q, or AWS_REGION)",
		src.missing, dst.missing, src.profile)
}

// scriptMismatch says how each side whose own region differs from the
// script's disagrees, and what to do; nil when none does.
func scriptMismatch(script, src, dst resolved) error {
	var bad, names, values []string
	env := ""
	for _, side := range []resolved{src, dst} {
		if side.value == "" || side.value == script.value {
			continue
		}
		bad = append(bad, fmt.Sprintf("the %s profile %q resolves to %s", side.side, side.profile, side.describe()))
		names = append(names, fmt.Sprintf("profile %q", side.profile))
		values = append(values, side.value)
		if side.from == fromEnvRegion || side.from == fromEnvDefaultRegion {
			env = side.from
		}
	}
	if len(bad) == 0 {
		return nil
	}
	change := "change the script's region"
	if len(uniq(values)) == 1 {
		change += " to " + values[0]
	}
	fix := fmt.Sprintf("set region = %s in %s", script.value, strings.Join(names, " and in "))
	if env != "" {
		fix += fmt.Sprintf(" (or %s=%s, which a profile without a region takes)", env, script.value)
	}
	return usagef("the script says region %s (%s) but %s; shuffle copies within one region and will not guess which you meant: %s, or %s",
		script.value, script.from, strings.Join(bad, ", and "), change, fix)
}

// checkValid refuses a region from a profile or the environment that is
// not a region name.
func checkValid(r resolved) (resolved, error) {
	if !scriptconfig.ValidRegion(r.value) {
		return resolved{}, usagef("the %s profile %q resolves to region %q (%s), which is not an AWS region like us-east-1; fix it there, or set source.region in the script",
			r.side, r.profile, r.value, r.from)
	}
	return r, nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
