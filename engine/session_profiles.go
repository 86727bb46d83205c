package engine

import (
	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
	"github.com/shuffle-migrate/shuffle/engine/profiles"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// ResolveProfiles fills in each side's profile and region from the
// flags (o), the script (cfg) and the environment the command read
// (aws), as engine/profiles resolves them, and checks that the regions
// agree. A problem is a *ConfigError (exit 2). The Session calls it
// before anything is written; `shuffle check` calls it too.
func ResolveProfiles(cfg scriptconfig.Config, o Overrides, aws awsclient.Options) (scriptconfig.Config, profiles.Sides, error) {
	env := profiles.Env{
		Profile:       aws.Profile,
		Region:        aws.Region,
		DefaultRegion: aws.DefaultRegion,
		Files:         awsfiles.Files{Config: aws.ConfigFile, Credentials: aws.CredentialsFile},
	}
	cfg, sides, err := profiles.Resolve(cfg, profiles.Flags{SourceProfile: o.SourceProfile, DestinationProfile: o.DestinationProfile}, env)
	if err != nil {
		return cfg, sides, &ConfigError{err}
	}
	if sides.Source.ProfileFrom == profiles.FromDefault {
		// Nothing named a profile: the SDK's default chain, as the AWS
		// CLI takes it (AWS_ACCESS_KEY_ID before [default]). Messages
		// still say profile "default".
		cfg.Source.Profile = ""
	}
	return cfg, sides, nil
}
