package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Files written by WriteFiles, relative to the directory.
const (
	ConfigFile      = "aws/config"
	CredentialsFile = "aws/credentials"
	EnvFile         = "env"
	MetadataFile    = "metadata.csv"
)

// WriteFiles writes aws/config, aws/credentials, env and metadata.csv
// into dir, and the SSO token cache (SSOCacheDir). With only
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE pointing at them,
// aws-sdk-go-v2 and the AWS CLI v1.45 reach the emulator: each profile
// carries endpoint_url, and services = testenv for the STS, SSO and OIDC
// clients the SDKs build while they resolve credentials, before the
// profile's endpoint_url applies.
func (s *Server) WriteFiles(dir string) error { return s.writeFiles(dir, s.Endpoint()) }

// writeFiles writes the files for clients of endpoint.
func (s *Server) writeFiles(dir, endpoint string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	s.filesMu.Lock()
	s.opts.Dir = abs
	s.filesMu.Unlock()
	if err := os.MkdirAll(filepath.Join(abs, "aws"), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", abs, err)
	}
	if err := writeAtomic(filepath.Join(abs, ConfigFile), s.configFile(abs, endpoint), 0o600); err != nil {
		return err
	}
	if err := s.writeCredentials(); err != nil {
		return err
	}
	if err := s.writeWebIdentityToken(); err != nil {
		return err
	}
	if err := s.startSSOCache(); err != nil {
		return err
	}
	env := fmt.Sprintf("# Source this file to point the AWS CLI and SDKs at shuffle testenv (%s).\nexport AWS_CONFIG_FILE=%q\nexport AWS_SHARED_CREDENTIALS_FILE=%q\n",
		endpoint, filepath.Join(abs, ConfigFile), filepath.Join(abs, CredentialsFile))
	if err := writeAtomic(filepath.Join(abs, EnvFile), []byte(env), 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(abs, MetadataFile), s.metadata, 0o644)
}

// servicesSection names the [services] section every profile uses.
const servicesSection = "testenv"

// configFile is aws/config for clients of endpoint, with the files
// written into dir.
func (s *Server) configFile(dir, endpoint string) []byte {
	var cfg bytes.Buffer
	fmt.Fprintf(&cfg, "# Written by shuffle testenv. Profiles point at the emulator at %s.\n", endpoint)
	for _, p := range profiles {
		fmt.Fprintf(&cfg, "\n[profile %s]\n", p.Name)
		switch p.Keys {
		case keysAssumed:
			fmt.Fprintf(&cfg, "role_arn = %s\nsource_profile = %s\n", roleArn(p.Account, p.Role), p.Source)
		case keysSSO:
			fmt.Fprintf(&cfg, "sso_session = %s\nsso_account_id = %s\nsso_role_name = %s\n", SSOSessionName, p.Account, p.Role)
		case keysByProcess:
			fmt.Fprintf(&cfg, "credential_process = %s\n", s.processCommand(endpoint))
		case keysWebIdentity:
			fmt.Fprintf(&cfg, "role_arn = %s\nweb_identity_token_file = %s\n", roleArn(p.Account, p.Role), filepath.Join(dir, WebIdentityTokenFile))
		}
		fmt.Fprintf(&cfg, "region = %s\nendpoint_url = %s\noutput = json\nservices = %s\n", s.opts.Region, endpoint, servicesSection)
	}
	fmt.Fprintf(&cfg, "\n[sso-session %s]\nsso_start_url = %s\nsso_region = %s\nsso_registration_scopes = sso:account:access\n",
		SSOSessionName, SSOStartURL, s.opts.Region)
	// The SDKs' service ids: STS, SSO and "SSO OIDC".
	fmt.Fprintf(&cfg, "\n[services %s]\n", servicesSection)
	for _, svc := range []string{"sts", "sso", "sso_oidc"} {
		fmt.Fprintf(&cfg, "%s =\n  endpoint_url = %s\n", svc, endpoint)
	}
	return cfg.Bytes()
}

// writeCredentials rewrites aws/credentials atomically, as an external
// token refresher would. It does nothing before WriteFiles.
func (s *Server) writeCredentials() error {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if s.opts.Dir == "" {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# Written by shuffle testenv; rewritten before each expiry while rotation is on.\n")
	for _, p := range profiles {
		if p.Keys != keysInFile {
			continue
		}
		c, _ := s.Current(p.Name)
		fmt.Fprintf(&b, "\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", p.Name, c.AccessKeyID, c.SecretAccessKey)
		if c.SessionToken != "" {
			fmt.Fprintf(&b, "aws_session_token = %s\n", c.SessionToken)
		}
		if !c.Expires.IsZero() {
			fmt.Fprintf(&b, "x_security_token_expires = %s\n", c.Expires.UTC().Format(time.RFC3339))
		}
	}
	return writeAtomic(filepath.Join(s.opts.Dir, CredentialsFile), b.Bytes(), 0o600)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
