package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
)

// Kind is where a profile's credentials come from, as aws-sdk-go-v2
// resolves them.
type Kind int

// The kinds of credentials, in the SDK's order of precedence within a
// profile (keys, credential_source, web identity, SSO, process), plus
// the environment and the instance or container role the SDK falls back
// to when no profile is named.
const (
	KindUnknown     Kind = iota
	KindStatic           // aws_access_key_id in the shared credentials or config file
	KindEnvironment      // AWS_ACCESS_KEY_ID and kin
	KindSSO              // IAM Identity Center (sso_session, or the legacy sso_start_url form)
	KindProcess          // credential_process
	KindWebIdentity      // web_identity_token_file
	KindAssumeRole       // role_arn with source_profile or credential_source
	KindInstance         // credential_source, or the instance or container role
)

// String names the kind as the operator reads it.
func (k Kind) String() string {
	switch k {
	case KindStatic:
		return "keys in a shared file"
	case KindEnvironment:
		return "environment variables"
	case KindSSO:
		return "IAM Identity Center"
	case KindProcess:
		return "credential_process"
	case KindWebIdentity:
		return "web identity token"
	case KindAssumeRole:
		return "assume-role"
	case KindInstance:
		return "instance or container role"
	}
	return "unknown"
}

// Chain is how one profile's credentials are obtained: the kind at its
// base and the roles assumed on top of it, in order.
type Chain struct {
	Profile string // the profile named ("" for the SDK's default chain)
	Kind    Kind   // KindAssumeRole when Roles is not empty, else Base
	Base    Kind
	// BaseProfile is the profile whose settings start the chain (the
	// last source_profile); it names the profile to log in with.
	BaseProfile string
	Roles       []string // role ARNs, first assumed first
	// What the base kind reads.
	SSOSession  string // sso_session name ("" for the legacy form)
	SSOStartURL string
	SSOCache    string // the SSO token cache file the SDK reads
	Process     string // the credential_process command
	TokenFile   string // web_identity_token_file
	// Watch lists the files whose change means the chain must be
	// resolved again: the shared files, the SSO token cache, the web
	// identity token file.
	Watch []string
}

// Renews says whether shuffle gets fresh credentials by itself when
// the ones in use expire, without the operator (a role assumed again,
// the SSO portal asked again, the process run again). Static keys and
// environment variables are renewed only by someone rewriting them.
func (c Chain) Renews() bool {
	return len(c.Roles) > 0 || c.Base == KindSSO || c.Base == KindProcess || c.Base == KindWebIdentity || c.Base == KindInstance
}

// Describe says what the chain is, for `check` and the banner:
// "assume-role arn:aws:iam::1:role/R <- keys in a shared file of profile "base"".
func (c Chain) Describe() string {
	base := c.Base.String()
	switch c.Base {
	case KindSSO:
		if c.SSOSession != "" {
			base += fmt.Sprintf(" (sso_session %q)", c.SSOSession)
		} else {
			base += " (legacy sso_start_url)"
		}
	case KindProcess:
		base += fmt.Sprintf(" (%s)", c.Process)
	case KindWebIdentity:
		base += fmt.Sprintf(" (%s)", c.TokenFile)
	}
	if c.BaseProfile != "" && c.BaseProfile != c.Profile {
		base += fmt.Sprintf(" of profile %q", c.BaseProfile)
	}
	if len(c.Roles) == 0 {
		return base
	}
	roles := make([]string, len(c.Roles))
	for i := range c.Roles {
		roles[i] = c.Roles[len(c.Roles)-1-i]
	}
	return "assume-role " + strings.Join(roles, " <- ") + " <- " + base
}

