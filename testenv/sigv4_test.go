package testenv

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigTestAKID   = "ASIASIGV4TEST"
	sigTestSecret = "sigv4/test+SECRET/key"
	sigTestToken  = "session-token/with+odd=chars"
)

// sigTestNow is the server clock in these tests.
var sigTestNow = time.Date(2026, 11, 26, 9, 19, 4, 0, time.UTC)

func sigTestSecretFor(akid string) (string, bool) {
	switch akid {
	case sigTestAKID:
		return sigTestSecret, true
	case "AKIDEXAMPLE": // the key of the AWS documentation example
		return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", true
	}
	return "", false
}

func sigTestHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkSign signs r with the aws-sdk-go-v2 signer, the client-side oracle.
func sdkSign(t *testing.T, r *http.Request, body []byte, akid, secret, service, region string, at time.Time) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: sigTestToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigTestHash(body), service, region, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// manualSign is an independent, minimal signer following the AWS
// documentation, signing exactly the given headers the way botocore
// does. dateHeader names the header holding the request time.
func manualSign(r *http.Request, body []byte, signed []string, secret, scope, dateHeader string) {
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	for i := 0; i < len(path); i++ {
		c := path[i]
		if strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/", c) >= 0 {
			canon.WriteByte(c)
		} else {
			fmt.Fprintf(&canon, "%%%02X", c)
		}
	}
	canon.WriteString("\n" + strings.ReplaceAll(r.URL.Query().Encode(), "+", "%20") + "\n")
	sort.Strings(signed)
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n" + sigTestHash(body))

	stamp := r.Header.Get(dateHeader)
	if dateHeader == "Date" {
		tm, _ := http.ParseTime(stamp)
		stamp = tm.UTC().Format("20060102T150405Z")
	}
	sts := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + sigTestHash([]byte(canon.String()))
	key := []byte("AWS4" + secret)
	for _, part := range append(strings.Split(scope, "/"), sts) {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	r.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%x",
		sigTestAKID, scope, strings.Join(signed, ";"), key))
}

type sigResult struct {
	cred sigCredential
	err  *authError
}

// newVerifyServer starts a server that runs verifySigV4 on every request
// it receives and reports the outcome on the returned channel, so that
// requests are checked as the emulator will see them off the wire.
func newVerifyServer(t *testing.T) (*httptest.Server, chan sigResult) {
	results := make(chan sigResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cred, err := verifySigV4(r, body, sigTestSecretFor, sigTestNow)
		results <- sigResult{cred, err}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, results
}

func sendForVerify(t *testing.T, r *http.Request, results chan sigResult) sigResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-results
}

