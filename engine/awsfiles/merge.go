package awsfiles

import (
	"sort"
	"strings"
)

const (
	profilePrefix    = "profile "
	ssoSessionPrefix = "sso-session "
	servicesPrefix   = "services "

	keyAccessKeyID     = "aws_access_key_id"
	keySecretAccessKey = "aws_secret_access_key"
	keySessionToken    = "aws_session_token"
)

// mergedKeys are the keys the SDK takes from the credentials file for a
// profile the config file also has (config.mergeSections). Other keys of
// such a profile in the credentials file are dropped, as the SDK drops
// them; the static keys are handled apart (see mergeSection).
var mergedKeys = []string{
	"role_arn", "source_profile", "credential_source", "external_id", "mfa_serial",
	"role_session_name", "region", "endpoint_discovery_enabled", "credential_process",
	"web_identity_token_file", "s3_use_arn_region", "s3_disable_multiregion_access_points",
	"ec2_metadata_service_endpoint_mode", "ec2_metadata_service_endpoint",
	"ec2_metadata_v1_disabled", "use_dualstack_endpoint", "use_fips_endpoint",
	"defaults_mode", "retry_mode", "ca_bundle", "duration_seconds", "max_attempts",
	"sso_session", "sso_account_id", "sso_region", "sso_role_name", "sso_start_url",
	"auth_scheme_preference", "login_session",
}

// expiryKeys are where token refreshers write when the keys expire, in
// the order Profile.Expiry looks at them. The SDK ignores them; shuffle
// keeps them with the keys they describe (see mergeSection).
var expiryKeys = []string{"x_security_token_expires", "aws_expiration", "expiration"}

func (s sections) names() []string {
	out := make([]string, 0, len(s))
	for name := range s {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// processConfig keeps what the SDK keeps of the config file: "[profile
// x]" becomes "x" and replaces a "[x]" of the same file; "[default]" (in
// any case), "[sso-session s]" and "[services s]" stay; every other
// section is dropped. The walk is in sorted order over the names as read,
// and a name a rename produced is not visited again, exactly as
// config.processConfigSections does, so that odd files end alike.
func processConfig(s sections) {
	renamed := map[string]bool{}
	for _, name := range s.names() {
		if renamed[name] {
			continue
		}
		switch {
		case strings.HasPrefix(name, profilePrefix):
			sec := s[name]
			delete(s, name)
			short := strings.TrimPrefix(name, profilePrefix)
			sec.name = short
			s[short] = sec
			renamed[short] = true
		case strings.HasPrefix(name, ssoSessionPrefix), strings.HasPrefix(name, servicesPrefix),
			strings.EqualFold(name, "default"):
		default:
			delete(s, name)
		}
	}
}

// processCredentials drops the credentials file's "[profile x]" sections:
// the prefix is not valid there.
func processCredentials(s sections) {
	for name := range s {
		if strings.HasPrefix(name, profilePrefix) {
			delete(s, name)
		}
	}
}

// markPartial flags sections with only one of the two static keys.
func markPartial(s sections) {
	for _, sec := range s {
		_, id := sec.values[keyAccessKeyID]
		_, secret := sec.values[keySecretAccessKey]
		sec.partial = id != secret
	}
}

// merge lays the credentials file's sections over the config file's.
func merge(dst, src sections) {
	for name, sec := range src {
		if have, ok := dst[name]; ok {
			mergeSection(have, sec)
		} else {
			dst[name] = sec
		}
	}
}

// mergeSection is config.mergeSections for one section present in both
// files. The static keys move only as a pair: when the credentials file
// has both aws_access_key_id and aws_secret_access_key they replace the
// config file's (and its aws_session_token too, if it has one; else the
// config file's token stays, as in the SDK). The expiry keys travel with
// the pair: they describe those keys, so the config file's are dropped
// when the credentials file's keys win. A merged value loses its
// sub-properties, as in the SDK.
func mergeSection(dst, src *section) {
	dst.partial = src.partial
	take := func(key string) {
		if v, ok := src.values[key]; ok {
			v.Sub = nil
			dst.values[key] = v
		}
	}
	_, id := src.values[keyAccessKeyID]
	_, secret := src.values[keySecretAccessKey]
	if id && secret {
		take(keyAccessKeyID)
		take(keySecretAccessKey)
		take(keySessionToken)
		for _, k := range expiryKeys {
			delete(dst.values, k)
			take(k)
		}
	}
	for _, k := range mergedKeys {
		take(k)
	}
}
