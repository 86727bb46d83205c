package testenv

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// queryAction returns the Action of a query-protocol form body.
func queryAction(body []byte) string {
	v, err := url.ParseQuery(string(body))
	if err != nil || v.Get("Action") == "" {
		return "Unknown"
	}
	return v.Get("Action")
}

const (
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
)

type xmlError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestId string `xml:"RequestId"`
}

func writeQueryError(w http.ResponseWriter, e apiError, reqID string) {
	var x xmlError
	x.Xmlns = iamNS
	x.Error.Type = "Sender"
	if e.Status >= 500 {
		x.Error.Type = "Receiver"
	}
	x.Error.Code, x.Error.Message, x.RequestId = e.Code, e.Message, reqID
	if x.Error.Code == "AccessDeniedException" {
		x.Error.Code = "AccessDenied"
	}
	writeXML(w, e.Status, x)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

type respMeta struct {
	RequestId string `xml:"RequestId"`
}

func (s *Server) serveQuery(c *call, service string) {
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		c.fail(apiErr(400, "MalformedQueryString", "could not parse the form body: "+err.Error()), true)
		return
	}
	action := form.Get("Action")
	switch {
	case action == "GetCallerIdentity" && service != "iam":
		s.getCallerIdentity(c)
	case action == "AssumeRole" && service != "iam":
		s.assumeRole(c, form)
	case action == "AssumeRoleWithWebIdentity" && service != "iam":
		s.assumeRoleWithWebIdentity(c, form)
	case action == "SimulatePrincipalPolicy" && service != "sts":
		s.simulatePrincipalPolicy(c, form)
	case action == "GetRole" && service != "sts":
		s.getRole(c, form)
	default:
		c.fail(apiErr(400, "InvalidAction", "Could not find operation "+action+" for version "+form.Get("Version")+" in service "+service), true)
	}
}

