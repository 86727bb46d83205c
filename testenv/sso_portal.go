package testenv

// The IAM Identity Center (SSO) side of the token authority: the portal's
// GetRoleCredentials, which trades an access token for a role's session
// credentials, and the OIDC CreateToken refresh, which trades a refresh
// token for a new access token. Both are unsigned REST-JSON calls the
// SDKs make while they resolve credentials; they reach the emulator
// through the services section of aws/config (files.go). The access
// token the SDKs start from is in the token cache sso_cache.go writes,
// as `aws sso login` would.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SSOStartURL is the emulated portal's start URL (sso_start_url).
const SSOStartURL = "https://shuffle-testenv.awsapps.com/start"

const (
	// ssoUser is the portal's one user, the session name of the role
	// credentials it hands out.
	ssoUser = "operator@example.com"
	// Without --token-ttl, access tokens last as `aws sso login` gives
	// them and role credentials as a permission set's default session.
	ssoDefaultTokenLife = 8 * time.Hour
	ssoDefaultRoleLife  = time.Hour
	// ssoRegistrationLife is how long the cached client registration lasts.
	ssoRegistrationLife = 90 * 24 * time.Hour
)

// ssoAssignments are the roles the portal's user may take.
var ssoAssignments = map[string]bool{
	roleArn(SourceAccount, "ShuffleOperator"):            true,
	roleArn(DestinationAccount, "ShuffleOperator"):       true,
	roleArn(SourceAccount, "ShuffleReadOnly"):            true,
	roleArn(DestinationAccount, "ShuffleOperatorNoLock"): true,
}

// ssoToken is one access token with the refresh token issued with it.
type ssoToken struct {
	Access, Refresh string
	Expires         time.Time
}

// ssoState holds the portal's client registration and the tokens issued.
type ssoState struct {
	mu           sync.Mutex
	tokenLife    time.Duration
	roleLife     time.Duration
	clientID     string
	clientSecret string
	registered   time.Time
	access       map[string]time.Time // access token -> expiry
	refresh      map[string]bool
	current      ssoToken // the one the cache file holds
}

func newSSOState(ttl time.Duration, now time.Time) *ssoState {
	st := &ssoState{tokenLife: ssoDefaultTokenLife, roleLife: ssoDefaultRoleLife,
		clientID: randomString(secretAlphabet[:62], 22), clientSecret: randomString(secretAlphabet[:62], 64),
		registered: now.UTC().Truncate(time.Second), access: map[string]time.Time{}, refresh: map[string]bool{}}
	if ttl > 0 {
		st.tokenLife, st.roleLife = ttl, ttl
	}
	st.issue(now)
	return st
}

// issue makes a new current token, as a new `aws sso login` would.
func (st *ssoState) issue(now time.Time) ssoToken {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current = st.newTokenLocked(now)
	return st.current
}

func (st *ssoState) newTokenLocked(now time.Time) ssoToken {
	t := ssoToken{Access: "aoa" + randomString(secretAlphabet[:62], 120), Refresh: "aorAAAAA" + randomString(secretAlphabet[:62], 120),
		Expires: now.Add(st.tokenLife).UTC().Truncate(time.Second)}
	st.access[t.Access] = t.Expires
	st.refresh[t.Refresh] = true
	return t
}

// validAccess reports whether an access token was issued and is unexpired.
func (st *ssoState) validAccess(tok string, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	exp, ok := st.access[tok]
	return ok && now.Before(exp)
}

// ssoOp names the SSO or OIDC operation a request is, or "".
func ssoOp(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/federation/credentials":
		return "GetRoleCredentials"
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		return "CreateToken"
	}
	return ""
}

// serveSSO answers the unsigned portal and OIDC calls.
func (s *Server) serveSSO(c *call) {
	if c.op == "CreateToken" {
		s.createToken(c)
		return
	}
	s.getRoleCredentials(c)
}

func (s *Server) getRoleCredentials(c *call) {
	q := c.r.URL.Query()
	acct, name := q.Get("account_id"), q.Get("role_name")
	tok := c.r.Header.Get("x-amz-sso_bearer_token")
	switch {
	case acct == "" || name == "" || tok == "":
		c.fail(apiErr(400, "InvalidRequestException", "account_id, role_name and the x-amz-sso_bearer_token header are required"), false)
		return
	case !s.sso.validAccess(tok, s.now()):
		c.fail(apiErr(401, "UnauthorizedException", "Session token not found or invalid"), false)
		return
	}
	arn := roleArn(acct, name)
	r := s.iam.role(arn)
	if r == nil || !ssoAssignments[arn] {
		c.fail(apiErr(403, "ForbiddenException", "No access"), false)
		return
	}
	creds := s.creds.issueSession(sessionOf(r, ssoUser), s.sso.roleLife)
	c.reply(map[string]any{"roleCredentials": map[string]any{
		"accessKeyId": creds.AccessKeyID, "secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
		"expiration": creds.Expires.UnixMilli(),
	}})
}

// createToken is the OIDC refresh_token grant. It answers only while
// rotation is on: off models a refresh token the operator's session no
// longer honours, so only a new login (a rewritten cache) helps.
func (s *Server) createToken(c *call) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		GrantType    string `json:"grantType"`
		RefreshToken string `json:"refreshToken"`
	}
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	st := s.sso
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case in.GrantType != "refresh_token":
		oidcFail(c, 400, "UnsupportedGrantTypeException", "unsupported_grant_type", "testenv grants refresh_token only, not "+strconv.Quote(in.GrantType))
	case in.ClientID != st.clientID || in.ClientSecret != st.clientSecret:
		oidcFail(c, 401, "InvalidClientException", "invalid_client", "unknown client id or wrong client secret")
	case !st.refresh[in.RefreshToken]:
		oidcFail(c, 400, "InvalidGrantException", "invalid_grant", "the refresh token is unknown")
	case !s.Rotating():
		oidcFail(c, 400, "InvalidGrantException", "invalid_grant", "the refresh token is no longer valid (testenv's rotation is off): sign in again")
	default:
		t := st.newTokenLocked(s.now())
		c.reply(map[string]any{"accessToken": t.Access, "tokenType": "Bearer", "refreshToken": t.Refresh,
			"expiresIn": int64(st.tokenLife / time.Second)})
	}
}

// oidcFail writes an OIDC error: the OAuth error and error_description
// fields, which the SDKs read for these exceptions.
func oidcFail(c *call, status int, code, oauth, desc string) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", code)
	c.w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "error": oauth, "error_description": desc})
	_, _ = c.w.Write(b)
}
