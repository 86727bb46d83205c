package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
)

// The KMS API (JSON 1.1: POST /, X-Amz-Target: TrentService.<Op>) for
// both accounts: ListKeys, ListAliases, DescribeKey, GetKeyPolicy,
// PutKeyPolicy, CreateAlias, DeleteAlias. Every call is authorised
// against the caller's IAM policies and, for a key, the key's policy
// (kmsAuthorize). The state is in kms_store.go.

// kmsTarget is the X-Amz-Target prefix of KMS operations.
const kmsTarget = "TrentService."

// kmsStatus is the HTTP status KMS answers each error with (the SDK's
// model; AccessDeniedException and ValidationException are 400 like
// every JSON 1.1 client error).
var kmsStatus = map[string]int{
	"NotFoundException": 404, "AlreadyExistsException": 409, "KMSInvalidStateException": 409,
	"KMSInternalException": 500, "DependencyTimeoutException": 503,
}

func kmsErr(code, msg string) apiError {
	st, ok := kmsStatus[code]
	if !ok {
		st = http.StatusBadRequest
	}
	return apiErr(st, code, msg)
}

// kmsFail writes a KMS error: the type in X-Amzn-ErrorType and __type,
// the text in "message".
func kmsFail(c *call, e apiError) {
	h := c.w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-ErrorType", e.Code)
	c.w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	_, _ = c.w.Write(b)
}

func kmsReply(c *call, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(buf.Bytes())
}

// serveKMS runs one authenticated KMS call.
func (s *Server) serveKMS(c *call) {
	ops := map[string]func(*call) (any, *apiError){
		"ListKeys": s.kmsListKeys, "ListAliases": s.kmsListAliases, "DescribeKey": s.kmsDescribeKey,
		"GetKeyPolicy": s.kmsGetKeyPolicy, "PutKeyPolicy": s.kmsPutKeyPolicy,
		"CreateAlias": s.kmsCreateAlias, "DeleteAlias": s.kmsDeleteAlias,
	}
	op := ops[c.op]
	if op == nil {
		kmsFail(c, kmsErr("UnknownOperationException", "testenv's KMS does not implement the operation "+strconv.Quote(c.op)))
		return
	}
	s.w.mu.Lock()
	out, e := op(c)
	s.w.mu.Unlock()
	if e != nil {
		kmsFail(c, *e)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	kmsReply(c, out)
}

// kmsDecode reads the request body; an empty body is an empty object.
func kmsDecode(c *call, v any) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return kmsErr("SerializationException", "could not parse the request body as JSON: "+err.Error()).ptr()
	}
	return nil
}

// kmsAuthorize checks that the caller's IAM policies and the key's
// policy both allow action on k. Same-account callers need both too:
// the default key policy delegates to IAM (see docs/testenv.md).
func kmsAuthorize(c *call, action string, k *KMSKey) *apiError {
	if e := c.authorize(action, k.Arn, map[string][]string{"kms:CallerAccount": {c.p.Account}}); e != nil {
		return kmsErr("AccessDeniedException", e.Message).ptr()
	}
	switch keyPolicyDecision(k, action, c.p) {
	case "allowed":
		return nil
	case "explicitDeny":
		return kmsErr("AccessDeniedException", "User: "+c.p.SessionArn+" is not authorized to perform: "+action+" on resource: "+k.Arn+" with an explicit deny in a resource-based policy").ptr()
	}
	return kmsErr("AccessDeniedException", "User: "+c.p.SessionArn+" is not authorized to perform: "+action+" on resource: "+k.Arn+" because no resource-based policy allows the "+action+" action").ptr()
}

// kmsListAuthorize checks an action without resource-level permissions.
func kmsListAuthorize(c *call, action string) *apiError {
	if e := c.authorize(action, "*", nil); e != nil {
		return kmsErr("AccessDeniedException", e.Message).ptr()
	}
	return nil
}

// kmsOwnKey resolves a KeyId for an operation KMS does not allow across
// accounts (GetKeyPolicy, PutKeyPolicy, ListAliases, CreateAlias): a key
// id or key ARN in the caller's account.
func (s *Server) kmsOwnKey(c *call, keyID, action string) (*KMSKey, *apiError) {
	ref, e := s.parseKeyRef(keyID, c.p.Account)
	if e != nil {
		return nil, e
	}
	if ref.alias != "" {
		return nil, kmsErr("NotFoundException", "Invalid keyId "+keyID+": "+action+" takes a key id or key ARN, not an alias").ptr()
	}
	if ref.acct != c.p.Account {
		return nil, kmsErr("AccessDeniedException", "User: "+c.p.SessionArn+" is not authorized to perform: "+action+" on resource: "+keyID+
			" because "+action+" cannot be used on a key in another account").ptr()
	}
	return s.lookupKey(ref, keyID)
}

type kmsListIn struct {
	KeyId  string
	Limit  *int
	Marker string
}

// kmsPage is the window [from, to) of n items a Limit and Marker ask
// for, with the next marker ("" on the last page). Limit is 1-1000;
// a page holds at most max.
func kmsPage(in kmsListIn, n, def, max int, kind string) (from, to int, next string, e *apiError) {
	limit := def
	if in.Limit != nil {
		limit = *in.Limit
		if limit < 1 || limit > 1000 {
			return 0, 0, "", kmsErr("ValidationException", "1 validation error detected: Value '"+strconv.Itoa(limit)+
				"' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000").ptr()
		}
	}
	limit = min(limit, max)
	if in.Marker != "" {
		i, ok := decodeToken(kind, in.Marker)
		if !ok || i > n {
			return 0, 0, "", kmsErr("InvalidMarkerException", "The marker "+strconv.Quote(in.Marker)+" is not valid; start again without it").ptr()
		}
		from = i
	}
	to = min(from+limit, n)
	if to < n {
		next = encodeToken(kind, to)
	}
	return from, to, next, nil
}

var aliasNameRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)
