package testenv

// STS AssumeRole: a caller with valid keys asks for a session of a role.
// The role's trust policy must admit the caller and the caller's own
// identity policies must allow sts:AssumeRole on the role (testenv asks
// for both always; AWS waives the second only when the trust policy
// names the caller itself in the same account). The session's principal
// is assumed-role/ROLE/SESSION, evaluated against the role's policies
// like any other caller.

import (
	"encoding/xml"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// assumeMinSeconds and roleMaxSessionSeconds bound DurationSeconds:
	// 900 s is STS's floor, 3600 s every testenv role's MaxSessionDuration
	// (also the ceiling of a role-chained session).
	assumeMinSeconds      = 900
	roleMaxSessionSeconds = 3600
	// stsMaxSeconds is the largest MaxSessionDuration IAM allows.
	stsMaxSeconds = 43200
)

var roleSessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)

// assumeRequest is a validated AssumeRole request.
type assumeRequest struct {
	RoleArn, SessionName string
	Duration             time.Duration
}

// parseAssumeRole validates the request's parameters as STS does, with
// ValidationError for a value out of bounds.
func parseAssumeRole(form url.Values) (assumeRequest, *apiError) {
	invalid := func(msg string) *apiError {
		e := apiErr(400, "ValidationError", msg)
		return &e
	}
	constraint := func(value, field, rule string) *apiError {
		return invalid("1 validation error detected: Value '" + value + "' at '" + field + "' failed to satisfy constraint: " + rule)
	}
	in := assumeRequest{RoleArn: form.Get("RoleArn"), SessionName: form.Get("RoleSessionName"), Duration: roleMaxSessionSeconds * time.Second}
	switch {
	case in.RoleArn == "":
		return in, invalid("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case len(in.RoleArn) < 20 || len(in.RoleArn) > 2048:
		return in, constraint(in.RoleArn, "roleArn", "Member must have length between 20 and 2048")
	case in.SessionName == "":
		return in, invalid("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case len(in.SessionName) < 2:
		return in, constraint(in.SessionName, "roleSessionName", "Member must have length greater than or equal to 2")
	case len(in.SessionName) > 64:
		return in, constraint(in.SessionName, "roleSessionName", "Member must have length less than or equal to 64")
	case !roleSessionNameRE.MatchString(in.SessionName):
		return in, constraint(in.SessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if f := strings.SplitN(in.RoleArn, ":", 6); len(f) != 6 || f[0] != "arn" || f[2] != "iam" || !strings.HasPrefix(f[5], "role/") {
		return in, invalid("RoleArn " + in.RoleArn + " is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
	}
	if form.Get("Policy") != "" || len(members(form, "PolicyArns")) > 0 || form.Get("PolicyArns.member.1.arn") != "" {
		return in, invalid("testenv does not emulate session policies (Policy, PolicyArns): leave them out")
	}
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return in, constraint(v, "durationSeconds", "Member must be an integer")
		case n < assumeMinSeconds:
			return in, constraint(v, "durationSeconds", "Member must have value greater than or equal to 900")
		case n > stsMaxSeconds:
			return in, constraint(v, "durationSeconds", "Member must have value less than or equal to 43200")
		case n > roleMaxSessionSeconds:
			return in, invalid("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
		in.Duration = time.Duration(n) * time.Second
	}
	return in, nil
}

// roleSession issues the credentials of a session of role r: they
// live for duration, or with --token-ttl as fast as the keys testenv
// rehearses lapse.
func (s *Server) roleSession(r *role, name string, duration time.Duration) (*principal, Credentials) {
	if ttl := s.opts.TokenTTL; ttl > 0 && ttl < duration {
		duration = ttl
	}
	who := sessionOf(r, name)
	return who, s.creds.issueSession(who, duration)
}

func (s *Server) assumeRole(c *call, form url.Values) {
	in, e := parseAssumeRole(form)
	if e != nil {
		c.fail(*e, true)
		return
	}
	r, e := s.mayAssume(c, in.RoleArn)
	if e != nil {
		c.fail(*e, true)
		return
	}
	who, creds := s.roleSession(r, in.SessionName, in.Duration)
	type resp struct {
		XMLName     xml.Name    `xml:"AssumeRoleResponse"`
		Xmlns       string      `xml:"xmlns,attr"`
		User        assumedUser `xml:"AssumeRoleResult>AssumedRoleUser"`
		Credentials stsCreds    `xml:"AssumeRoleResult>Credentials"`
		Meta        respMeta    `xml:"ResponseMetadata"`
	}
	writeXML(c.w, 200, resp{Xmlns: stsNS, User: assumedUser{Arn: who.SessionArn, AssumedRoleId: who.UserId},
		Credentials: newSTSCreds(creds), Meta: respMeta{c.reqID}})
}

// assumedUser and stsCreds are the AssumedRoleUser and Credentials
// elements of STS answers.
type assumedUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleId string `xml:"AssumedRoleId"`
}

type stsCreds struct {
	AccessKeyId     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func newSTSCreds(c Credentials) stsCreds {
	return stsCreds{AccessKeyId: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Expiration: c.Expires.UTC().Format(time.RFC3339)}
}

// trustAdmits evaluates role r's trust policy for a principal (an ARN)
// of account acct asking for action, with condition keys ctx.
func (s *Server) trustAdmits(r *role, action, principalArn, acct string, ctx map[string][]string) bool {
	s.iam.mu.RLock()
	trust := r.Trust
	s.iam.mu.RUnlock()
	doc, err := ParsePolicy(trust)
	if err != nil {
		s.logf("testenv: the trust policy of %s does not parse: %v", r.Arn, err)
		return false
	}
	res := EvaluateResource(NamedPolicy{Id: "trust", Type: "Resource Policy", Doc: doc}, EvalInput{
		Action: action, Resource: r.Arn, Principal: principalArn, PrincipalAccount: acct, Context: ctx,
	})
	return res.Decision == "allowed"
}

// mayAssume returns the role when its trust policy admits the caller and
// the caller's identity policies allow sts:AssumeRole on it. Otherwise
// the answer is AccessDenied, as STS gives it for a role that does not
// exist too; the log says which check refused.
func (s *Server) mayAssume(c *call, arn string) (*role, *apiError) {
	denied := func(why string) *apiError {
		s.logf("testenv: AssumeRole of %s by %s refused: %s", arn, c.p.SessionArn, why)
		e := apiErr(403, "AccessDenied", "User: "+c.p.SessionArn+" is not authorized to perform: sts:AssumeRole on resource: "+arn)
		return &e
	}
	r := s.iam.role(arn)
	if r == nil {
		return nil, denied("no such role")
	}
	if !s.trustAdmits(r, "sts:AssumeRole", c.p.SessionArn, c.p.Account, nil) {
		return nil, denied("the role's trust policy does not admit the caller")
	}
	if e := c.authorize("sts:AssumeRole", arn, nil); e != nil {
		s.logf("testenv: AssumeRole of %s by %s refused: the caller's identity policies do not allow sts:AssumeRole on it", arn, c.p.SessionArn)
		return nil, e
	}
	return r, nil
}
