package awsclient

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

func TestNextPageWaitsOutThrottling(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	for _, tc := range []struct {
		name      string
		errs      []error // answers before success; a nil ends them
		wantCalls int
		wantErr   error
	}{
		{"throttled twice, then a page", []error{throttle, throttle}, 3, nil},
		{"a server error, then a page", []error{&smithy.GenericAPIError{Code: "ServiceUnavailableException", Fault: smithy.FaultServer}}, 2, nil},
		{"access denied is not retried", []error{denied}, 1, denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			out, err := NextPage(context.Background(), func(context.Context) (int, error) {
				calls++
				if calls <= len(tc.errs) {
					return 0, tc.errs[calls-1]
				}
				return 42, nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (err == nil && out != 42) {
				t.Errorf("calls %d, out %d, err %v; want %d calls, err %v", calls, out, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
	t.Run("a cancelled context stops the waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := NextPage(ctx, func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, throttle
		})
		if calls != 1 || !errors.Is(err, throttle) {
			t.Errorf("calls %d, err %v; want 1 call and the throttle", calls, err)
		}
	})
}
