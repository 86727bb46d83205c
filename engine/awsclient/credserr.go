package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// CredentialsError is a profile's credentials that could not be
// obtained: an SSO token missing or expired, a credential_process that
// failed, an AssumeRole refused, keys gone from the file. It names the
// profile, how its credentials are obtained and what gets fresh ones;
// the SDK's own error follows, for the detail.
type CredentialsError struct {
	Profile string
	Chain   Chain
	Remedy  string
	Err     error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("profile %q (%s): cannot get credentials: %s; the SDK said: %v", e.Profile, e.Chain.Describe(), e.Remedy, e.Err)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// transient says whether getting the credentials failed for a reason
// that passes by itself (STS or the SSO portal throttled, a 5xx, the
// network), rather than because the credentials themselves are bad.
func (e *CredentialsError) transient() bool {
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ae smithy.APIError
	if errors.As(e.Err, &ae) {
		c := classOf(ae.ErrorCode(), ae.ErrorMessage(), ae.ErrorFault())
		return c.Transient()
	}
	// The network: a request that could not be sent, a connection or DNS
	// failure. (Not any net.Error: syscall.Errno is one, and a missing
	// token file is no network trouble.)
	var se *smithyhttp.RequestSendError
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(e.Err, &se) || errors.As(e.Err, &oe) || errors.As(e.Err, &de)
}
