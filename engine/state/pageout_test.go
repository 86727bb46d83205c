package state

import (
	"testing"
	"time"
)

func TestPageOutPeriods(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		o                 Options
		every, closeEvery time.Duration
	}{
		{Options{}, pageOutEvery, closePageOutEvery},
		{Options{PageOut: 200 * ms}, 200 * ms, closePageOutEvery},
		{Options{PageOut: 20 * ms}, 20 * ms, 20 * ms}, // Close never pages out slower
		{Options{PageOut: -1}, -1, -1},                // off
		{Options{ClosePageOut: -1}, pageOutEvery, pageOutEvery},
		{Options{ClosePageOut: 10 * ms}, pageOutEvery, 10 * ms},
	} {
		every, closeEvery := tc.o.pageOutPeriods()
		if every != tc.every || closeEvery != tc.closeEvery {
			t.Errorf("%+v: periods %v, %v; want %v, %v", tc.o, every, closeEvery, tc.every, tc.closeEvery)
		}
	}
}
