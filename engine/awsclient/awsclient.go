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
// names the files and the default profile in messages.
//
// With a guard (nil for none), the config's credentials come from a
// FileProvider that reads the shared credentials file again whenever it
// changes (when the profile's keys are in a file), and every client
// built from the config goes through the guard: a pause gate, one
// reload for all callers on a credential error, and a pause after
// repeated failures. Pass the same guard for every profile of a run.
func Load(ctx context.Context, o Options, profile, region string, g *Guard) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedConfigProfile(profile),
		config.WithRegion(region),
		config.WithRetryer(Retryer),
	)
	if err != nil {
		var nf config.SharedConfigProfileNotExistError
		if errors.As(err, &nf) {
			return aws.Config{}, fmt.Errorf("AWS profile %q not found in %s; known profiles: %s (set AWS_CONFIG_FILE, or fix the profile in the script or with --source-profile/--destination-profile)",
				profile, o.configFile(), strings.Join(o.KnownProfiles(), ", "))
		}
		return aws.Config{}, fmt.Errorf("load AWS profile %q: %w", profile, err)
	}
	if g != nil {
		guard(ctx, &cfg, o.profileName(profile), g)
	}
	return cfg, nil
}

// guard wires g into cfg. Keys the SDK read from a shared file are
// served by a FileProvider on that file instead of the SDK's static
// provider; other sources (environment, SSO, credential_process) keep
// the SDK's own provider, whose cache is still invalidated on reload.
func guard(ctx context.Context, cfg *aws.Config, profile string, g *Guard) {
	var fp *FileProvider
	if cfg.Credentials != nil {
		if c, err := cfg.Credentials.Retrieve(ctx); err == nil {
			if file, ok := strings.CutPrefix(c.Source, "SharedConfigCredentials: "); ok && file != "" {
				fp = &FileProvider{Path: file, Profile: profile}
				if !fp.HasProfile() {
					fp = nil
				}
			}
		}
	}
	var cache *aws.CredentialsCache
	if fp != nil {
		cache = aws.NewCredentialsCache(fp)
		cfg.Credentials = cache
	} else if c, ok := cfg.Credentials.(*aws.CredentialsCache); ok {
		cache = c
	}
	scfg := cfg.Copy()
	check := func(ctx context.Context) error {
		_, err := sts.NewFromConfig(scfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	p := g.register(profile, fp, cache, check)
	cfg.APIOptions = append(cfg.APIOptions, g.middleware(p), g.Stats.middleware())
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
	if err != nil {
		return fmt.Errorf("profile %q: GetCallerIdentity: %w", profile, err)
	}
	if got := aws.ToString(out.Account); got != want {
		return fmt.Errorf("profile %q belongs to account %s (%s), but the script says %s; fix the account id in the script or pick the right profile",
			profile, got, aws.ToString(out.Arn), want)
	}
	return nil
}
