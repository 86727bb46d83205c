// Package awsfiles reads the AWS shared config and credentials files the
// way aws-sdk-go-v2 (config v1.33) does, and keeps where each value came
// from (file and line).
//
// shuffle needs its own reader because the SDK reads the files once and
// never again, while token refreshers rewrite them during a run, and
// because a message about a value should name its file and line. The
// reader agrees with the SDK on everything the SDK reads: inline comments
// (" ;", " #" after a value; any '#' or ';' in a section header), line
// comments, whitespace, lower-cased keys, one pair of surrounding quotes,
// ':' as a separator, indented continuation lines and sub-properties,
// duplicate sections and keys (the later wins), "[profile x]" in the config
// file (a bare "[x]" there is dropped unless it is default; "[profile x]"
// replaces "[x]"), "[profile x]" in the credentials file (dropped),
// sso-session and services sections, and how the credentials file
// overrides the config file for one profile. A test reads a corpus of
// files with both readers and compares them.
//
// Beyond the SDK it keeps the expiry that refreshers write next to the keys
// (x_security_token_expires and the like) and parses it (ParseExpiry).
//
// It makes no AWS calls, builds no credential providers and reads no
// environment: the caller passes the paths.
package awsfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
)

// Files names the shared config and credentials files. An empty path is
// the SDK's default one (~/.aws/config, ~/.aws/credentials).
type Files struct{ Config, Credentials string }

// ConfigPath is the config file's path: Config, or the SDK's default.
func (f Files) ConfigPath() string {
	if f.Config != "" {
		return f.Config
	}
	return config.DefaultSharedConfigFilename()
}

// CredentialsPath is the credentials file's path: Credentials, or the
// SDK's default.
func (f Files) CredentialsPath() string {
	if f.Credentials != "" {
		return f.Credentials
	}
	return config.DefaultSharedCredentialsFilename()
}

// Value is one property as the SDK reads it, with where it is.
type Value struct {
	// Value is comments stripped, trimmed, unquoted, continuation lines
	// joined with "\n". It is "" when the property has sub-properties.
	Value string
	File  string
	Line  int               // 1-based line of the key
	Sub   map[string]string // sub-properties ("s3 =\n  endpoint_url = x"); nil when none
}

// Profile is a profile, an sso-session or a services section.
type Profile struct {
	Name   string
	Values map[string]Value // keys lower-case
}

// Get returns the value of key (any case).
func (p Profile) Get(key string) (Value, bool) {
	v, ok := p.Values[strings.ToLower(key)]
	return v, ok
}

// Set is both files as read at one moment, merged as the SDK merges them.
type Set struct {
	files    Files
	sections sections
}

// Read reads both files. A missing file reads as empty, as the SDK reads
// it; a file that exists but cannot be read is an error naming it.
func Read(f Files) (*Set, error) {
	cfg, err := readFile(f.ConfigPath(), "config")
	if err != nil {
		return nil, err
	}
	creds, err := readFile(f.CredentialsPath(), "credentials")
	if err != nil {
		return nil, err
	}
	return Parse(cfg, creds, f), nil
}

func readFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the AWS shared %s file: %w", what, err)
	}
	return b, nil
}

// Parse is Read from the files' contents; f gives the names values are
// reported with.
func Parse(configData, credentialsData []byte, f Files) *Set {
	cfg := parseINI(configData, f.ConfigPath())
	markPartial(cfg)
	processConfig(cfg)
	creds := parseINI(credentialsData, f.CredentialsPath())
	markPartial(creds)
	processCredentials(creds)
	merge(cfg, creds)
	return &Set{files: f, sections: cfg}
}

// Profile returns the named profile, merged like the SDK: the config
// file's "[profile name]" (or "[default]"), then the credentials file's
// "[name]" overriding it. Dropped sections are not profiles.
func (s *Set) Profile(name string) (Profile, bool) {
	if !isProfileName(name) {
		return Profile{}, false
	}
	return s.section(name)
}

// Profiles returns the sorted names of every profile the SDK accepts.
func (s *Set) Profiles() []string {
	var out []string
	for name := range s.sections {
		if isProfileName(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// SSOSession returns the "[sso-session name]" section.
func (s *Set) SSOSession(name string) (Profile, bool) {
	return s.section(ssoSessionPrefix + strings.TrimSpace(name))
}

// Services returns the "[services name]" section; each service is a key
// whose Sub holds its settings.
func (s *Set) Services(name string) (Profile, bool) {
	return s.section(servicesPrefix + name)
}

func (s *Set) section(full string) (Profile, bool) {
	sec, ok := s.sections[full]
	if !ok {
		return Profile{}, false
	}
	p := Profile{Name: strings.TrimPrefix(strings.TrimPrefix(full, ssoSessionPrefix), servicesPrefix),
		Values: make(map[string]Value, len(sec.values))}
	for k, v := range sec.values {
		p.Values[k] = v
	}
	return p, true
}

// isProfileName: the SDK would also load an sso-session or services
// section, or a section with no name, as a profile if asked; they are
// not profiles.
func isProfileName(name string) bool {
	return name != "" && !strings.HasPrefix(name, ssoSessionPrefix) && !strings.HasPrefix(name, servicesPrefix)
}
