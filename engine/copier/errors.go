package copier

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// The copier's error classes, in one place behind classifyAWS, so that
// a shared classification can replace this table.

// errKind is how the copy engine reacts to an AWS error.
type errKind int

const (
	errRetryable     errKind = iota // 5xx, network: try again later, same token
	errThrottle                     // ThrottlingException and kin: slow down
	errLimitResource                // the resource already has a job running
	errLimitVault                   // the destination vault's concurrent-copy quota
	errLimitAccount                 // the account's concurrent-copy quota
	errAuth                         // expired or invalid credentials
	errPermanent                    // the request itself is wrong; retrying cannot help
)

func (k errKind) String() string {
	return [...]string{"retryable", "throttled", "resource-busy", "vault-limit", "account-limit", "auth", "permanent"}[k]
}

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "SlowDown": true, "RequestThrottled": true,
}

var authCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true, "InvalidClientTokenId": true,
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "SignatureDoesNotMatch": true,
	"AuthFailure": true, "IncompleteSignature": true, "MissingAuthenticationToken": true,
}

// classifyAWS sorts an error from an AWS call. The code and message are
// AWS's own, for recording on the RP.
func classifyAWS(err error) (kind errKind, code, msg string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return errRetryable, "", err.Error()
	}
	code, msg = ae.ErrorCode(), ae.ErrorMessage()
	lm := strings.ToLower(msg)
	switch {
	case throttleCodes[code]:
		return errThrottle, code, msg
	case code == "LimitExceededException":
		switch {
		case strings.Contains(lm, "per resource") || strings.Contains(lm, "already has a job") || strings.Contains(lm, "resource "):
			return errLimitResource, code, msg
		case strings.Contains(lm, "vault"):
			return errLimitVault, code, msg
		default:
			return errLimitAccount, code, msg
		}
	case authCodes[code]:
		return errAuth, code, msg
	case ae.ErrorFault() == smithy.FaultServer, code == "ServiceUnavailableException", code == "InternalFailure", code == "InternalServerError":
		return errRetryable, code, msg
	}
	return errPermanent, code, msg
}

// retryableJobFailure says whether a FAILED copy job is worth another
// attempt, from its MessageCategory and StatusMessage. Configuration
// problems (access, missing vault, lock retention, unsupported
// resource) fail again the same way; service-side errors may not.
// Unknown failures are retried, bounded by the attempt limit.
func retryableJobFailure(category, message string) bool {
	c := strings.ToLower(category)
	m := strings.ToLower(message)
	switch {
	case strings.Contains(c, "accessdenied") || strings.Contains(c, "access_denied"),
		strings.Contains(c, "invalidparameters") || strings.Contains(c, "invalid_parameters"),
		strings.Contains(c, "resourcenotfound") || strings.Contains(c, "not_found"):
		return false
	case strings.Contains(m, "does not exist"), strings.Contains(m, "not supported"), strings.Contains(m, "cold storage"),
		strings.Contains(m, "retention"), strings.Contains(m, "access policy"), strings.Contains(m, "aws managed key"),
		strings.Contains(m, "not enabled"), strings.Contains(m, "same organization"):
		return false
	}
	return true
}

// schedulerOwned says whether err is one the scheduler reacts to itself
// (throttling, LimitExceededException) rather than the SDK's retryer.
func schedulerOwned(err error) bool {
	switch k, _, _ := classifyAWS(err); k {
	case errThrottle, errLimitResource, errLimitVault, errLimitAccount:
		return true
	}
	return false
}

// isAccessDenied says whether code refuses the caller a permission.
func isAccessDenied(code string) bool {
	return code == "AccessDeniedException" || code == "AccessDenied"
}
