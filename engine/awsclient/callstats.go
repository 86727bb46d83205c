package awsclient

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// OpStats counts one AWS operation's calls and what went wrong with
// their attempts. A call is one operation made by shuffle; each may take
// several attempts (HTTP requests) when the SDK's retryer or the guard's
// credential reload makes it again.
type OpStats struct {
	Calls    int64 `json:"calls"`
	Attempts int64 `json:"attempts"`
	// Retries are attempts after a call's first: the same call again,
	// with the same idempotency token. A StartCopyJob or completion poll
	// that was throttled is not retried by the SDK but made again later
	// by the copy scheduler, as a new call.
	Retries int64 `json:"retries"`
	// Throttles are attempts AWS answered with a throttling error
	// (ThrottlingException and kin, HTTP 429).
	Throttles int64 `json:"throttles"`
	// ServerErrors are attempts answered with HTTP 5xx.
	ServerErrors int64 `json:"server_errors"`
	// Resets are attempts whose connection was reset or closed without an
	// answer. (Go's HTTP client replays a GET on a reused connection that
	// was closed under it by itself; such a reset is never seen here.)
	Resets int64 `json:"connection_resets"`
	// NetworkErrors are the other attempts that got no answer: timeouts,
	// refused connections, DNS failures.
	NetworkErrors int64 `json:"network_errors"`
}

// Faults is the sum of the throttles, server errors, resets and other
// network errors.
func (o OpStats) Faults() int64 { return o.Throttles + o.ServerErrors + o.Resets + o.NetworkErrors }

// CallStats counts a run's AWS calls and their faults by operation. It
// is safe for concurrent use; the zero value is ready.
type CallStats struct {
	mu  sync.Mutex
	ops map[string]*OpStats
	// errs counts the attempts that failed, by operation and error code
	// (errorCode), for the metrics; see Errors.
	errs map[OpError]int64
}

func (c *CallStats) add(op string, f func(*OpStats)) {
	if op == "" {
		op = "unknown"
	}
	c.mu.Lock()
	if c.ops == nil {
		c.ops = map[string]*OpStats{}
	}
	s := c.ops[op]
	if s == nil {
		s = &OpStats{}
		c.ops[op] = s
	}
	f(s)
	c.mu.Unlock()
}

// Snapshot returns the counts by operation name (StartCopyJob, ...).
func (c *CallStats) Snapshot() map[string]OpStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]OpStats, len(c.ops))
	for k, v := range c.ops {
		out[k] = *v
	}
	return out
}

// Operations returns the snapshot's operation names, sorted.
func Operations(snap map[string]OpStats) []string {
	out := make([]string, 0, len(snap))
	for k := range snap {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// middleware returns the API option that counts a client's calls (once
// per operation, in the Initialize step) and attempts (in the Finalize
// step after the SDK's Retry middleware, so inside the retry loop, where
// each attempt's own error is seen).
func (c *CallStats) middleware() func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("ShuffleCallStats",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.add(awsmiddleware.GetOperationName(ctx), func(s *OpStats) { s.Calls++ })
				return next.HandleInitialize(context.WithValue(ctx, callAttemptsKey{}, new(atomic.Int64)), in)
			}), middleware.After); err != nil {
			return err
		}
		m := middleware.FinalizeMiddlewareFunc("ShuffleAttemptStats",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				kind := attemptFault(ctx, err)
				c.addError(awsmiddleware.GetOperationName(ctx), errorCode(ctx, err, kind))
				retry := false
				if n, ok := ctx.Value(callAttemptsKey{}).(*atomic.Int64); ok {
					retry = n.Add(1) > 1
				}
				c.add(awsmiddleware.GetOperationName(ctx), func(s *OpStats) {
					s.Attempts++
					if retry {
						s.Retries++
					}
					switch kind {
					case faultThrottle:
						s.Throttles++
					case faultServer:
						s.ServerErrors++
					case faultReset:
						s.Resets++
					case faultNetwork:
						s.NetworkErrors++
					}
				})
				return out, md, err
			})
		if err := st.Finalize.Insert(m, "Retry", middleware.After); err != nil {
			return st.Finalize.Add(m, middleware.Before)
		}
		return nil
	}
}

// callAttemptsKey holds a call's attempt count in its context.
type callAttemptsKey struct{}

type faultKind int

const (
	faultNone faultKind = iota
	faultThrottle
	faultServer
	faultReset
	faultNetwork
)

// attemptFault sorts one attempt's error. An attempt cancelled by the
// caller is no fault of AWS's.
func attemptFault(ctx context.Context, err error) faultKind {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return faultNone
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
			return faultThrottle
		}
	}
	// A request that got no answer: the SDK wraps it in a ResponseError of
	// status 0, so this comes first.
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return faultReset
		}
		return faultNetwork
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code == 429:
			return faultThrottle
		case code >= 500:
			return faultServer
		}
		return faultNone
	}
	return faultNone
}
