package awsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
)

// DefaultRecheck is how long keys without an expiry are used before the
// shared files are looked at again.
const DefaultRecheck = time.Minute

// Provider serves one profile's credentials, of any kind the SDK
// loads, and resolves the profile again (the whole chain: the shared
// files, the source_profile keys, the SSO token cache) whenever a file
// it depends on changes or the guard reloads it. aws-sdk-go-v2 resolves
// a profile once and never reads the files again (aws-sdk-go-v2#2135,
// #1449): keys a refresher rewrites, including the source_profile keys
// of an assume-role chain, would otherwise never be seen.
//
// Keys that do not expire by themselves (static keys) are served as
// expiring at the profile's x_security_token_expires or after Recheck,
// whichever comes first, so that the aws.CredentialsCache in front comes
// back to look at the files.
type Provider struct {
	Recheck time.Duration // 0: DefaultRecheck
	Now     func() time.Time

	opts    Options
	profile string
	region  string

	mu       sync.Mutex
	chain    Chain
	inner    aws.CredentialsProvider
	stamp    string    // of the watched files when the chain was resolved
	expStamp string    // of the watched files when the expiries were read
	expires  time.Time // of the credentials last served (zero: unknown)
	fileExp  time.Time // x_security_token_expires of the base keys
	expErr   error     // an expiry in the files that could not be read
	tokenExp time.Time // the SSO token's expiry, when nothing renews it
}

// newProvider starts a Provider from a chain the SDK already resolved.
func newProvider(o Options, profile, region string, chain Chain, inner aws.CredentialsProvider) *Provider {
	p := &Provider{opts: o, profile: profile, region: region, chain: chain, inner: inner}
	p.stamp = stampOf(chain.Watch)
	p.readExpiries()
	return p
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Retrieve returns the profile's credentials, resolving the profile
// again first if a file it depends on changed.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	p.mu.Lock()
	if stampOf(p.chain.Watch) != p.stamp {
		p.resolveLocked(ctx)
	}
	inner, chain := p.inner, p.chain
	p.mu.Unlock()
	c, err := inner.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, &CredentialsError{Profile: p.opts.profileName(p.profile), Chain: chain, Remedy: p.Remedy(), Err: err}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !c.CanExpire {
		recheck := p.Recheck
		if recheck <= 0 {
			recheck = DefaultRecheck
		}
		c.CanExpire, c.Expires = true, p.now().Add(recheck)
		if !p.fileExp.IsZero() && p.fileExp.Before(c.Expires) {
			c.Expires = p.fileExp
		}
		p.expires = p.fileExp
	} else {
		p.expires = c.Expires
	}
	return c, nil
}

// Reload resolves the profile again even if no file changed; the next
// Retrieve gets fresh credentials through the whole chain.
func (p *Provider) Reload(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resolveLocked(ctx)
}

// resolveLocked builds the SDK's chain for the profile again. A failure
// is kept as the provider, so that the next call fails with it (and is
// counted by the guard) rather than using stale credentials.
func (p *Provider) resolveLocked(ctx context.Context) error {
	p.stamp = stampOf(p.chain.Watch)
	chain, err := DetectChain(ctx, p.opts, p.profile)
	if err == nil {
		var cfg aws.Config
		if cfg, err = sdkConfig(ctx, p.opts, p.profile, p.region); err == nil {
			p.chain, p.inner = chain, cfg.Credentials
			p.stamp = stampOf(chain.Watch)
			p.readExpiries()
			return nil
		}
	}
	p.inner = failing{err}
	return err
}

// readExpiries reads what the files say about expiry: the base keys'
// x_security_token_expires, or the SSO token's expiresAt.
func (p *Provider) readExpiries() {
	p.expStamp = stampOf(p.chain.Watch)
	p.fileExp, p.expErr, p.tokenExp = time.Time{}, nil, time.Time{}
	switch p.chain.Base {
	case KindStatic:
		set, err := awsfiles.Read(awsfiles.Files{Config: p.opts.configFile(), Credentials: p.opts.credentialsFile()})
		if err != nil {
			p.expErr = err
			return
		}
		name := p.chain.BaseProfile
		if name == "" {
			name = p.opts.profileName(p.profile)
		}
		if prof, ok := set.Profile(name); ok {
			p.fileExp, _, p.expErr = prof.Expiry()
		}
	case KindSSO:
		if p.chain.SSOCache != "" {
			p.tokenExp = ssoTokenExpiry(p.chain.SSOCache)
		}
	}
}

