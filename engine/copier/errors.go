package copier

import (
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// AWS errors are sorted by awsclient.Classify; what is here is the
// copier's own reading of them.

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
	c := awsclient.Classify(err).Class
	return c == awsclient.Throttle || c.Limit()
}
