package testenv

// The SSO token cache, written as `aws sso login --sso-session testenv`
// writes it: <dir>/<sha1 hex of the session name>.json (and the same
// token under the start URL's name, for legacy profiles), where dir is
// ~/.aws/sso/cache unless Options.SSOCacheDir says otherwise. The SDKs
// read only ~/.aws/sso/cache, so a cache elsewhere serves a client whose
// HOME is its grandparent.

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SSOCacheFile is the name of the token cache file of SSOSessionName.
func SSOCacheFile() string { return ssoCacheName(SSOSessionName) }

// SSOLegacyCacheFile is the name of the token cache file of a legacy SSO
// profile (sso_start_url in the profile, no sso_session), keyed by the
// start URL. testenv writes it too, with the same token, so that a test
// may add such a profile; the SDKs never refresh a legacy token.
func SSOLegacyCacheFile() string { return ssoCacheName(SSOStartURL) }

// ssoCacheName is the cache file name the SDKs and the AWS CLI derive
// from a session name or start URL: its SHA-1 in hex.
func ssoCacheName(key string) string {
	sum := sha1.Sum([]byte(key))
	return hex.EncodeToString(sum[:]) + ".json"
}

// SSOCacheDir is the directory the token cache is written to: the
// option, or ~/.aws/sso/cache.
func (s *Server) SSOCacheDir() (string, error) {
	if s.opts.SSOCacheDir != "" {
		return filepath.Abs(s.opts.SSOCacheDir)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the SSO token cache (~/.aws/sso/cache): %w", err)
	}
	// Never make a home directory that is not there (HOME=/no-home).
	if st, err := os.Stat(home); err != nil || !st.IsDir() {
		return "", fmt.Errorf("the home directory %s does not exist, so there is no ~/.aws/sso/cache", home)
	}
	return filepath.Join(home, ".aws", "sso", "cache"), nil
}

// ssoCacheEntry is the cache file's content, field for field as the AWS
// CLI v2 writes it.
type ssoCacheEntry struct {
	StartURL              string `json:"startUrl"`
	Region                string `json:"region"`
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret"`
	RegistrationExpiresAt string `json:"registrationExpiresAt"`
	RefreshToken          string `json:"refreshToken"`
}

// writeSSOCache rewrites the token cache with the current token. It does
// nothing before WriteFiles, nor once WriteFiles found that the default
// cache cannot be written.
func (s *Server) writeSSOCache() error {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if s.opts.Dir == "" || s.ssoCacheOff {
		return nil
	}
	dir, err := s.SSOCacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the SSO token cache directory %s: %w", dir, err)
	}
	st := s.sso
	st.mu.Lock()
	e := ssoCacheEntry{StartURL: SSOStartURL, Region: s.opts.Region, AccessToken: st.current.Access,
		ExpiresAt: st.current.Expires.UTC().Format(time.RFC3339), ClientID: st.clientID, ClientSecret: st.clientSecret,
		RegistrationExpiresAt: st.registered.Add(ssoRegistrationLife).UTC().Format(time.RFC3339), RefreshToken: st.current.Refresh}
	st.mu.Unlock()
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	for _, name := range []string{SSOCacheFile(), SSOLegacyCacheFile()} {
		if err := writeAtomic(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startSSOCache writes the token cache for the first time. A cache the
// options name must be written; the default one may not be writable
// (no home directory, as under a test harness): then the emulator says
// so once and serves without it, and only source-sso cannot work.
func (s *Server) startSSOCache() error {
	err := s.writeSSOCache()
	if err == nil || s.opts.SSOCacheDir != "" {
		return err
	}
	s.logf("testenv: warning: SSO token cache not written: %v; the %s profile will not work (give the cache a directory: --sso-cache DIR)", err, ProfileSourceSSO)
	s.filesMu.Lock()
	s.ssoCacheOff = true
	s.filesMu.Unlock()
	return nil
}
