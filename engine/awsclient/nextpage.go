package awsclient

import (
	"context"
	"math/rand/v2"
	"time"
)

// Listings that must finish before anything else can happen (the copy
// engine's adoption sweep and settling of crashed intents) wait out
// throttling and server-side errors instead of failing the run: AWS
// throttles ListCopyJobs readily, and a run that stops there has done
// nothing wrong. The copier's poll loop does not use this; it simply
// polls again later.
const (
	pageAttempts   = 10
	pageFirstDelay = 200 * time.Millisecond
	pageMaxDelay   = 20 * time.Second
)

// NextPage fetches one page through fetch, calling it again after a
// jittered, doubling delay while AWS answers with throttling or a
// Transient error (Classify), up to pageAttempts calls. The SDK's paginators keep
// their token when a call fails, so calling again fetches the same page.
func NextPage[T any](ctx context.Context, fetch func(context.Context) (T, error)) (T, error) {
	delay := pageFirstDelay
	for attempt := 1; ; attempt++ {
		out, err := fetch(ctx)
		if err == nil || attempt >= pageAttempts || ctx.Err() != nil {
			return out, err
		}
		if !Classify(err).Class.Transient() {
			return out, err
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
		delay = min(2*delay, pageMaxDelay)
	}
}
