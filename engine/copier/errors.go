package copier

import (
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// AWS errors are sorted by awsclient.Classify; what is here is the
// copier's own reading of FAILED copy jobs.

// jobFailure is shuffle's reading of a FAILED (or PARTIAL) copy job.
type jobFailure struct {
	// Retry: another attempt may succeed. Only AWS's MessageCategory can
	// say no; an unknown or missing category is retried, bounded by the
	// attempt limit, with a backoff.
	Retry bool
	// Category is what the record is counted under: AWS's
	// MessageCategory, or uncategorized when AWS gave none.
	Category string
	// Hint is a human reason read from the message's wording, for the
	// operator; it never decides anything ("" when none matches).
	Hint string
}

// uncategorized is the record's category of a FAILED job whose answer
// carried no MessageCategory.
const uncategorized = "uncategorized"

// permanentCategories are the MessageCategory values (normalised: lower
// case, no '_' or '-') whose jobs fail again the same way until the
// operator fixes something: access, a parameter AWS refused, a missing
// resource.
var permanentCategories = map[string]bool{
	"accessdenied": true, "invalidparameters": true, "invalidparameter": true,
	"resourcenotfound": true, "notfound": true,
}

// wordingHints are what a FAILED job's message usually means, read from
// its wording; shown to the operator next to AWS's message.
var wordingHints = []struct{ words, hint string }{
	{"does not exist", "something the copy needs is missing"},
	{"not supported", "AWS does not support this copy"},
	{"cold storage", "the recovery point is in cold storage"},
	{"retention", "the destination vault lock's retention range"},
	{"access policy", "the destination vault's access policy"},
	{"aws managed key", "an AWS managed KMS key cannot be shared"},
	{"not enabled", "a setting (cross-account backup?) is not enabled"},
	{"same organization", "both accounts must be in one organization"},
}

// readJobFailure reads a FAILED copy job from its MessageCategory and
// StatusMessage. The category, a field AWS defines, decides; the
// message's wording, which AWS does not document, only adds a hint.
func readJobFailure(category, message string) jobFailure {
	f := jobFailure{Retry: true, Category: category}
	norm := strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(category))
	switch {
	case category == "":
		f.Category = uncategorized
	case permanentCategories[norm]:
		f.Retry = false
	}
	m := strings.ToLower(message)
	for _, h := range wordingHints {
		if strings.Contains(m, h.words) {
			f.Hint = h.hint
			break
		}
	}
	return f
}

// reason is the record's reason for f: AWS's category and message (the
// job's state in place of a category it did not give), and the hint
// when there is one.
func (f jobFailure) reason(jobState, category, message string) string {
	r := strings.TrimSuffix(category+": "+message, ": ")
	if category == "" {
		r = strings.TrimSuffix(jobState+" without a category: "+message, ": ")
	}
	if f.Hint != "" {
		r += " (likely: " + f.Hint + ")"
	}
	return r
}

// schedulerOwned says whether err is one the scheduler reacts to itself
// (throttling, LimitExceededException) rather than the SDK's retryer.
func schedulerOwned(err error) bool {
	c := awsclient.Classify(err).Class
	return c == awsclient.Throttle || c.Limit()
}