// ssoTokenExpiry is the expiresAt of an SSO token cache file, or zero
// when the file cannot be read or holds a refresh token (the SDK then
// renews the token by itself).
func ssoTokenExpiry(path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	var tok struct {
		ExpiresAt    string `json:"expiresAt"`
		RefreshToken string `json:"refreshToken"`
	}
	if json.Unmarshal(b, &tok) != nil || tok.RefreshToken != "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ProfileInfo is what shuffle tells of one profile's credentials.
type ProfileInfo struct {
	Profile string
	Chain   Chain
	// Expires is when the credentials in use expire (zero: unknown, or
	// keys without x_security_token_expires); SessionExpires when what
	// the operator renews by hand behind them does (see SessionExpiry).
	Expires, SessionExpires time.Time
	Remedy                  string
	// ExpiryProblem is an expiry in the files that could not be read.
	ExpiryProblem error
}

// Info describes the profile's credentials as last resolved and served.
func (p *Provider) Info() ProfileInfo {
	return ProfileInfo{Profile: p.opts.profileName(p.profile), Chain: p.Chain(), Expires: p.Expiry(),
		SessionExpires: p.SessionExpiry(), Remedy: p.Remedy(), ExpiryProblem: p.ExpiryProblem()}
}

// Chain is how the profile's credentials are obtained, as last resolved.
func (p *Provider) Chain() Chain {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chain
}

// Remedy says what gets fresh credentials for the profile.
func (p *Provider) Remedy() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chain.Remedy(p.opts.credentialsFile())
}

// Expiry is when the credentials in use expire, as the provider knows
// it: the credentials' own expiry (SSO role credentials, an assumed
// role, credential_process), or x_security_token_expires for keys in a
// file. Zero when unknown.
func (p *Provider) Expiry() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.freshExpiriesLocked()
	if p.chain.Base == KindStatic && len(p.chain.Roles) == 0 {
		return p.fileExp // the file is the truth, served or not yet
	}
	return p.expires
}

// freshExpiriesLocked reads the expiries again if a watched file changed
// since they were read: a refresher's rewrite is seen before the next
// Retrieve.
func (p *Provider) freshExpiriesLocked() {
	if stampOf(p.chain.Watch) != p.expStamp {
		p.readExpiries()
	}
}

// SessionExpiry is when what the operator must renew by hand runs out,
// if it comes before the credentials' own expiry matters: the SSO token
// (aws sso login), or the keys in a file at the base of an assume-role
// chain. Zero when unknown or renewed without the operator.
func (p *Provider) SessionExpiry() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.freshExpiriesLocked()
	if p.chain.Base == KindSSO {
		return p.tokenExp
	}
	if len(p.chain.Roles) > 0 {
		return p.fileExp
	}
	return time.Time{}
}

// ExpiryProblem is an expiry in the shared files that could not be read
// (naming file and line), or nil.
func (p *Provider) ExpiryProblem() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.freshExpiriesLocked()
	return p.expErr
}

// Stamp identifies the state of the files the chain depends on; it
// changes when one of them is written, created or removed.
func (p *Provider) Stamp() string {
	p.mu.Lock()
	w := p.chain.Watch
	p.mu.Unlock()
	return stampOf(w)
}

func stampOf(files []string) string {
	s := ""
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
		} else {
			s += f + ":-;"
		}
	}
	return s
}

// failing is a provider that fails with the error that resolving the
// profile gave.
type failing struct{ err error }

func (f failing) Retrieve(context.Context) (aws.Credentials, error) { return aws.Credentials{}, f.err }
