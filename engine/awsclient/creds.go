package awsclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultRecheck is how long credentials without an expiry are cached
// before the file is looked at again.
const DefaultRecheck = time.Minute

// FileProvider is an aws.CredentialsProvider that reads one profile
// from the shared credentials file and reads it again whenever the file
// changes (size or modification time). aws-sdk-go-v2 reads that file
// once and never again (aws-sdk-go-v2#2135, #1449), so a token refresher
// that rewrites it (saml2aws, the SSM agent, testenv) is otherwise
// never seen.
//
// The credentials it returns always expire: at x_security_token_expires
// when the profile has it, else after Recheck, so that the
// aws.CredentialsCache in front of it comes back to look at the file.
type FileProvider struct {
	Path    string
	Profile string
	Recheck time.Duration // 0: DefaultRecheck
	Now     func() time.Time

	mu      sync.Mutex
	size    int64
	mtime   time.Time
	cached  fileCreds
	haveOld bool
}

type fileCreds struct {
	creds   aws.Credentials
	expires time.Time // zero when the file has no x_security_token_expires
	found   bool
}

func (p *FileProvider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Retrieve returns the profile's credentials, reading the file again if
// it changed since the last read.
func (p *FileProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	fc, err := p.load(false)
	if err != nil {
		return aws.Credentials{}, err
	}
	if !fc.found {
		return aws.Credentials{}, fmt.Errorf("profile %q has no aws_access_key_id in %s", p.Profile, p.Path)
	}
	c := fc.creds
	c.CanExpire = true
	recheck := p.Recheck
	if recheck <= 0 {
		recheck = DefaultRecheck
	}
	c.Expires = p.now().Add(recheck)
	if !fc.expires.IsZero() && fc.expires.Before(c.Expires) {
		c.Expires = fc.expires
	}
	return c, nil
}

// Reload reads the file even if it looks unchanged.
func (p *FileProvider) Reload() error {
	_, err := p.load(true)
	return err
}

// Expiry is x_security_token_expires of the profile as last read (zero
// when absent).
func (p *FileProvider) Expiry() time.Time {
	fc, err := p.load(false)
	if err != nil {
		return time.Time{}
	}
	return fc.expires
}

// HasProfile reports whether the file has static keys for the profile.
func (p *FileProvider) HasProfile() bool {
	fc, err := p.load(false)
	return err == nil && fc.found
}

// stamp is the file's identity (size and modification time), to tell
// when it was rewritten.
func (p *FileProvider) stamp() (int64, time.Time, error) {
	fi, err := os.Stat(p.Path)
	if err != nil {
		return 0, time.Time{}, err
	}
	return fi.Size(), fi.ModTime(), nil
}

func (p *FileProvider) load(force bool) (fileCreds, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size, mtime, err := p.stamp()
	if err != nil {
		return fileCreds{}, fmt.Errorf("credentials file: %w", err)
	}
	if !force && p.haveOld && size == p.size && mtime.Equal(p.mtime) {
		return p.cached, nil
	}
	b, err := os.ReadFile(p.Path)
	if err != nil {
		return fileCreds{}, fmt.Errorf("credentials file: %w", err)
	}
	fc, err := parseCredentials(b, p.Profile)
	if err != nil {
		return fileCreds{}, fmt.Errorf("%s: %w", filepath.Base(p.Path), err)
	}
	p.size, p.mtime, p.cached, p.haveOld = size, mtime, fc, true
	return fc, nil
}

// parseCredentials reads one profile's keys from an INI credentials
// file. Errors never quote values: they may be secrets.
func parseCredentials(b []byte, profile string) (fileCreds, error) {
	var fc fileCreds
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 0; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if s[0] == '[' && strings.HasSuffix(s, "]") {
			name := strings.TrimSpace(s[1 : len(s)-1])
			// The keys may also sit in the config file, as [profile NAME].
			if rest, ok := strings.CutPrefix(name, "profile "); ok {
				name = strings.TrimSpace(rest)
			}
			in = name == profile
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "aws_access_key_id":
			fc.creds.AccessKeyID, fc.found = v, v != ""
		case "aws_secret_access_key":
			fc.creds.SecretAccessKey = v
		case "aws_session_token", "aws_security_token":
			fc.creds.SessionToken = v
		case "x_security_token_expires", "aws_expiration", "expiration":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fc, fmt.Errorf("profile %q: %s on line %d is not an RFC 3339 time", profile, k, line+1)
			}
			fc.expires = t
		}
	}
	fc.creds.Source = "shuffle.FileProvider"
	return fc, sc.Err()
}
