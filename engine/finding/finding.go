// Package finding is the vocabulary pre-flight and compliance report
// in: which account a result concerns (Side), how serious it is
// (Severity), and one Finding of a check. It is a leaf: it must not
// import other shuffle packages or call AWS.
package finding

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Side names an account of the migration.
type Side string

const (
	SideSource      Side = "source"
	SideDestination Side = "destination"
)

// Severity of a Finding.
type Severity string

const (
	Blocking Severity = "blocking"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Rank orders severities, most serious first (for sorting).
func (s Severity) Rank() int {
	switch s {
	case Blocking:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one result of the pre-flight check.
type Finding struct {
	Severity Severity `json:"severity"`
	Account  Side     `json:"account"`
	Check    string   `json:"check"`
	Action   string   `json:"action,omitempty"` // the IAM action concerned, if any
	What     string   `json:"what"`
	Why      string   `json:"why"`
	Fix      string   `json:"fix"`
}

// AnyBlocking reports whether any finding blocks a run.
func AnyBlocking(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Blocking {
			return true
		}
	}
	return false
}

// ErrorText is how an error reads in a finding: an AWS API error as
// "Code: message", anything else as its text.
func ErrorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// New is a Finding from its fields in order (the checks build many).
func New(sev Severity, side Side, check, action, what, why, fix string) Finding {
	return Finding{Severity: sev, Account: side, Check: check, Action: action, What: what, Why: why, Fix: fix}
}
