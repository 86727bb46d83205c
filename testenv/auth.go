package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Profile names written to aws/config and aws/credentials.
const (
	ProfileSource            = "source"
	ProfileDestination       = "destination"
	ProfileSourceReadOnly    = "source-readonly"
	ProfileDestinationNoLock = "destination-nolock"
	// ProfileSourceBase has static keys in aws/credentials, rotated like
	// the others; its principal (role ShuffleBase) may only assume the
	// ShuffleOperator roles.
	ProfileSourceBase = "source-base"
	// ProfileSourceAssumed and ProfileDestinationAssumed assume the
	// ShuffleOperator role of their account with source-base's keys
	// (role_arn + source_profile).
	ProfileSourceAssumed      = "source-assumed"
	ProfileDestinationAssumed = "destination-assumed"
	// ProfileSourceSSO takes its keys from the emulated IAM Identity
	// Center portal, with the token cache of SSO session SSOSessionName.
	ProfileSourceSSO = "source-sso"
	// ProfileSourceProcess runs `shuffle testenv credential-process`.
	ProfileSourceProcess = "source-process"
	// ProfileSourceWebIdentity assumes the source ShuffleOperator role
	// with the token testenv writes into WebIdentityTokenFile.
	ProfileSourceWebIdentity = "source-web-identity"
	// SSOSessionName is the sso-session section of ProfileSourceSSO.
	SSOSessionName = "testenv"
)

// CopyRoleName is the IAM role copy jobs use in the source account.
const CopyRoleName = "service-role/AWSBackupDefaultServiceRole"

// CopyRoleArn is the ARN of the copy role in the source account.
const CopyRoleArn = "arn:aws:iam::" + SourceAccount + ":role/" + CopyRoleName

// keySource says where a client finds a profile's keys.
type keySource int

const (
	keysInFile      keySource = iota // aws/credentials, rewritten on rotation
	keysByProcess                    // credential_process (GET /_testenv/credentials/PROFILE)
	keysAssumed                      // role_arn + source_profile: STS AssumeRole
	keysSSO                          // the IAM Identity Center portal and its token cache
	keysWebIdentity                  // role_arn + web_identity_token_file: AssumeRoleWithWebIdentity
)

type profileDef struct {
	Name    string
	Account string
	Role    string
	Keys    keySource
	Session string // role session name of the profile's own keys ("" for keysAssumed and keysSSO)
	Source  string // source_profile of keysAssumed
}

// Profiles lists every profile written to aws/config. The authority
// issues and rotates keys for those in the file and for the process.
var profiles = []profileDef{
	{ProfileSource, SourceAccount, "ShuffleOperator", keysInFile, sessionName, ""},
	{ProfileDestination, DestinationAccount, "ShuffleOperator", keysInFile, sessionName, ""},
	{ProfileSourceReadOnly, SourceAccount, "ShuffleReadOnly", keysInFile, sessionName, ""},
	{ProfileDestinationNoLock, DestinationAccount, "ShuffleOperatorNoLock", keysInFile, sessionName, ""},
	{ProfileSourceBase, SourceAccount, baseRole, keysInFile, sessionName, ""},
	{ProfileSourceAssumed, SourceAccount, "ShuffleOperator", keysAssumed, "", ProfileSourceBase},
	{ProfileDestinationAssumed, DestinationAccount, "ShuffleOperator", keysAssumed, "", ProfileSourceBase},
	{ProfileSourceSSO, SourceAccount, "ShuffleOperator", keysSSO, "", ""},
	{ProfileSourceProcess, SourceAccount, "ShuffleOperator", keysByProcess, processSession, ""},
	{ProfileSourceWebIdentity, SourceAccount, "ShuffleOperator", keysWebIdentity, "", ""},
}

// issued reports whether the authority issues the profile's keys itself.
func (p profileDef) issued() bool { return p.Keys == keysInFile || p.Keys == keysByProcess }

