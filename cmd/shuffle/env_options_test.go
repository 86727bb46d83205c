package main

import (
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// The environment the state options come from: SHUFFLE_PAGEOUT_MS=0
// turns paging out off, an unset or broken value keeps the defaults.
func TestEnvStateOptions(t *testing.T) {
	for _, tc := range []struct {
		pageOut, closePageOut string
		want                  state.Options
	}{
		{"", "", state.Options{}},
		{"x", "1.5", state.Options{}},
		{"200", "20", state.Options{PageOut: 200 * time.Millisecond, ClosePageOut: 20 * time.Millisecond}},
		{"0", "0", state.Options{PageOut: -1, ClosePageOut: -1}},
		{"-3", "", state.Options{PageOut: -1}},
	} {
		env := map[string]string{"SHUFFLE_PAGEOUT_MS": tc.pageOut, "SHUFFLE_CLOSE_PAGEOUT_MS": tc.closePageOut}
		if got := stateOptions(func(k string) string { return env[k] }); got.PageOut != tc.want.PageOut || got.ClosePageOut != tc.want.ClosePageOut {
			t.Errorf("PAGEOUT=%q CLOSE=%q: %+v, want %+v", tc.pageOut, tc.closePageOut, got, tc.want)
		}
	}
}