func sigTestRequest(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sigWantOK(t *testing.T, what string, res sigResult) {
	t.Helper()
	if res.err != nil {
		t.Errorf("%s: got %v (%v), want success", what, res.err.kind, res.err)
	}
}

func sigWantKind(t *testing.T, what string, err *authError, kind authErrorKind) {
	t.Helper()
	if err == nil || err.kind != kind {
		t.Errorf("%s: got %v, want %v", what, err, kind)
	}
}

const sigTestARNPath = "/backup-vaults/v/recovery-points/arn%3Aaws%3Aec2%3Aus-east-1%3A%3Asnapshot%2Fsnap-0123"

func TestSigV4SDKOracleOverWire(t *testing.T) {
	srv, results := newVerifyServer(t)

	// GET with an encoded ARN in the path and a query with ':' in a
	// timestamp, a space, a '+', a repeated key and an empty value.
	get := sigTestRequest(t, "GET", srv.URL+sigTestARNPath+"?byCreatedAfter=2026-11-26T09%3A19%3A04Z&byCreatedBefore=2026-11-27T00:00:00Z"+
		"&name=zed&name=a%20b&tag=x%2By~z&empty=&maxResults=10", nil)
	sdkSign(t, get, nil, sigTestAKID, sigTestSecret, "backup", "eu-west-1", sigTestNow)
	res := sendForVerify(t, get, results)
	sigWantOK(t, "GET encoded ARN", res)
	if want := (sigCredential{sigTestAKID, "20261126", "eu-west-1", "backup"}); res.cred != want {
		t.Errorf("credential = %+v, want %+v", res.cred, want)
	}

	// PUT with a JSON body: the SDK also signs content-length.
	body := []byte(`{"BackupVaultTags":{"team":"a b"},"EncryptionKeyArn":"arn:aws:kms:eu-west-1:111111111111:key/k"}`)
	put := sigTestRequest(t, "PUT", srv.URL+"/backup-vaults/my-vault", body)
	put.Header.Set("Content-Type", "application/json")
	sdkSign(t, put, body, sigTestAKID, sigTestSecret, "backup", "eu-west-1", sigTestNow)
	if !strings.Contains(put.Header.Get("Authorization"), "content-length") {
		t.Fatalf("oracle did not sign content-length: %s", put.Header.Get("Authorization"))
	}
	sigWantOK(t, "PUT JSON", sendForVerify(t, put, results))

	// POST form body, as the Go SDK sends STS/IAM query calls.
	form := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	post := sigTestRequest(t, "POST", srv.URL+"/", form)
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sdkSign(t, post, form, sigTestAKID, sigTestSecret, "sts", "eu-west-1", sigTestNow)
	res = sendForVerify(t, post, results)
	sigWantOK(t, "POST sts form", res)
	if res.cred.Service != "sts" || res.cred.Region != "eu-west-1" {
		t.Errorf("credential = %+v", res.cred)
	}

	// The same body tampered on the wire (same length, so only the
	// payload hash differs).
	post = sigTestRequest(t, "POST", srv.URL+"/", form)
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sdkSign(t, post, form, sigTestAKID, sigTestSecret, "sts", "eu-west-1", sigTestNow)
	post.Body = io.NopCloser(strings.NewReader("Action=GetCallerIdentity&Version=2011-06-16"))
	res = sendForVerify(t, post, results)
	sigWantKind(t, "tampered body on the wire", res.err, authBadSignature)
}

func TestSigV4PathIsEscapedTwice(t *testing.T) {
	r := sigTestRequest(t, "GET", "http://localhost:4566"+sigTestARNPath+"?b=2&a=z&a=a%20b&a=1&t=~x", nil)
	canon := sigV4CanonicalRequest(r, nil, []string{"host"}, "host")
	lines := strings.Split(canon, "\n")
	wantPath := "/backup-vaults/v/recovery-points/arn%253Aaws%253Aec2%253Aus-east-1%253A%253Asnapshot%252Fsnap-0123"
	if lines[1] != wantPath {
		t.Errorf("canonical path = %q, want %q", lines[1], wantPath)
	}
	if want := "a=1&a=a%20b&a=z&b=2&t=~x"; lines[2] != want {
		t.Errorf("canonical query = %q, want %q", lines[2], want)
	}
	r = sigTestRequest(t, "GET", "http://localhost:4566", nil)
	if got := strings.Split(sigV4CanonicalRequest(r, nil, []string{"host"}, "host"), "\n")[1]; got != "/" {
		t.Errorf("empty path canonicalised to %q, want /", got)
	}
}

// TestSigV4AWSDocExample checks the worked example of the AWS SigV4
// documentation (IAM ListUsers), whose signature is published.
func TestSigV4AWSDocExample(t *testing.T) {
	const docSig = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	r := sigTestRequest(t, "GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date, Signature="+docSig)
	docTime := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	if _, err := verifySigV4(r, nil, sigTestSecretFor, docTime); err != nil {
		t.Errorf("AWS documentation example: %v", err)
	}
	// The signature is checked before the clock.
	_, err := verifySigV4(r, nil, sigTestSecretFor, sigTestNow)
	sigWantKind(t, "documentation example, today", err, authSkew)
}

// TestSigV4BotocoreSignedHeaders covers a request signing only
// content-type;host;x-amz-date;x-amz-security-token, as AWS CLI 2 does.
func TestSigV4BotocoreSignedHeaders(t *testing.T) {
	srv, results := newVerifyServer(t)
	form := []byte("Action=SimulatePrincipalPolicy&Version=2010-05-08&ActionNames.member.1=backup%3AStartCopyJob")
	signed := []string{"content-type", "host", "x-amz-date", "x-amz-security-token"}
	build := func(url string) *http.Request {
		r := sigTestRequest(t, "POST", url, form)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		r.Header.Set("X-Amz-Date", "20261126T091904Z")
		r.Header.Set("X-Amz-Security-Token", sigTestToken)
		r.Header.Set("User-Agent", "aws-cli/2.9.19 Python/3.9.11")
		manualSign(r, form, signed, sigTestSecret, "20261126/eu-west-1/iam/aws4_request", "X-Amz-Date")
		return r
	}
	sigWantOK(t, "botocore-style over the wire", sendForVerify(t, build(srv.URL+"/"), results))

	verify := func(r *http.Request, b []byte) *authError {
		_, err := verifySigV4(r, b, sigTestSecretFor, sigTestNow)
		return err
	}
	if err := verify(build("http://localhost:4566/"), form); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	unsigned := map[string]func(r *http.Request){
		"user-agent changed":    func(r *http.Request) { r.Header.Set("User-Agent", "other") },
		"extra header":          func(r *http.Request) { r.Header.Set("X-Extra", "1") },
		"content-length header": func(r *http.Request) { r.Header.Set("Content-Length", "999") },
		"signed value spaces": func(r *http.Request) {
			r.Header.Set("Content-Type", "  application/x-www-form-urlencoded;   charset=utf-8 ")
		},
		"authorization spacing": func(r *http.Request) {
			r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), ", ", ","))
		},
	}
	for name, mutate := range unsigned {
		r := build("http://localhost:4566/")
		mutate(r)
		if err := verify(r, form); err != nil {
			t.Errorf("%s: %v, want success", name, err)
		}
	}
	signedChanges := map[string]func(r *http.Request){
		"content-type":   func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") },
		"security token": func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", sigTestToken+"x") },
		"second token":   func(r *http.Request) { r.Header.Add("X-Amz-Security-Token", "again") },
		"host":           func(r *http.Request) { r.Host = "localhost:4567" },
		"x-amz-date":     func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261126T091905Z") },
		"method":         func(r *http.Request) { r.Method = "PUT" },
		"path":           func(r *http.Request) { r.URL.Path = "/x" },
		"query":          func(r *http.Request) { r.URL.RawQuery = "a=1" },
	}
	for name, mutate := range signedChanges {
		r := build("http://localhost:4566/")
		mutate(r)
		sigWantKind(t, "changed "+name, verify(r, form), authBadSignature)
	}
	sigWantKind(t, "changed body", verify(build("http://localhost:4566/"), append(append([]byte(nil), form...), '&')), authBadSignature)
}