func (s *Server) getCallerIdentity(c *call) {
	// GetCallerIdentity needs no permission, as on AWS.
	type result struct {
		Arn     string `xml:"Arn"`
		UserId  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	type resp struct {
		XMLName xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  result   `xml:"GetCallerIdentityResult"`
		Meta    respMeta `xml:"ResponseMetadata"`
	}
	writeXML(c.w, 200, resp{Xmlns: stsNS, Result: result{Arn: c.p.SessionArn, UserId: c.p.UserId, Account: c.p.Account}, Meta: respMeta{c.reqID}})
}

func (s *Server) getRole(c *call, form url.Values) {
	name := form.Get("RoleName")
	if name == "" {
		c.fail(apiErr(400, "ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"), true)
		return
	}
	arn := roleArn(c.p.Account, name)
	if e := c.authorize("iam:GetRole", arn, nil); e != nil {
		c.fail(*e, true)
		return
	}
	r := s.iam.role(arn)
	if r == nil {
		// GetRole takes a name without path; find it by its last segment.
		s.iam.mu.RLock()
		for _, cand := range s.iam.roles {
			if cand.Account == c.p.Account && lastSegment(cand.Name) == name {
				r = cand
			}
		}
		s.iam.mu.RUnlock()
	}
	if r == nil {
		c.fail(apiErr(404, "NoSuchEntity", "The role with name "+name+" cannot be found."), true)
		return
	}
	type roleX struct {
		Path                     string `xml:"Path"`
		RoleName                 string `xml:"RoleName"`
		RoleId                   string `xml:"RoleId"`
		Arn                      string `xml:"Arn"`
		CreateDate               string `xml:"CreateDate"`
		AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
		MaxSessionDuration       int    `xml:"MaxSessionDuration"`
	}
	type resp struct {
		XMLName xml.Name `xml:"GetRoleResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Role    roleX    `xml:"GetRoleResult>Role"`
		Meta    respMeta `xml:"ResponseMetadata"`
	}
	path := "/"
	if i := strings.LastIndex(r.Name, "/"); i >= 0 {
		path = "/" + r.Name[:i+1]
	}
	writeXML(c.w, 200, resp{Xmlns: iamNS, Role: roleX{Path: path, RoleName: lastSegment(r.Name), RoleId: r.Id, Arn: r.Arn,
		CreateDate: r.Created.UTC().Format(time.RFC3339), AssumeRolePolicyDocument: url.QueryEscape(r.Trust), MaxSessionDuration: 3600}, Meta: respMeta{c.reqID}})
}

// members returns the values of a query list parameter (Name.member.N).
func members(form url.Values, name string) []string {
	type kv struct {
		n int
		v string
	}
	var out []kv
	prefix := name + ".member."
	for k, vs := range form {
		if !strings.HasPrefix(k, prefix) || strings.Contains(k[len(prefix):], ".") {
			continue
		}
		n, err := strconv.Atoi(k[len(prefix):])
		if err == nil && len(vs) > 0 {
			out = append(out, kv{n, vs[0]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	res := make([]string, len(out))
	for i, x := range out {
		res[i] = x.v
	}
	return res
}

func (s *Server) simulatePrincipalPolicy(c *call, form url.Values) {
	src := form.Get("PolicySourceArn")
	actions := members(form, "ActionNames")
	if src == "" || len(actions) == 0 {
		c.fail(apiErr(400, "ValidationError", "PolicySourceArn and ActionNames are required"), true)
		return
	}
	if e := c.authorize("iam:SimulatePrincipalPolicy", src, nil); e != nil {
		c.fail(*e, true)
		return
	}
	// Accept a role ARN or an assumed-role session ARN of the caller's account.
	arn := src
	if strings.HasPrefix(src, "arn:aws:sts::") && strings.Contains(src, ":assumed-role/") {
		parts := strings.Split(src, "/")
		acct := strings.Split(src, ":")[4]
		arn = roleArn(acct, parts[1])
	}
	r := s.iam.role(arn)
	if r == nil || r.Account != c.p.Account {
		c.fail(apiErr(404, "NoSuchEntity", "PolicySourceArn "+src+" does not name a role or user in account "+c.p.Account), true)
		return
	}
	resources := members(form, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	ctx := simulationContext(form)
	s.iam.mu.RLock()
	policies := r.Policies
	s.iam.mu.RUnlock()
	var results []simResult
	for _, act := range actions {
		for _, res := range resources {
			ev := EvaluateIdentity(policies, EvalInput{Action: act, Resource: res, Context: ctx, Principal: arn, PrincipalAccount: r.Account})
			results = append(results, newSimResult(act, res, ev))
		}
	}
	type resp struct {
		XMLName     xml.Name    `xml:"SimulatePrincipalPolicyResponse"`
		Xmlns       string      `xml:"xmlns,attr"`
		Results     []simResult `xml:"SimulatePrincipalPolicyResult>EvaluationResults>member"`
		IsTruncated bool        `xml:"SimulatePrincipalPolicyResult>IsTruncated"`
		Meta        respMeta    `xml:"ResponseMetadata"`
	}
	writeXML(c.w, 200, resp{Xmlns: iamNS, Results: results, Meta: respMeta{c.reqID}})
}

// simulationContext reads a simulation's ContextEntries, keyed by
// lower-cased name.
func simulationContext(form url.Values) map[string][]string {
	ctx := map[string][]string{}
	for i := 1; ; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i) + "."
		key := form.Get(p + "ContextKeyName")
		if key == "" {
			break
		}
		ctx[strings.ToLower(key)] = members(form, p+"ContextKeyValues")
	}
	return ctx
}

type simPos struct {
	Line   int `xml:"Line"`
	Column int `xml:"Column"`
}

type simMatched struct {
	SourcePolicyId   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
	StartPosition    simPos `xml:"StartPosition"`
	EndPosition      simPos `xml:"EndPosition"`
}

// simResult is one EvaluationResults member of SimulatePrincipalPolicy.
type simResult struct {
	EvalActionName       string       `xml:"EvalActionName"`
	EvalResourceName     string       `xml:"EvalResourceName"`
	EvalDecision         string       `xml:"EvalDecision"`
	MatchedStatements    []simMatched `xml:"MatchedStatements>member"`
	MissingContextValues []string     `xml:"MissingContextValues>member"`
}

func newSimResult(act, res string, ev EvalResult) simResult {
	rr := simResult{EvalActionName: act, EvalResourceName: res, EvalDecision: ev.Decision, MissingContextValues: ev.MissingContext}
	rr.MatchedStatements = []simMatched{}
	if rr.MissingContextValues == nil {
		rr.MissingContextValues = []string{}
	}
	for _, m := range ev.Matched {
		rr.MatchedStatements = append(rr.MatchedStatements, simMatched{
			SourcePolicyId: m.PolicyId, SourcePolicyType: "IAM Policy",
			StartPosition: simPos{m.Statement.StartLine, m.Statement.StartCol},
			EndPosition:   simPos{m.Statement.EndLine, m.Statement.EndCol},
		})
	}
	return rr
}