// Remedy says what the operator does when the chain's credentials stop
// working: the command or the file that gets fresh ones.
func (c Chain) Remedy(credentialsFile string) string {
	login := c.BaseProfile
	if login == "" {
		login = c.Profile
	}
	var r string
	switch c.Base {
	case KindStatic:
		r = fmt.Sprintf("rewrite the keys of profile %q in %s (your token refresher, saml2aws or the like)", login, credentialsFile)
	case KindSSO:
		r = fmt.Sprintf("run `aws sso login --profile %s`", login)
	case KindProcess:
		r = fmt.Sprintf("make the credential_process of profile %q give fresh credentials (%s)", login, c.Process)
	case KindWebIdentity:
		r = fmt.Sprintf("have the web identity token file %s rewritten", c.TokenFile)
	case KindEnvironment:
		r = "restart shuffle with fresh AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (a running process cannot see its environment change)"
	case KindInstance:
		r = "check the instance or container role that gives these credentials"
	default:
		r = "refresh the credentials"
	}
	if len(c.Roles) > 0 {
		r += "; shuffle then assumes " + c.Roles[len(c.Roles)-1] + " again with them"
	}
	return r
}

// DetectChain reads the shared files as the SDK does and says how the
// profile's credentials are obtained ("" is the SDK's default chain).
func DetectChain(ctx context.Context, o Options, profile string) (Chain, error) {
	c := Chain{Profile: profile, Watch: []string{o.configFile(), o.credentialsFile()}}
	if profile == "" && o.EnvCredentials {
		c.Base, c.Kind = KindEnvironment, KindEnvironment
		return c, nil
	}
	name := o.profileName(profile)
	sc, err := config.LoadSharedConfigProfile(ctx, name, func(lo *config.LoadSharedConfigOptions) {
		lo.ConfigFiles = []string{o.configFile()}
		lo.CredentialsFiles = []string{o.credentialsFile()}
	})
	if err != nil {
		var nf config.SharedConfigProfileNotExistError
		if profile == "" && errors.As(err, &nf) {
			// No default profile: the SDK goes on to the instance role.
			c.Base, c.Kind = KindInstance, KindInstance
			return c, nil
		}
		return c, err
	}
	cur := &sc
	for depth := 0; ; depth++ {
		if depth > 16 {
			return c, fmt.Errorf("profile %q: source_profile chain longer than 16 (a loop?)", name)
		}
		// A web identity profile assumes its role itself
		// (AssumeRoleWithWebIdentity): that role is the base, not a hop.
		if cur.RoleARN != "" && (cur.Source != nil || cur.WebIdentityTokenFile == "") {
			c.Roles = append([]string{cur.RoleARN}, c.Roles...)
		}
		c.BaseProfile = cur.Profile
		if cur.Source == nil {
			break
		}
		// A source_profile naming the profile itself comes back as a
		// copy without role_arn: its keys (or process, ...) are the base.
		cur = cur.Source
	}
	c.Base = baseKind(cur)
	c.describeBase(cur)
	c.Kind = c.Base
	if len(c.Roles) > 0 {
		c.Kind = KindAssumeRole
	}
	return c, nil
}

// describeBase fills what the base kind reads, and the files to watch.
func (c *Chain) describeBase(sc *config.SharedConfig) {
	switch c.Base {
	case KindSSO:
		key := sc.SSOStartURL
		c.SSOStartURL = sc.SSOStartURL
		if sc.SSOSession != nil {
			c.SSOSession, key, c.SSOStartURL = sc.SSOSession.Name, sc.SSOSession.Name, sc.SSOSession.SSOStartURL
		}
		if f, err := ssocreds.StandardCachedTokenFilepath(key); err == nil {
			c.SSOCache = f
			c.Watch = append(c.Watch, f)
		}
	case KindProcess:
		c.Process = sc.CredentialProcess
	case KindWebIdentity:
		c.TokenFile = sc.WebIdentityTokenFile
		c.Watch = append(c.Watch, c.TokenFile)
	}
}

// baseKind is the kind of the profile at the base of a chain, in the
// SDK's order (config resolveCredsFromProfile).
func baseKind(sc *config.SharedConfig) Kind {
	switch {
	case sc.Credentials.HasKeys():
		return KindStatic
	case sc.CredentialSource == "Environment":
		return KindEnvironment
	case sc.CredentialSource != "":
		return KindInstance
	case sc.WebIdentityTokenFile != "":
		return KindWebIdentity
	case sc.SSOSession != nil || sc.SSOStartURL != "" || sc.SSOAccountID != "":
		return KindSSO
	case sc.CredentialProcess != "":
		return KindProcess
	}
	return KindInstance
}
