package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	api := func(code, msg string, fault smithy.ErrorFault) error {
		return fmt.Errorf("operation StartCopyJob: %w", &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault})
	}
	for _, tc := range []struct {
		err       error
		want      Class
		code, msg string
	}{
		{errors.New("dial tcp: connection refused"), Retryable, "", "dial tcp: connection refused"},
		{context.DeadlineExceeded, Retryable, "", "context deadline exceeded"},
		{api("ThrottlingException", "Rate exceeded", smithy.FaultClient), Throttle, "ThrottlingException", "Rate exceeded"},
		{api("SlowDown", "", smithy.FaultServer), Throttle, "SlowDown", ""},
		{api("LimitExceededException", "The resource already has a job running", smithy.FaultClient), LimitResource, "LimitExceededException", "The resource already has a job running"},
		{api("LimitExceededException", "Too many copy jobs per resource", smithy.FaultClient), LimitResource, "LimitExceededException", "Too many copy jobs per resource"},
		{api("LimitExceededException", "Concurrent copy jobs into the vault exceeded", smithy.FaultClient), LimitVault, "LimitExceededException", "Concurrent copy jobs into the vault exceeded"},
		{api("LimitExceededException", "Account limit reached", smithy.FaultClient), LimitAccount, "LimitExceededException", "Account limit reached"},
		// testenv's own texts.
		{api("LimitExceededException", "Resource arn:aws:ec2:us-east-1:1:volume/vol-1 already has a job in progress; only 1 concurrent backup or copy job is allowed per resource", smithy.FaultClient),
			LimitResource, "LimitExceededException", "Resource arn:aws:ec2:us-east-1:1:volume/vol-1 already has a job in progress; only 1 concurrent backup or copy job is allowed per resource"},
		{api("LimitExceededException", "The maximum number of concurrent copy jobs (5) into backup vault arn:aws:backup:us-east-1:2:backup-vault:v has been reached", smithy.FaultClient),
			LimitVault, "LimitExceededException", "The maximum number of concurrent copy jobs (5) into backup vault arn:aws:backup:us-east-1:2:backup-vault:v has been reached"},
		{api("LimitExceededException", "The maximum number of concurrent copy jobs (100) for account 111111111111 has been reached", smithy.FaultClient),
			LimitAccount, "LimitExceededException", "The maximum number of concurrent copy jobs (100) for account 111111111111 has been reached"},
		// A text naming the resource and the vault is the narrower scope.
		{api("LimitExceededException", "Resource busy: a job into vault x is running", smithy.FaultClient), LimitResource, "LimitExceededException", "Resource busy: a job into vault x is running"},
		// Texts naming no scope are not placed: never the account by default.
		{api("LimitExceededException", "Limit exceeded", smithy.FaultClient), LimitUnknown, "LimitExceededException", "Limit exceeded"},
		{api("LimitExceededException", "", smithy.FaultClient), LimitUnknown, "LimitExceededException", ""},
		{api("LimitExceededException", "Too many concurrent operations. Try again later.", smithy.FaultClient), LimitUnknown, "LimitExceededException", "Too many concurrent operations. Try again later."},
		{api("LimitExceededException", "Quota q-7f3a reached (ref 9c1e)", smithy.FaultClient), LimitUnknown, "LimitExceededException", "Quota q-7f3a reached (ref 9c1e)"},
		{api("ExpiredTokenException", "expired", smithy.FaultClient), Auth, "ExpiredTokenException", "expired"},
		{api("SignatureDoesNotMatch", "bad", smithy.FaultClient), Auth, "SignatureDoesNotMatch", "bad"},
		{api("ServiceUnavailableException", "", smithy.FaultClient), Retryable, "ServiceUnavailableException", ""},
		{api("SomethingNew", "boom", smithy.FaultServer), Retryable, "SomethingNew", "boom"},
		{api("InternalFailure", "", smithy.FaultUnknown), Retryable, "InternalFailure", ""},
		{api("AccessDeniedException", "no", smithy.FaultClient), Permanent, "AccessDeniedException", "no"},
		{api("InvalidParameterValueException", "bad arn", smithy.FaultClient), Permanent, "InvalidParameterValueException", "bad arn"},
	} {
		got := Classify(tc.err)
		if got != (Classified{Class: tc.want, Code: tc.code, Message: tc.msg}) {
			t.Errorf("Classify(%v) = %+v, want %v %q %q", tc.err, got, tc.want, tc.code, tc.msg)
		}
		if IsAuthError(tc.err) != (tc.want == Auth) {
			t.Errorf("IsAuthError(%v) = %v, want %v", tc.err, !(tc.want == Auth), tc.want == Auth)
		}
	}
}

