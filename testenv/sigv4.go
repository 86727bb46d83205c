package testenv

// Server-side verification of AWS Signature Version 4 Authorization
// headers, as sent by aws-sdk-go-v2, botocore and the AWS CLI.
//
// The canonical request is rebuilt from the headers the client listed
// in SignedHeaders and nothing else: clients disagree on which headers
// they sign (the Go SDK signs content-length and amz-sdk-*, the CLI does
// not), so re-signing with a client signer would reject valid requests.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

type authErrorKind int

const (
	authMissing      authErrorKind = iota + 1 // no Authorization header / not AWS4-HMAC-SHA256
	authIncomplete                            // header present but malformed (missing Credential/SignedHeaders/Signature, bad scope)
	authUnknownKey                            // access key id not known
	authBadSignature                          // signature mismatch
	authSkew                                  // X-Amz-Date more than 15 minutes from now
)

func (k authErrorKind) String() string {
	switch k {
	case authMissing:
		return "authMissing"
	case authIncomplete:
		return "authIncomplete"
	case authUnknownKey:
		return "authUnknownKey"
	case authBadSignature:
		return "authBadSignature"
	case authSkew:
		return "authSkew"
	}
	return "authErrorKind(" + strconv.Itoa(int(k)) + ")"
}

type authError struct {
	kind authErrorKind
	msg  string
}

func (e *authError) Error() string { return e.msg }

// sigCredential is the parsed Credential scope of a request.
type sigCredential struct {
	AccessKey, Date, Region, Service string
}

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	sigV4TimeFormat = "20060102T150405Z"
	sigV4DateFormat = "20060102"
	sigV4MaxSkew    = 15 * time.Minute

	sigV4MsgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	sigV4MsgUnknownKey = "The security token included in the request is invalid."
)

// verifySigV4 verifies the SigV4 Authorization header of r. body is the
// complete request body (already read by the caller; r.Body must not be
// read). secretFor returns the secret access key for an access key id.
// now is the server clock.
//
// Checks run in this order: header syntax (authMissing, authIncomplete),
// access key (authUnknownKey), signature (authBadSignature), clock skew
// (authSkew). The credential scope is returned whenever it was parsed,
// also alongside an error.
func verifySigV4(r *http.Request, body []byte, secretFor func(akid string) (string, bool), now time.Time) (sigCredential, *authError) {
	h, ae := parseSigV4Header(r)
	if ae != nil {
		return sigCredential{}, ae
	}
	cred, ae := h.parseScope()
	if ae != nil {
		return cred, ae
	}
	secret, ok := secretFor(cred.AccessKey)
	if !ok {
		return cred, &authError{authUnknownKey, sigV4MsgUnknownKey}
	}
	amzDate := h.amzDate
	if !strings.HasPrefix(amzDate, cred.Date) {
		return cred, &authError{authBadSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			cred.Date + "' != '" + amzDate[:min(8, len(amzDate))] + "', from '" + amzDate + "'."}
	}
	credScope := strings.Join(h.scope[1:], "/")
	canonical := sigV4CanonicalRequest(r, body, h.names, h.signedHeaders)
	stringToSign := sigV4Algorithm + "\n" + amzDate + "\n" + credScope + "\n" + sigV4SHA256Hex([]byte(canonical))
	key := sigV4SigningKey(secret, cred.Date, cred.Region, cred.Service)
	want := hex.EncodeToString(sigV4HMAC(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(h.signature)) {
		return cred, &authError{authBadSignature, sigV4MsgBadSignature}
	}
	return cred, checkSigV4Skew(now, h.reqTime, amzDate)
}

// sigV4Header is a request's Authorization header, read.
type sigV4Header struct {
	auth          string            // the header as sent
	params        map[string]string // Credential, SignedHeaders, Signature
	amzDate       string            // X-Amz-Date, or Date in that format
	reqTime       time.Time
	scope         []string // Credential split at /
	signedHeaders string
	names         []string // SignedHeaders split at ;
	signature     string   // lower-cased
}

// parseSigV4Header reads the Authorization header's parameters and the
// request's time (X-Amz-Date, or the Date header when that is absent).
func parseSigV4Header(r *http.Request) (sigV4Header, *authError) {
	h := sigV4Header{auth: strings.TrimSpace(r.Header.Get("Authorization")), params: map[string]string{}}
	if h.auth == "" {
		return h, &authError{authMissing, "Missing Authentication Token"}
	}
	algo, rest, _ := strings.Cut(h.auth, " ")
	if algo != sigV4Algorithm {
		return h, &authError{authMissing,
			"Unsupported Authorization type " + strconv.Quote(algo) + ", expected " + sigV4Algorithm}
	}
	// Parse "Credential=..., SignedHeaders=..., Signature=...".
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		h.params[k] = v
	}
	var missing []string
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if h.params[name] == "" {
			missing = append(missing, "Authorization header requires '"+name+"' parameter.")
		}
	}
	h.amzDate = r.Header.Get("X-Amz-Date")
	var dateErr string
	if h.amzDate != "" {
		t, err := time.Parse(sigV4TimeFormat, h.amzDate)
		if err != nil {
			dateErr = "Date must be in ISO-8601 'basic format'. Got '" + h.amzDate + "'."
		}
		h.reqTime = t
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			dateErr = "Date header is not a valid HTTP date: '" + d + "'."
		}
		h.reqTime = t.UTC()
		h.amzDate = h.reqTime.Format(sigV4TimeFormat)
	} else {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return h, &authError{authIncomplete, strings.Join(missing, " ") + " Authorization=" + h.auth}
	}
	if dateErr != "" {
		return h, &authError{authIncomplete, dateErr}
	}
	return h, nil
}