func TestSigV4DateHeaderFallback(t *testing.T) {
	r := sigTestRequest(t, "GET", "http://localhost:4566/backup-vaults", nil)
	r.Header.Set("Date", sigTestNow.Format(http.TimeFormat))
	manualSign(r, nil, []string{"date", "host"}, sigTestSecret, "20261126/us-east-1/backup/aws4_request", "Date")
	if _, err := verifySigV4(r, nil, sigTestSecretFor, sigTestNow); err != nil {
		t.Errorf("Date header only: %v", err)
	}
	_, err := verifySigV4(r, nil, sigTestSecretFor, sigTestNow.Add(time.Hour))
	sigWantKind(t, "Date header, an hour later", err, authSkew)
}

func TestSigV4Errors(t *testing.T) {
	body := []byte(`{"RecoveryPointArn":"arn:aws:ec2:us-east-1::snapshot/snap-0123"}`)
	signed := func(akid, secret string, at time.Time) *http.Request {
		r := sigTestRequest(t, "POST", "http://localhost:4566/backup-jobs?x=1", body)
		r.Header.Set("Content-Type", "application/json")
		sdkSign(t, r, body, akid, secret, "backup", "us-east-1", at)
		return r
	}
	verify := func(r *http.Request, b []byte) *authError {
		_, err := verifySigV4(r, b, sigTestSecretFor, sigTestNow)
		return err
	}
	withAuth := func(auth string) *http.Request {
		r := signed(sigTestAKID, sigTestSecret, sigTestNow)
		if auth == "" {
			r.Header.Del("Authorization")
		} else {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	if err := verify(signed(sigTestAKID, sigTestSecret, sigTestNow), body); err != nil {
		t.Fatalf("baseline: %v", err)
	}

	sigWantKind(t, "no header", verify(withAuth(""), body), authMissing)
	sigWantKind(t, "other scheme", verify(withAuth("Bearer abc"), body), authMissing)

	good := signed(sigTestAKID, sigTestSecret, sigTestNow).Header.Get("Authorization")
	cred, rest, _ := strings.Cut(good, ", ")
	sh, sig, _ := strings.Cut(rest, ", ")
	sixtyFour := strings.Repeat("ab", 32)
	for name, auth := range map[string]string{
		"no SignedHeaders":          cred + ", " + sig,
		"no Signature":              cred + ", " + sh,
		"no Credential":             "AWS4-HMAC-SHA256 " + sh + ", " + sig,
		"algorithm only":            "AWS4-HMAC-SHA256",
		"short scope":               "AWS4-HMAC-SHA256 Credential=" + sigTestAKID + "/20261126/us-east-1, " + sh + ", " + sig,
		"bad terminator":            "AWS4-HMAC-SHA256 Credential=" + sigTestAKID + "/20261126/us-east-1/backup/aws5_request, " + sh + ", " + sig,
		"bad scope date":            "AWS4-HMAC-SHA256 Credential=" + sigTestAKID + "/2026-11-26/us-east-1/backup/aws4_request, " + sh + ", " + sig,
		"non-hex signature":         cred + ", " + sh + ", Signature=" + strings.Repeat("zz", 32),
		"short signature":           cred + ", " + sh + ", Signature=abcd",
		"host not signed":           cred + ", SignedHeaders=content-type;x-amz-date, Signature=" + sixtyFour,
		"upper-case header":         cred + ", SignedHeaders=Host;x-amz-date, Signature=" + sixtyFour,
		"unknown key, 4-part scope": "AWS4-HMAC-SHA256 Credential=NOPE/20261126/us-east-1/backup, " + sh + ", " + sig,
	} {
		sigWantKind(t, name, verify(withAuth(auth), body), authIncomplete)
	}
	noDate := signed(sigTestAKID, sigTestSecret, sigTestNow)
	noDate.Header.Del("X-Amz-Date")
	sigWantKind(t, "no X-Amz-Date nor Date", verify(noDate, body), authIncomplete)
	badDate := signed(sigTestAKID, sigTestSecret, sigTestNow)
	badDate.Header.Set("X-Amz-Date", "2026-11-26T09:19:04Z")
	sigWantKind(t, "X-Amz-Date not basic ISO-8601", verify(badDate, body), authIncomplete)

	err := verify(signed("AKIDUNKNOWN", sigTestSecret, sigTestNow), body)
	sigWantKind(t, "unknown key", err, authUnknownKey)
	if err != nil && err.msg != "The security token included in the request is invalid." {
		t.Errorf("unknown key message = %q", err.msg)
	}

	err = verify(signed(sigTestAKID, "wrong-secret", sigTestNow), body)
	sigWantKind(t, "wrong secret", err, authBadSignature)
	if err != nil && !strings.HasPrefix(err.msg, "The request signature we calculated does not match") {
		t.Errorf("bad signature message = %q", err.msg)
	}
	sigWantKind(t, "tampered body", verify(signed(sigTestAKID, sigTestSecret, sigTestNow), []byte(`{}`)), authBadSignature)
	payloadHeader := signed(sigTestAKID, sigTestSecret, sigTestNow)
	payloadHeader.Header.Set("X-Amz-Content-Sha256", sigTestHash([]byte(`{}`)))
	sigWantKind(t, "X-Amz-Content-Sha256 used as payload hash", verify(payloadHeader, body), authBadSignature)
	// Correctly signed, but with a scope date that is not X-Amz-Date's.
	scopeDate := signed(sigTestAKID, sigTestSecret, sigTestNow)
	manualSign(scopeDate, body, []string{"host", "x-amz-date"}, sigTestSecret, "20261125/us-east-1/backup/aws4_request", "X-Amz-Date")
	err = verify(scopeDate, body)
	sigWantKind(t, "scope date differs from X-Amz-Date", err, authBadSignature)
	if err != nil && !strings.HasPrefix(err.msg, "Date in Credential scope does not match") {
		t.Errorf("scope date message = %q", err.msg)
	}
	// A bad signature is reported before a skewed clock.
	sigWantKind(t, "wrong secret and skewed", verify(signed(sigTestAKID, "wrong", sigTestNow.Add(-time.Hour)), body), authBadSignature)

	for _, d := range []time.Duration{-16 * time.Minute, 16 * time.Minute, -24 * time.Hour} {
		sigWantKind(t, fmt.Sprintf("signed at now%+v", d), verify(signed(sigTestAKID, sigTestSecret, sigTestNow.Add(d)), body), authSkew)
	}
	for _, d := range []time.Duration{-15 * time.Minute, -14 * time.Minute, 14 * time.Minute, 15 * time.Minute} {
		if err := verify(signed(sigTestAKID, sigTestSecret, sigTestNow.Add(d)), body); err != nil {
			t.Errorf("signed at now%+v: %v, want success", d, err)
		}
	}
	err = verify(signed(sigTestAKID, sigTestSecret, sigTestNow.Add(-16*time.Minute)), body)
	if want := "Signature expired: 20261126T090304Z is now earlier than 20261126T090404Z (20261126T091904Z - 15 min.)"; err == nil || err.msg != want {
		t.Errorf("expired message = %v, want %q", err, want)
	}
	err = verify(signed(sigTestAKID, sigTestSecret, sigTestNow.Add(16*time.Minute)), body)
	if err == nil || !strings.HasPrefix(err.msg, "Signature not yet current: 20261126T093504Z is still later than 20261126T093404Z") {
		t.Errorf("future message = %v", err)
	}
}
