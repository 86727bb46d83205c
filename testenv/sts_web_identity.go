package testenv

// STS AssumeRoleWithWebIdentity, for profiles with role_arn and
// web_identity_token_file: the emulator plays an OIDC provider that
// writes a fresh token into <Dir>/web-identity-token at each rotation,
// as a Kubernetes projected service-account token is, and STS trades a
// token it issued and that has not expired for a session of a role whose
// trust policy admits the provider (Principal {"Federated": ARN}). The
// call is unsigned.

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"path/filepath"
	"sync"
	"time"
)

const (
	// WebIdentityTokenFile is the token file, relative to the directory.
	WebIdentityTokenFile = "web-identity-token"
	// webIdentityIssuer names the emulated OIDC provider; webIdentityProvider
	// is its IAM ARN in the source account.
	webIdentityIssuer   = "oidc.testenv.local"
	webIdentityProvider = "arn:aws:iam::" + SourceAccount + ":oidc-provider/" + webIdentityIssuer
	webIdentitySubject  = "system:serviceaccount:shuffle:operator"
	webIdentityAudience = "sts.amazonaws.com"
	// Without --token-ttl a token lasts a day, as EKS's do.
	webIdentityDefaultLife = 24 * time.Hour
)

// webIdentityClaims are the condition keys a trust policy may test, as
// IAM fills them from the token.
var webIdentityClaims = map[string][]string{
	webIdentityIssuer + ":aud": {webIdentityAudience},
	webIdentityIssuer + ":sub": {webIdentitySubject},
}

// webIdentityState holds the tokens the provider issued.
type webIdentityState struct {
	mu      sync.Mutex
	life    time.Duration
	tokens  map[string]time.Time // token -> expiry
	current string
}

func newWebIdentityState(ttl time.Duration, now time.Time) *webIdentityState {
	st := &webIdentityState{life: webIdentityDefaultLife, tokens: map[string]time.Time{}}
	if ttl > 0 {
		st.life = ttl
	}
	st.issue(now)
	return st
}

// issue makes a new current token, shaped like the JWT a provider signs.
func (st *webIdentityState) issue(now time.Time) string {
	exp := now.Add(st.life).UTC().Truncate(time.Second)
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "testenv"})
	body, _ := json.Marshal(map[string]any{"iss": "https://" + webIdentityIssuer, "sub": webIdentitySubject,
		"aud": webIdentityAudience, "iat": now.Unix(), "exp": exp.Unix(), "jti": randomString(secretAlphabet[:62], 16)})
	tok := enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "." + randomString(secretAlphabet[:62], 86)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.tokens[tok] = exp
	st.current = tok
	return tok
}

// writeWebIdentityToken rewrites the token file. It does nothing before
// WriteFiles.
func (s *Server) writeWebIdentityToken() error {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if s.opts.Dir == "" {
		return nil
	}
	s.webID.mu.Lock()
	tok := s.webID.current
	s.webID.mu.Unlock()
	return writeAtomic(filepath.Join(s.opts.Dir, WebIdentityTokenFile), []byte(tok), 0o600)
}

// unsignedQuery reports whether a query action is one STS serves without
// a signature.
func unsignedQuery(op string) bool { return op == "AssumeRoleWithWebIdentity" }

func (s *Server) assumeRoleWithWebIdentity(c *call, form url.Values) {
	in, e := parseAssumeRole(form)
	if e != nil {
		c.fail(*e, true)
		return
	}
	tok := form.Get("WebIdentityToken")
	if len(tok) < 4 {
		c.fail(apiErr(400, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"), true)
		return
	}
	s.webID.mu.Lock()
	exp, known := s.webID.tokens[tok]
	s.webID.mu.Unlock()
	now := s.now()
	switch {
	case !known:
		c.fail(apiErr(400, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."), true)
		return
	case !now.Before(exp):
		c.fail(apiErr(400, "ExpiredTokenException", "Token expired: current date/time "+now.UTC().Format(time.RFC3339)+
			" must be before the expiration date/time "+exp.Format(time.RFC3339)), true)
		return
	}
	r := s.iam.role(in.RoleArn)
	if r == nil || !s.trustAdmits(r, "sts:AssumeRoleWithWebIdentity", webIdentityProvider, SourceAccount, webIdentityClaims) {
		s.logf("testenv: AssumeRoleWithWebIdentity of %s refused: no such role, or its trust policy does not admit %s", in.RoleArn, webIdentityProvider)
		c.fail(apiErr(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"), true)
		return
	}
	who, creds := s.roleSession(r, in.SessionName, in.Duration)
	type resp struct {
		XMLName     xml.Name    `xml:"AssumeRoleWithWebIdentityResponse"`
		Xmlns       string      `xml:"xmlns,attr"`
		Subject     string      `xml:"AssumeRoleWithWebIdentityResult>SubjectFromWebIdentityToken"`
		Audience    string      `xml:"AssumeRoleWithWebIdentityResult>Audience"`
		User        assumedUser `xml:"AssumeRoleWithWebIdentityResult>AssumedRoleUser"`
		Credentials stsCreds    `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
		Provider    string      `xml:"AssumeRoleWithWebIdentityResult>Provider"`
		Meta        respMeta    `xml:"ResponseMetadata"`
	}
	writeXML(c.w, 200, resp{Xmlns: stsNS, Subject: webIdentitySubject, Audience: webIdentityAudience,
		User: assumedUser{Arn: who.SessionArn, AssumedRoleId: who.UserId}, Credentials: newSTSCreds(creds),
		Provider: webIdentityIssuer, Meta: respMeta{c.reqID}})
}