// parseScope checks the credential scope, the signed headers and the
// form of the signature.
func (h *sigV4Header) parseScope() (sigCredential, *authError) {
	h.scope = strings.Split(h.params["Credential"], "/")
	scope := h.scope
	if len(scope) != 5 || scope[0] == "" || scope[2] == "" || scope[3] == "" {
		return sigCredential{}, &authError{authIncomplete, "Credential should be of the form " +
			"'<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request', got '" + h.params["Credential"] + "'."}
	}
	cred := sigCredential{AccessKey: scope[0], Date: scope[1], Region: scope[2], Service: scope[3]}
	if scope[4] != sigV4Terminator {
		return cred, &authError{authIncomplete,
			"Credential should be scoped with a valid terminator: 'aws4_request', not '" + scope[4] + "'."}
	}
	if _, err := time.Parse(sigV4DateFormat, cred.Date); err != nil {
		return cred, &authError{authIncomplete, "Credential should be scoped to a valid date, not '" + cred.Date + "'."}
	}
	h.signedHeaders = h.params["SignedHeaders"]
	h.names = strings.Split(h.signedHeaders, ";")
	hasHost := false
	for _, n := range h.names {
		if n == "" || n != strings.ToLower(n) {
			return cred, &authError{authIncomplete, "Invalid SignedHeaders '" + h.signedHeaders + "'."}
		}
		hasHost = hasHost || n == "host"
	}
	if !hasHost {
		return cred, &authError{authIncomplete, "'Host' must be a 'SignedHeader' in the AWS Authorization."}
	}
	h.signature = strings.ToLower(h.params["Signature"])
	if _, err := hex.DecodeString(h.signature); err != nil || len(h.signature) != 2*sha256.Size {
		return cred, &authError{authIncomplete, "Signature must be 64 hexadecimal characters, got '" + h.params["Signature"] + "'."}
	}
	return cred, nil
}

// checkSigV4Skew refuses a request more than sigV4MaxSkew from now.
func checkSigV4Skew(now, reqTime time.Time, amzDate string) *authError {
	if d := now.Sub(reqTime); d > sigV4MaxSkew {
		return &authError{authSkew, "Signature expired: " + amzDate + " is now earlier than " +
			now.Add(-sigV4MaxSkew).UTC().Format(sigV4TimeFormat) + " (" + now.UTC().Format(sigV4TimeFormat) + " - 15 min.)"}
	} else if d < -sigV4MaxSkew {
		return &authError{authSkew, "Signature not yet current: " + amzDate + " is still later than " +
			now.Add(sigV4MaxSkew).UTC().Format(sigV4TimeFormat) + " (" + now.UTC().Format(sigV4TimeFormat) + " + 15 min.)"}
	}
	return nil
}

// sigV4CanonicalRequest builds the canonical request of r over the
// headers in names (the already validated SignedHeaders list).
func sigV4CanonicalRequest(r *http.Request, body []byte, names []string, signedHeaders string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')

	// The escaped path is escaped once more, as the SDKs do for every
	// service but S3: "%3A" in the request line becomes "%253A".
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(sigV4Escape(path, true))
	b.WriteByte('\n')

	b.WriteString(sigV4CanonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')

	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(sigV4HeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')

	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		b.WriteString(h)
	} else {
		b.WriteString(sigV4SHA256Hex(body))
	}
	return b.String()
}

// sigV4HeaderValue is the canonical value of the (lower-case) header
// name: every value trimmed, inner whitespace runs collapsed to one
// space, repeated values joined with ",".
func sigV4HeaderValue(r *http.Request, name string) string {
	switch name {
	case "host":
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		return strings.Join(strings.Fields(host), " ")
	case "content-length":
		if r.Header.Get("Content-Length") == "" && r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
	}
	values := r.Header.Values(name)
	clean := make([]string, len(values))
	for i, v := range values {
		clean[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(clean, ",")
}

// sigV4CanonicalQuery encodes every key and value of rawQuery
// (unreserved characters kept, space as %20) and sorts the pairs by key,
// then by value.
func sigV4CanonicalQuery(rawQuery string) string {
	values, _ := url.ParseQuery(rawQuery) // keeps the well-formed pairs
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(values))
	for k, vs := range values {
		ek := sigV4Escape(k, false)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, sigV4Escape(v, false)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// sigV4Escape percent-encodes every byte of s except the unreserved
// characters A-Z a-z 0-9 - . _ ~ (and '/' when keepSlash is set), with
// upper-case hex digits.
func sigV4Escape(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func sigV4SigningKey(secret, date, region, service string) []byte {
	k := sigV4HMAC([]byte("AWS4"+secret), date)
	k = sigV4HMAC(k, region)
	k = sigV4HMAC(k, service)
	return sigV4HMAC(k, sigV4Terminator)
}

func sigV4HMAC(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sigV4SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
