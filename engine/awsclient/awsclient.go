// Package awsclient builds aws-sdk-go-v2 configurations for the
// profiles a script names, with a retryer configured for long runs, and
// holds what every AWS call of a run goes through: the credential Guard
// (reloads, pauses), the CallStats counters, the FastListing decoder of
// recovery-point pages, the one classification of AWS errors
// (Classify), and NextPage, which fetches a listing page waiting out
// throttling and server errors.
//
// It must not read the environment or keep counters of its own: the
// caller passes Options (cmd/shuffle reads the environment once) and
// owns the Guard, CallStats and ListingStats values. It knows nothing of
// recovery-point state, policies or Lua.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Retryer is shuffle's SDK retryer: more attempts and no client-side
// retry quota. The SDK's default quota (500 tokens) runs dry in a long
// run under throttling and then fails calls with "retry quota exceeded"
// that would have succeeded a moment later.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 8
		o.MaxBackoff = 20 * time.Second
		o.RateLimiter = ratelimit.None
	})
}

// Load reads the shared config files for profile and pins region; o
// names the files and the default profile. profile "" is the SDK's
// default chain (AWS_PROFILE, the environment's keys, the default
// profile, the instance role).
//
// With a guard (nil for none), the config's credentials come from a
// Provider that resolves the profile again, whatever its kind (keys in
// a file, assume-role chains, IAM Identity Center, credential_process,
// web identity), whenever a file it depends on changes or the guard
// reloads it; and every client built from the config goes through the
// guard: a pause gate, one reload for all callers on a credential
// error, and a pause after repeated failures. Pass the same guard for
// every profile of a run.
func Load(ctx context.Context, o Options, profile, region string, g *Guard) (aws.Config, error) {
	cfg, p, err := loadProvider(ctx, o, profile, region)
	if err != nil {
		return aws.Config{}, err
	}
	if g != nil {
		scfg := cfg.Copy()
		check := func(ctx context.Context) error {
			_, err := sts.NewFromConfig(scfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}
		ps := g.register(o.profileName(profile), p, cfg.Credentials.(*aws.CredentialsCache), check)
		cfg.APIOptions = append(cfg.APIOptions, g.middleware(ps), g.Stats.middleware())
	}
	return cfg, nil
}

// LoadProvider is Load without a guard, also returning the Provider
// that serves the config's credentials (for `check`, which reports how
// they were obtained and when they expire once it has used them).
func LoadProvider(ctx context.Context, o Options, profile, region string) (aws.Config, *Provider, error) {
	return loadProvider(ctx, o, profile, region)
}

// loadProvider is the SDK's configuration for profile with its
// credentials served by a Provider.
func loadProvider(ctx context.Context, o Options, profile, region string) (aws.Config, *Provider, error) {
	cfg, err := sdkConfig(ctx, o, profile, region)
	if err != nil {
		return aws.Config{}, nil, err
	}
	chain, err := DetectChain(ctx, o, profile)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("load AWS profile %q: %w", o.profileName(profile), err)
	}
	p := newProvider(o, profile, region, chain, cfg.Credentials)
	cfg.Credentials = aws.NewCredentialsCache(p)
	return cfg, p, nil
}

// Inspect gets the profile's credentials once and says how they were
// obtained and when they expire, for `check`. The error, when getting
// them failed, is a *CredentialsError saying what to do.
func Inspect(ctx context.Context, o Options, profile, region string) (ProfileInfo, error) {
	cfg, p, err := loadProvider(ctx, o, profile, region)
	if err != nil {
		return ProfileInfo{Profile: o.profileName(profile)}, err
	}
	_, err = cfg.Credentials.Retrieve(ctx)
	return p.Info(), err
}

// sdkConfig is the SDK's configuration for profile, from the files o
// names, with shuffle's retryer and region.
func sdkConfig(ctx context.Context, o Options, profile, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithSharedConfigFiles([]string{o.configFile()}),
		config.WithSharedCredentialsFiles([]string{o.credentialsFile()}),
		config.WithRegion(region),
		config.WithRetryer(Retryer),
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var nf config.SharedConfigProfileNotExistError
		if errors.As(err, &nf) {
			return aws.Config{}, fmt.Errorf("AWS profile %q not found in %s; known profiles: %s (set AWS_CONFIG_FILE, or fix the profile in the script or with --source-profile/--destination-profile)",
				nf.Profile, o.configFile(), strings.Join(o.KnownProfiles(), ", "))
		}
		return aws.Config{}, fmt.Errorf("load AWS profile %q: %w", o.profileName(profile), err)
	}
	return cfg, nil
}

// KnownProfiles lists the profile names in the shared config and
// credentials files, for error messages.
func (o Options) KnownProfiles() []string {
	seen := map[string]bool{}
	files := []string{o.configFile(), o.credentialsFile()}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
				continue
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if i == 0 {
				if strings.HasPrefix(name, "profile ") {
					name = strings.TrimSpace(strings.TrimPrefix(name, "profile "))
				} else if name != "default" {
					continue // sso-session, services sections
				}
			}
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// CheckAccount calls GetCallerIdentity and compares the account.
func CheckAccount(ctx context.Context, cfg aws.Config, profile, want string) error {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return ce // names the profile, its chain and what to do
	}
	if err != nil {
		return fmt.Errorf("profile %q: GetCallerIdentity: %w", profile, err)
	}
	if got := aws.ToString(out.Account); got != want {
		return fmt.Errorf("profile %q belongs to account %s (%s), but the script says %s; fix the account id in the script or pick the right profile",
			profile, got, aws.ToString(out.Arn), want)
	}
	return nil
}
