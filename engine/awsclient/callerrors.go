package awsclient

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// OpError is an AWS operation and an error code its attempts failed
// with: the API's error code (ThrottlingException,
// LimitExceededException, AccessDeniedException, ...), or, for an
// attempt with no API error, ConnectionReset, NetworkError, HTTP<status>
// or Other.
type OpError struct {
	Operation, Code string
}

// OpErrorCount is how many attempts failed with one OpError.
type OpErrorCount struct {
	OpError
	Attempts int64
}

// maxErrorCodes bounds the distinct (operation, code) pairs counted:
// past it, a new pair counts under its operation with code OtherCode,
// so that a metric label never grows without bound.
const maxErrorCodes = 200

// OtherCode is the code of errors past maxErrorCodes, and of those with
// no code at all.
const OtherCode = "Other"

// addError counts one failed attempt of op with code ("" counts nothing).
func (c *CallStats) addError(op, code string) {
	if code == "" {
		return
	}
	if op == "" {
		op = "unknown"
	}
	k := OpError{Operation: op, Code: code}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errs == nil {
		c.errs = map[OpError]int64{}
	}
	if _, ok := c.errs[k]; !ok && len(c.errs) >= maxErrorCodes {
		k.Code = OtherCode
	}
	c.errs[k]++
}

// Errors returns the failed attempts by operation and error code, sorted
// by operation then code.
func (c *CallStats) Errors() []OpErrorCount {
	c.mu.Lock()
	out := make([]OpErrorCount, 0, len(c.errs))
	for k, n := range c.errs {
		out = append(out, OpErrorCount{OpError: k, Attempts: n})
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Operation != out[j].Operation {
			return out[i].Operation < out[j].Operation
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// errorCode names an attempt's error for Errors: "" for none, or one the
// caller cancelled (no fault of AWS's).
func errorCode(ctx context.Context, err error, kind faultKind) string {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return ae.ErrorCode()
	}
	switch kind {
	case faultReset:
		return "ConnectionReset"
	case faultNetwork:
		return "NetworkError"
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		return fmt.Sprintf("HTTP%d", re.HTTPStatusCode())
	}
	return OtherCode
}
