package engine

import (
	"sync/atomic"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
)

// A shim until Session takes the AWS client options as a field (when the
// pipeline's Session is reshaped); then these go.
//
// cmd/shuffle reads the environment once per command and sets the
// options with SetAWSOptions (awsclient reads no environment itself).
// The listing counters are one value for the process, as they were when
// awsclient kept them, so that a command started while another runs in
// the same process (tests) does not reset what a running inventory
// counts.
var (
	awsOptions   atomic.Pointer[awsclient.Options]
	listingStats awsclient.ListingStats
)

// SetAWSOptions sets the options every Session of this process builds
// its AWS clients with. Their listing pages are counted in the engine's
// counters whatever o.Listing says.
func SetAWSOptions(o awsclient.Options) {
	o.Listing = &listingStats
	awsOptions.Store(&o)
}

// AWSOptions are the options last set with SetAWSOptions (the SDK's
// defaults before).
func AWSOptions() awsclient.Options {
	if o := awsOptions.Load(); o != nil {
		return *o
	}
	return awsclient.Options{Listing: &listingStats}
}
