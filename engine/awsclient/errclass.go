package awsclient

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// Class is what an error from an AWS call means for the caller: wait
// and try again, slow down, wait for a quota, fix the credentials, or
// give up. It is the one table of AWS error codes in shuffle; the guard
// (credential reloads) and the copy engine both sort errors with it.
type Class int

// The classes of Classify, in the order it tests them.
const (
	// Retryable: 5xx, a network error, or no AWS answer at all; try
	// again later with the same idempotency token.
	Retryable Class = iota
	// Throttle: ThrottlingException and kin; slow down.
	Throttle
	// LimitResource: LimitExceededException whose text says the
	// resource already has a job running.
	LimitResource
	// LimitVault: LimitExceededException whose text names the
	// destination vault's concurrent-copy quota.
	LimitVault
	// LimitAccount: LimitExceededException whose text names the
	// account's concurrent-copy quota.
	LimitAccount
	// LimitUnknown: LimitExceededException in a wording shuffle cannot
	// place. AWS documents the code, not the texts, so this is read
	// safely by the caller: as a busy resource first, widened to the
	// vault and the account only as refusals spread (engine/copier).
	LimitUnknown
	// Auth: the request's credentials were refused as such (expired,
	// unknown, badly signed), as opposed to a permission (AccessDenied).
	Auth
	// Permanent: the request itself is wrong; retrying cannot help.
	Permanent
)

// String is the class's name as recorded on a recovery point's attempt
// when AWS gave no error code.
func (c Class) String() string {
	names := [...]string{"retryable", "throttled", "resource-busy", "vault-limit", "account-limit", "limit-unknown", "auth", "permanent"}
	if c < 0 || int(c) >= len(names) {
		return "unknown"
	}
	return names[c]
}

// Transient says whether the same call may simply succeed later:
// Retryable and Throttle (a listing page waits these out).
func (c Class) Transient() bool { return c == Retryable || c == Throttle }

// Limit says whether AWS refused the call for a concurrency quota
// (LimitExceededException), which frees up only when a job ends.
func (c Class) Limit() bool {
	return c == LimitResource || c == LimitVault || c == LimitAccount || c == LimitUnknown
}

// Fatal says whether retrying cannot help (Permanent).
func (c Class) Fatal() bool { return c == Permanent }

// Classified is an AWS error sorted by Classify, with AWS's own code and
// message (for recording on a recovery point).
type Classified struct {
	Class   Class
	Code    string // "" when err carries no AWS error code
	Message string // AWS's message, or err.Error() without a code
}

// throttleCodes are the codes that ask the caller to slow down. (The
// SDK's retry.DefaultThrottleErrorCodes also holds LimitExceededException
// and others; the copy engine treats quotas apart.)
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "SlowDown": true, "RequestThrottled": true,
}

// authCodes are the codes that mean the request's credentials were
// refused as such.
var authCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true, "InvalidClientTokenId": true,
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "SignatureDoesNotMatch": true,
	"AuthFailure": true, "IncompleteSignature": true, "MissingAuthenticationToken": true,
}

// deniedCodes are the codes that refuse the caller a permission (IAM or
// a resource policy said no), as opposed to refusing its credentials
// (Auth). Classify sorts them as Permanent; Denied tells them apart.
var deniedCodes = map[string]bool{"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true}

// Denied says whether AWS refused the caller a permission.
func (c Classified) Denied() bool { return deniedCodes[c.Code] }

// IsAccessDenied says whether err is AWS refusing the caller a
// permission (AccessDenied and kin).
func IsAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && deniedCodes[ae.ErrorCode()]
}

// notFoundCodes are the codes that say the named resource does not
// exist (AWS Backup's, IAM's).
var notFoundCodes = map[string]bool{"ResourceNotFoundException": true, "NoSuchEntity": true}

// IsNotFound says whether err is AWS answering that the named resource
// does not exist.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && notFoundCodes[ae.ErrorCode()]
}

// Classify sorts an error from an AWS call. An error that carries no
// AWS API error (a network failure, a cancelled context) is Retryable.
//
// Credentials that could not be obtained (a *CredentialsError: an SSO
// token expired, a credential_process failing, an AssumeRole refused)
// are Auth whatever code STS or the SSO portal gave, unless the cause
// passes by itself (throttled, 5xx, the network): the credentials are
// what is wrong, never the call.
func Classify(err error) Classified {
	var ce *CredentialsError
	if errors.As(err, &ce) && !ce.transient() {
		c := Classified{Class: Auth, Message: ce.Error()}
		var ae smithy.APIError
		if errors.As(ce.Err, &ae) {
			c.Code = ae.ErrorCode()
		}
		return c
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return Classified{Class: Retryable, Message: err.Error()}
	}
	code, msg := ae.ErrorCode(), ae.ErrorMessage()
	return Classified{Class: classOf(code, msg, ae.ErrorFault()), Code: code, Message: msg}
}

func classOf(code, msg string, fault smithy.ErrorFault) Class {
	switch {
	case throttleCodes[code]:
		return Throttle
	case code == "LimitExceededException":
		return limitScope(msg)
	case authCodes[code]:
		return Auth
	case fault == smithy.FaultServer, code == "ServiceUnavailableException", code == "InternalFailure", code == "InternalServerError":
		return Retryable
	}
	return Permanent
}

// limitScope places a LimitExceededException by its text. AWS models
// the code only; the texts are not documented and may change. So the
// text may name the scope only when it says so in words shuffle knows,
// and the narrowest scope it names wins (a text naming the resource and
// the vault is a busy resource: that reading shrinks nothing). A text
// naming none of them is LimitUnknown, never the account: the account
// reading shrinks the global cap, which is the costliest mistake.
func limitScope(msg string) Class {
	lm := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(lm, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("per resource", "already has a job", "resource ", "resource's", "resource is busy"):
		return LimitResource
	case has("vault"):
		return LimitVault
	case has("account"):
		return LimitAccount
	}
	return LimitUnknown
}

// IsAuthError says whether err is a credential error from AWS (Auth).
// Credentials that could not be obtained count too (see Classify).
func IsAuthError(err error) bool {
	return err != nil && Classify(err).Class == Auth
}
