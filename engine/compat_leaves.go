package engine

import "github.com/shuffle-migrate/shuffle/engine/awsclient"

// AWSOptions are the options every Session of this process builds its
// AWS clients with, and where its listing pages are counted.
// cmd/shuffle sets them once, from the environment, before it runs a
// command (awsclient reads no environment itself).
//
// A shim: it becomes an option of Session, and goes, once the
// pipeline's Session is reshaped.
var AWSOptions = awsclient.Options{Listing: new(awsclient.ListingStats)}
