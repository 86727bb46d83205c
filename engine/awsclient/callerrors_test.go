package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestCallErrorsByOperationAndCode(t *testing.T) {
	ctx := context.Background()
	api := &smithy.GenericAPIError{Code: "LimitExceededException", Message: "too many"}
	http503 := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("no body")}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		kind faultKind
		want string
	}{
		{ctx, nil, faultNone, ""},
		{ctx, fmt.Errorf("wrapped: %w", api), faultNone, "LimitExceededException"},
		{ctx, http503, faultServer, "HTTP503"},
		{ctx, errors.New("reset"), faultReset, "ConnectionReset"},
		{ctx, errors.New("dial"), faultNetwork, "NetworkError"},
		{ctx, errors.New("odd"), faultNone, OtherCode},
		{cancelled, api, faultNone, ""}, // the caller gave up: not AWS's fault
	} {
		if got := errorCode(tc.ctx, tc.err, tc.kind); got != tc.want {
			t.Errorf("errorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}

	var c CallStats
	c.addError("StartCopyJob", "LimitExceededException")
	c.addError("StartCopyJob", "LimitExceededException")
	c.addError("ListCopyJobs", "ThrottlingException")
	c.addError("ListCopyJobs", "")
	got := c.Errors()
	want := []OpErrorCount{{OpError{"ListCopyJobs", "ThrottlingException"}, 1}, {OpError{"StartCopyJob", "LimitExceededException"}, 2}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Errors() = %+v, want %+v", got, want)
	}
	// Past the bound, new codes count as Other: the label stays bounded.
	for i := range maxErrorCodes + 50 {
		c.addError("GetX", fmt.Sprintf("Code%d", i))
	}
	if n := len(c.Errors()); n != maxErrorCodes+1 {
		t.Fatalf("%d distinct pairs, want at most %d plus Other", n, maxErrorCodes)
	}
}