func TestClassMethods(t *testing.T) {
	for c, want := range map[Class]struct {
		name                    string
		transient, limit, fatal bool
	}{
		Retryable:     {"retryable", true, false, false},
		Throttle:      {"throttled", true, false, false},
		LimitResource: {"resource-busy", false, true, false},
		LimitVault:    {"vault-limit", false, true, false},
		LimitAccount:  {"account-limit", false, true, false},
		LimitUnknown:  {"limit-unknown", false, true, false},
		Auth:          {"auth", false, false, false},
		Permanent:     {"permanent", false, false, true},
	} {
		if c.String() != want.name || c.Transient() != want.transient || c.Limit() != want.limit || c.Fatal() != want.fatal {
			t.Errorf("%d: %q transient %v limit %v fatal %v, want %+v", c, c, c.Transient(), c.Limit(), c.Fatal(), want)
		}
	}
	if IsAuthError(nil) {
		t.Error("IsAuthError(nil)")
	}
}

func TestAccessDenied(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation GetRole: %w", &smithy.GenericAPIError{Code: code, Message: "no", Fault: smithy.FaultClient})
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{api("AccessDenied"), true},
		{api("AccessDeniedException"), true},
		{api("UnauthorizedOperation"), true},
		{api("ExpiredTokenException"), false},
		{api("NoSuchEntity"), false},
		{api("ThrottlingException"), false},
		{errors.New("dial tcp: connection refused"), false},
	} {
		if got := IsAccessDenied(tc.err); got != tc.want {
			t.Errorf("IsAccessDenied(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if got := Classify(tc.err).Denied(); got != tc.want {
			t.Errorf("Classify(%v).Denied() = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNotFound(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation GetRole: %w", &smithy.GenericAPIError{Code: code, Message: "no", Fault: smithy.FaultClient})
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{api("ResourceNotFoundException"), true},
		{api("NoSuchEntity"), true},
		{api("AccessDenied"), false},
		{api("InvalidParameterValueException"), false},
		{errors.New("dial tcp: connection refused"), false},
	} {
		if got := IsNotFound(tc.err); got != tc.want {
			t.Errorf("IsNotFound(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Credentials that cannot be obtained are Auth (reload, then pause),
// unless what failed passes by itself: STS throttled, a 5xx, the
// network. A missing token file is no network trouble.
func TestCredentialsErrorClass(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("operation error Backup: ListBackupVaults, get identity: %w", &CredentialsError{Profile: "p", Err: err})
	}
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"token file missing", &fs.PathError{Op: "open", Path: "/x.json", Err: syscall.ENOENT}, Auth},
		{"process failed", errors.New("credential process exited 3"), Auth},
		{"STS refused the keys", &smithy.GenericAPIError{Code: "ExpiredToken", Message: "expired"}, Auth},
		{"AssumeRole denied", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}, Auth},
		{"SSO portal refused the token", &smithy.GenericAPIError{Code: "UnauthorizedException", Message: "Session token not found or invalid"}, Auth},
		{"STS throttled", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, Throttle},
		{"STS 5xx", &smithy.GenericAPIError{Code: "InternalFailure", Message: "x", Fault: smithy.FaultServer}, Retryable},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, Retryable},
	}
	for _, c := range cases {
		if got := Classify(wrap(c.err)).Class; got != c.want {
			t.Errorf("%s: class %v, want %v", c.name, got, c.want)
		}
		if IsAuthError(wrap(c.err)) != (c.want == Auth) {
			t.Errorf("%s: IsAuthError %v", c.name, IsAuthError(wrap(c.err)))
		}
	}
}