// ProfileNames returns, in a stable order, the profiles whose keys are
// in aws/credentials.
func ProfileNames() []string {
	var out []string
	for _, p := range profiles {
		if p.Keys == keysInFile {
			out = append(out, p.Name)
		}
	}
	return out
}

const (
	sessionName    = "shuffle"
	processSession = "credential-process"
	// baseRole is the source account's role behind source-base: it may
	// only assume the ShuffleOperator roles.
	baseRole = "ShuffleBase"
)

// principal is the identity behind one profile: an assumed-role session.
type principal struct {
	Profile    string
	Account    string
	Role       *role
	SessionArn string
	UserId     string
}

// role is an IAM role with its inline identity policies.
type role struct {
	Name     string // may include a path prefix, e.g. service-role/X
	Arn      string
	Id       string
	Account  string
	Created  time.Time
	Policies []NamedPolicy
	Trust    string
}

type iamState struct {
	mu    sync.RWMutex
	roles map[string]*role // by ARN
}

func roleArn(acct, name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

func newIAMState(region string) *iamState {
	st := &iamState{roles: map[string]*role{}}
	created := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	add := func(acct, name string, docs ...string) {
		r := &role{Name: name, Arn: roleArn(acct, name), Account: acct, Created: created,
			Id:    "AROA" + strings.ToUpper(fmt.Sprintf("%016x%04x", hashString(acct+name), len(name)))[:17],
			Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`}
		for i, d := range docs {
			pd, err := ParsePolicy(d)
			if err != nil {
				panic(fmt.Sprintf("built-in policy %s/%d: %v", name, i, err))
			}
			r.Policies = append(r.Policies, NamedPolicy{Id: fmt.Sprintf("%s-policy-%d", lastSegment(name), i+1), Type: "IAM Policy", Doc: pd})
		}
		st.roles[r.Arn] = r
	}
	add(SourceAccount, "ShuffleOperator", DefaultPolicies[ProfileSource])
	add(DestinationAccount, "ShuffleOperator", DefaultPolicies[ProfileDestination])
	add(SourceAccount, "ShuffleReadOnly", DefaultPolicies[ProfileSourceReadOnly])
	add(DestinationAccount, "ShuffleOperatorNoLock", DefaultPolicies[ProfileDestinationNoLock])
	add(SourceAccount, baseRole, DefaultPolicies[ProfileSourceBase])
	// The source operator role also trusts testenv's OIDC provider.
	st.roles[roleArn(SourceAccount, "ShuffleOperator")].Trust = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + SourceAccount + `:root"},"Action":"sts:AssumeRole"},` +
		`{"Effect":"Allow","Principal":{"Federated":"` + webIdentityProvider + `"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringEquals":{"` + webIdentityIssuer + `:aud":"` + webIdentityAudience + `"}}}]}`
	// The usual cross-account pattern: the destination's operator role
	// also trusts the source account's base role.
	st.roles[roleArn(DestinationAccount, "ShuffleOperator")].Trust = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + DestinationAccount + `:root"},"Action":"sts:AssumeRole"},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + roleArn(SourceAccount, baseRole) + `"},"Action":"sts:AssumeRole"}]}`
	backupTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for _, acct := range []string{SourceAccount, DestinationAccount} {
		add(acct, CopyRoleName, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:*","kms:*"],"Resource":"*"}]}`)
		st.roles[roleArn(acct, CopyRoleName)].Trust = backupTrust
	}
	return st
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (st *iamState) role(arn string) *role {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.roles[arn]
}

// VaultKeyActions are the KMS permissions creating a vault with a
// customer-managed key needs on that key.
var VaultKeyActions = []string{"kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant", "kms:Decrypt", "kms:GenerateDataKey"}

// DefaultPolicies are the identity policies each profile's role starts
// with. The admin API can replace them (PUT /_testenv/policies/PROFILE).
var DefaultPolicies = map[string]string{
	ProfileSource: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadAndCopy", "Effect": "Allow",
     "Action": ["backup:List*", "backup:Describe*", "backup:Get*", "backup:StartCopyJob", "backup:StartBackupJob", "backup:TagResource", "backup:UntagResource"],
     "Resource": "*"},
    {"Sid": "PassCopyRole", "Effect": "Allow", "Action": "iam:PassRole",
     "Resource": "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
     "Condition": {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}},
    {"Sid": "KeyLookup", "Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListAliases", "kms:GetKeyPolicy"], "Resource": "*"},
    {"Sid": "Preflight", "Effect": "Allow", "Action": ["iam:GetRole", "iam:SimulatePrincipalPolicy"], "Resource": "*"}
  ]
}`,
	ProfileDestination: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ManageVaults", "Effect": "Allow", "Action": ["backup:*", "backup-storage:MountCapsule"], "Resource": "*"},
    {"Sid": "VaultKeys", "Effect": "Allow", "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant", "kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": "arn:aws:kms:*:222222222222:key/*"},
    {"Sid": "KeyAliases", "Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListAliases"], "Resource": "*"},
    {"Sid": "Preflight", "Effect": "Allow", "Action": ["iam:GetRole", "iam:SimulatePrincipalPolicy"], "Resource": "*"}
  ]
}`,
	ProfileSourceReadOnly: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOnly", "Effect": "Allow", "Action": ["backup:List*", "backup:Describe*", "backup:Get*"], "Resource": "*"},
    {"Sid": "KeyLookup", "Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListAliases", "kms:GetKeyPolicy"], "Resource": "*"},
    {"Sid": "Preflight", "Effect": "Allow", "Action": ["iam:GetRole", "iam:SimulatePrincipalPolicy"], "Resource": "*"}
  ]
}`,
	ProfileSourceBase: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AssumeOperator", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/ShuffleOperator"}
  ]
}`,
	ProfileDestinationNoLock: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ManageVaults", "Effect": "Allow", "Action": ["backup:*", "backup-storage:MountCapsule"], "Resource": "*"},
    {"Sid": "VaultKeys", "Effect": "Allow", "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant", "kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": "arn:aws:kms:*:222222222222:key/*"},
    {"Sid": "NoVaultLock", "Effect": "Deny", "Action": ["backup:PutBackupVaultLockConfiguration", "backup:DeleteBackupVaultLockConfiguration"], "Resource": "*"},
    {"Sid": "KeyAliases", "Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListAliases"], "Resource": "*"},
    {"Sid": "Preflight", "Effect": "Allow", "Action": ["iam:GetRole", "iam:SimulatePrincipalPolicy"], "Resource": "*"}
  ]
}`,
}

// SetPolicies replaces the identity policies of a profile's role (for
// source-assumed, source-sso and source-process: the role they reach,
// which other profiles may share).
func (s *Server) SetPolicies(profile string, docs []string) error {
	pd := profileByName(profile)
	if pd == nil {
		var names []string
		for _, p := range profiles {
			names = append(names, p.Name)
		}
		return fmt.Errorf("unknown profile %q (known: %s)", profile, strings.Join(names, ", "))
	}
	var named []NamedPolicy
	for i, d := range docs {
		doc, err := ParsePolicy(d)
		if err != nil {
			return fmt.Errorf("policy %d for profile %s: %w", i+1, profile, err)
		}
		named = append(named, NamedPolicy{Id: fmt.Sprintf("%s-policy-%d", profile, i+1), Type: "IAM Policy", Doc: doc})
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.roles[roleArn(pd.Account, pd.Role)].Policies = named
	return nil
}

func profileByName(name string) *profileDef {
	for i := range profiles {
		if profiles[i].Name == name {
			return &profiles[i]
		}
	}
	return nil
}

func (s *Server) principalFor(profile string) *principal {
	pd := profileByName(profile)
	p := sessionOf(s.iam.role(roleArn(pd.Account, pd.Role)), pd.Session)
	p.Profile = profile
	return p
}

// sessionOf is the principal of a session of role r: its ARN names the
// role without its path, as STS does.
func sessionOf(r *role, session string) *principal {
	return &principal{
		Account:    r.Account,
		Role:       r,
		SessionArn: "arn:aws:sts::" + r.Account + ":assumed-role/" + lastSegment(r.Name) + "/" + session,
		UserId:     r.Id + ":" + session,
	}
}

// Credentials are one profile's keys as written to aws/credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string    // "" for long-lived keys
	Expires         time.Time // zero for long-lived keys
}

type credential struct {
	Credentials
	profile string     // "" for a session issued by AssumeRole or the SSO portal
	who     *principal // whose keys these are
}

// credAuthority issues credentials and, with a TTL, rotates them before
// they expire, the way an external refresher such as saml2aws would.
type credAuthority struct {
	s        *Server
	ttl      time.Duration
	mu       sync.Mutex
	byKey    map[string]*credential
	current  map[string]*credential
	rotating bool
}

func newCredAuthority(s *Server, ttl time.Duration) *credAuthority {
	a := &credAuthority{s: s, ttl: ttl, byKey: map[string]*credential{}, current: map[string]*credential{}, rotating: true}
	for _, p := range profiles {
		if p.issued() {
			a.issueLocked(p.Name)
		}
	}
	return a
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func (a *credAuthority) issueLocked(profile string) *credential {
	c := &credential{profile: profile, who: a.s.principalFor(profile)}
	if a.ttl > 0 {
		c.Credentials = newSessionKeys(a.s.now().Add(a.ttl))
	} else {
		c.AccessKeyID = "AKIA" + randomString(upperDigits, 16)
		c.SecretAccessKey = randomString(secretAlphabet, 40)
	}
	a.byKey[c.AccessKeyID] = c
	a.current[profile] = c
	return c
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// newSessionKeys makes session credentials that expire at expires
// (truncated to the second, as STS does).
func newSessionKeys(expires time.Time) Credentials {
	tok := make([]byte, 96)
	_, _ = rand.Read(tok)
	return Credentials{
		AccessKeyID:     "ASIA" + randomString(upperDigits, 16),
		SecretAccessKey: randomString(secretAlphabet, 40),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(tok),
		Expires:         expires.UTC().Truncate(time.Second),
	}
}

// issueSession issues session credentials of principal who that expire
// after lifetime; they are never rotated.
func (a *credAuthority) issueSession(who *principal, lifetime time.Duration) Credentials {
	now := a.s.now()
	c := &credential{Credentials: newSessionKeys(now.Add(lifetime)), who: who}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.byKey) >= sessionsKept {
		// A long rehearsal with short sessions must not grow without
		// bound: sessions expired an hour ago are forgotten.
		for k, old := range a.byKey {
			if old.profile == "" && now.Sub(old.Expires) > time.Hour {
				delete(a.byKey, k)
			}
		}
	}
	a.byKey[c.AccessKeyID] = c
	return c.Credentials
}

// sessionsKept is how many keys the authority holds before it forgets
// long-expired sessions.
const sessionsKept = 4096

// Current returns the credentials currently issued for a profile.
func (s *Server) Current(profile string) (Credentials, bool) {
	s.creds.mu.Lock()
	defer s.creds.mu.Unlock()
	c, ok := s.creds.current[profile]
	if !ok {
		return Credentials{}, false
	}
	return c.Credentials, true
}

// Rotate issues new credentials for every profile now and rewrites the
// credentials file. Old credentials stay valid until they expire.
func (s *Server) Rotate() error {
	s.creds.mu.Lock()
	for _, p := range profiles {
		if p.issued() {
			s.creds.issueLocked(p.Name)
		}
	}
	s.creds.mu.Unlock()
	s.sso.issue(s.now())
	s.webID.issue(s.now())
	s.logf("testenv: credentials rotated")
	if err := s.writeCredentials(); err != nil {
		return err
	}
	if err := s.writeWebIdentityToken(); err != nil {
		return err
	}
	return s.writeSSOCache()
}

// SetRotation turns automatic rotation on or off (off models an
// operator who is asleep while the token lapses). Off stops every
// refresher: the credentials file, the SSO token cache, the OIDC
// CreateToken refresh and the credential_process keys.
func (s *Server) SetRotation(on bool) {
	s.creds.mu.Lock()
	s.creds.rotating = on
	s.creds.mu.Unlock()
	s.logf("testenv: credential rotation enabled=%v", on)
}

// Rotating reports whether automatic rotation is on.
func (s *Server) Rotating() bool {
	s.creds.mu.Lock()
	defer s.creds.mu.Unlock()
	return s.creds.rotating
}

// rotateLoop renews each profile's credentials when a third of the TTL
// remains, while rotation is on.
func (a *credAuthority) rotateLoop(stop <-chan struct{}) {
	tick := a.ttl / 20
	if tick > time.Second {
		tick = time.Second
	}
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		a.mu.Lock()
		due := false
		if a.rotating {
			now := a.s.now()
			for _, c := range a.current {
				if c.Expires.Sub(now) <= a.ttl/3 {
					due = true
				}
			}
		}
		a.mu.Unlock()
		if due {
			if err := a.s.Rotate(); err != nil {
				a.s.logf("testenv: rotate: %v", err)
			}
		}
	}
}

func (a *credAuthority) secretFor(akid string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.byKey[akid]
	if !ok {
		return "", false
	}
	return c.SecretAccessKey, true
}

// authenticate verifies the signature and the session token and sets
// c.p. Codes follow what AWS sends for each protocol.
func (s *Server) authenticate(c *call, query bool) *apiError {
	code := func(backup, q string) string {
		if query {
			return q
		}
		return backup
	}
	_, aerr := verifySigV4(c.r, c.body, s.creds.secretFor, s.now())
	if aerr != nil {
		var e apiError
		switch aerr.kind {
		case authMissing:
			e = apiErr(403, code("MissingAuthenticationTokenException", "MissingAuthenticationToken"), "Missing Authentication Token")
		case authIncomplete:
			e = apiErr(403, "IncompleteSignature", aerr.msg)
		case authUnknownKey:
			e = apiErr(403, code("UnrecognizedClientException", "InvalidClientTokenId"), "The security token included in the request is invalid.")
		case authBadSignature, authSkew:
			e = apiErr(403, code("InvalidSignatureException", "SignatureDoesNotMatch"), aerr.msg)
		default:
			e = apiErr(403, "AccessDeniedException", aerr.msg)
		}
		return &e
	}
	akid := accessKeyOf(c.r.Header.Get("Authorization"))
	s.creds.mu.Lock()
	cred := s.creds.byKey[akid]
	s.creds.mu.Unlock()
	token := c.r.Header.Get("X-Amz-Security-Token")
	if token != cred.SessionToken {
		e := apiErr(403, code("UnrecognizedClientException", "InvalidClientTokenId"), "The security token included in the request is invalid.")
		return &e
	}
	if !cred.Expires.IsZero() && !s.now().Before(cred.Expires) {
		e := apiErr(403, code("ExpiredTokenException", "ExpiredToken"), "The security token included in the request is expired")
		return &e
	}
	c.p = cred.who
	return nil
}

func accessKeyOf(auth string) string {
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	rest := auth[i+len("Credential="):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// authorize evaluates the caller's identity policies for one action.
func (c *call) authorize(action, resource string, ctx map[string][]string) *apiError {
	// SetPolicies may replace the policies while the call runs.
	c.s.iam.mu.RLock()
	policies := c.p.Role.Policies
	c.s.iam.mu.RUnlock()
	res := EvaluateIdentity(policies, EvalInput{
		Action: action, Resource: resource, Context: ctx,
		Principal: c.p.SessionArn, PrincipalAccount: c.p.Account,
	})
	if res.Decision == "allowed" {
		return nil
	}
	why := "because no identity-based policy allows the " + action + " action"
	if res.Decision == "explicitDeny" {
		why = "with an explicit deny in an identity-based policy"
	}
	e := apiErr(http.StatusForbidden, "AccessDeniedException",
		"User: "+c.p.SessionArn+" is not authorized to perform: "+action+" on resource: "+resource+" "+why)
	return &e
}
