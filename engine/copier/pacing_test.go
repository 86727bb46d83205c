package copier

import (
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

var throttled = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient}

// feed calls adjust for perSecond calls a second over seconds, spread
// evenly in (simulated) time: throttle(i, rate) says whether call i of
// a second is throttled at the current limit.
func feed(p *pacedJobs, seconds, perSecond int, throttle func(i int, limit float64) bool) {
	for s := 0; s < seconds; s++ {
		for i := 0; i < perSecond; i++ {
			// adjust reads the clock: rewind the window and last decrease
			// by the simulated time instead of sleeping.
			var err error
			if throttle(i, float64(p.start.Limit())) {
				err = throttled
			}
			p.adjust(err)
		}
		p.winStart -= int64(2 * time.Second)
		p.halved.Add(-int64(2 * time.Second))
	}
}

// A share of throttles that does not grow with the rate (10% of calls
// at any rate) does not hold the start rate down; throttles that grow
// with the rate (a quota of 20 calls a second) do.
func TestPacingHalvesOnAShareOfThrottlesNotOnEach(t *testing.T) {
	noisy := newPacedJobs(nil, &APICounts{}, 50)
	feed(noisy, 30, 100, func(i int, _ float64) bool { return i%10 == 0 })
	if l := float64(noisy.start.Limit()); l < 50 {
		t.Errorf("with 10%% of calls throttled at any rate the limit fell to %.1f calls/s (started at 50)", l)
	}
	capped := newPacedJobs(nil, &APICounts{}, 50)
	// Every call of a second beyond the 20th is throttled: at 100 a
	// second, 80% of them.
	feed(capped, 10, 100, func(i int, _ float64) bool { return i >= 20 })
	if l := float64(capped.start.Limit()); l > 20 {
		t.Errorf("over a 20 calls/s quota the limit is still %.1f calls/s", l)
	}
}
