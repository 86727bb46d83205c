package awsclient

import (
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

// Options are a process's choices about the AWS clients it builds. The
// caller fills them (cmd/shuffle from the environment, once); this
// package reads no environment variable itself. The zero value is the
// SDK's defaults, FastListing on, and nothing counted.
type Options struct {
	// Profile is the profile the SDK resolves when a script names none
	// (AWS_PROFILE); "" is "default".
	Profile string
	// Region and DefaultRegion are AWS_REGION and AWS_DEFAULT_REGION:
	// engine/profiles takes them for a side whose script and profile
	// name no region.
	Region, DefaultRegion string
	// ConfigFile and CredentialsFile are the shared files the SDK reads
	// (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE); "" is the SDK's
	// default (~/.aws/config, ~/.aws/credentials). They name the files
	// in error messages; the SDK itself still resolves them.
	ConfigFile, CredentialsFile string
	// EnvCredentials says AWS_ACCESS_KEY_ID is set: the SDK uses those
	// keys when no profile is named.
	EnvCredentials bool
	// SDKDecoder lists recovery points with the SDK's decoder alone
	// instead of FastListing (SHUFFLE_SDK_DECODER=1): to rule the fast
	// decoder out when something looks wrong, and for side-by-side
	// benchmarks.
	SDKDecoder bool
	// Listing counts the pages of the Backup clients built with
	// BackupOptions; nil counts nothing.
	Listing *ListingStats
}

// BackupOptions is the option shuffle builds its AWS Backup clients
// with (for backup.New and backup.NewFromConfig): FastListing, counted
// in o.Listing, unless o.SDKDecoder.
func (o Options) BackupOptions(b *backup.Options) {
	if !o.SDKDecoder {
		o.Listing.FastListing(b)
	}
}

// configFile is the shared config file the SDK reads.
func (o Options) configFile() string {
	if o.ConfigFile != "" {
		return o.ConfigFile
	}
	return config.DefaultSharedConfigFilename()
}

// credentialsFile is the shared credentials file the SDK reads.
func (o Options) credentialsFile() string {
	if o.CredentialsFile != "" {
		return o.CredentialsFile
	}
	return config.DefaultSharedCredentialsFilename()
}

// ProfileName is the name of the profile the SDK resolves for profile
// ("" is AWS_PROFILE, else "default"), for messages.
func (o Options) ProfileName(profile string) string { return o.profileName(profile) }

// profileName is the profile the SDK resolves for profile.
func (o Options) profileName(profile string) string {
	if profile != "" {
		return profile
	}
	if o.Profile != "" {
		return o.Profile
	}
	return "default"
}

// ListingStats counts the ListRecoveryPointsByBackupVault pages that
// FastListing decoded and those it handed to the SDK's decoder. The
// caller owns it; it is safe for concurrent use and the zero value is
// ready.
type ListingStats struct {
	fast, declined atomic.Int64
}

// Pages reports the pages FastListing decoded (fast) and those it left
// to the SDK (declined); zero for a nil ListingStats.
func (s *ListingStats) Pages() (fast, declined int64) {
	if s == nil {
		return 0, 0
	}
	return s.fast.Load(), s.declined.Load()
}

func (s *ListingStats) count(fast bool) {
	switch {
	case s == nil:
	case fast:
		s.fast.Add(1)
	default:
		s.declined.Add(1)
	}
}
