package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// PrincipalARN turns a caller ARN into the principal to simulate: an
// assumed-role session becomes its role.
func PrincipalARN(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) == 6 && f[2] == "sts" && strings.HasPrefix(f[5], "assumed-role/") {
		parts := strings.Split(f[5], "/")
		if len(parts) >= 2 {
			return "arn:" + f[1] + ":iam::" + f[4] + ":role/" + parts[1]
		}
	}
	return arn
}

// isDenied says whether AWS refused the caller a permission; the
// simulation then names what is missing.
func isDenied(err error) bool { return awsclient.IsAccessDenied(err) }

// UnreachableError is an account whose endpoint could not be reached:
// the connection was refused or timed out, or the endpoint's host name
// does not resolve. Nothing about the account is known, so it is an
// error (exit 1), neither a finding nor a problem with the script.
type UnreachableError struct {
	Side     finding.Side
	Profile  string
	Endpoint string // scheme and host of the URL the call went to
	Err      error  // what the network said (a *net.OpError, a *net.DNSError)
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s: profile %q: cannot reach the endpoint %s: %v (check the profile's endpoint_url and region, and the network)",
		e.Side, e.Profile, e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Unreachable returns an *UnreachableError when err is a call that
// never reached its endpoint (no HTTP response: refused, timed out,
// name not resolved, TLS failed), and nil otherwise, an interrupt
// included.
func Unreachable(side finding.Side, profile string, err error) *UnreachableError {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	endpoint := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		endpoint = u.Scheme + "://" + u.Host
	}
	return &UnreachableError{Side: side, Profile: profile, Endpoint: endpoint, Err: ue.Err}
}
