package luabind

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// on_event, on_event_kinds and failure_burst reach the host as read.
func TestScriptConfigEvents(t *testing.T) {
	src := "local shuffle = require('shuffle')\n" + strings.Replace(validConfig, "copy_role =",
		`on_event = { "/bin/notify", "--team", "ops" }, on_event_kinds = { "window-end", "failure-burst" },
  failure_burst = { failures = 5, minutes = 2.5 },
  copy_role =`, 1)
	var got scriptconfig.Config
	h := &fakeHost{ConfigureFn: func(c scriptconfig.Config) error { got = c; return nil }}
	if err := RunScript(context.Background(), writeScript(t, src), h, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.OnEvent, []string{"/bin/notify", "--team", "ops"}) || !reflect.DeepEqual(got.OnEventKinds, []string{"window-end", "failure-burst"}) {
		t.Errorf("on_event %q, kinds %q", got.OnEvent, got.OnEventKinds)
	}
	if got.FailureBurst != (scriptconfig.FailureBurst{Failures: 5, Window: 150 * time.Second}) {
		t.Errorf("failure_burst %+v", got.FailureBurst)
	}
}

// Bad on_event values stop the script at shuffle.config, naming the
// script, its line and the field, and saying what is wanted.
func TestScriptConfigEventErrors(t *testing.T) {
	for _, tc := range []struct{ fields, field, want string }{
		{`on_event = {},`, "on_event", `shuffle.config: on_event must name a command, like on_event = {"/usr/local/bin/notify-team", "--channel", "migration"}`},
		{`on_event = "notify",`, "on_event", `shuffle.config: on_event must be a table, got "notify"`},
		{`on_event = { "notify", 3 },`, "on_event[2]", `shuffle.config: on_event[2] must be a string, got the number 3`},
		{`on_event_kinds = { "window-end" },`, "on_event_kinds", `shuffle.config: on_event_kinds needs on_event, the command to run for those events`},
		{`on_event = { "n" }, on_event_kinds = {},`, "on_event_kinds", `shuffle.config: on_event_kinds must list at least one event kind (leave it out for every kind): started, vault-created, vault-blocked, compliance-blocked, window-end, paused, resumed, failure-burst, run-finished`},
		{`on_event = { "n" }, on_event_kinds = { "window_end" },`, "on_event_kinds[1]", `shuffle.config: on_event_kinds[1] "window_end" is not an event kind (hook kinds: started, vault-created, vault-blocked, compliance-blocked, window-end, paused, resumed, failure-burst, run-finished)`},
		{`on_event = { "n" }, on_event_kinds = { "paused", "progress" },`, "on_event_kinds[2]", `shuffle.config: on_event_kinds[2] "progress" goes only to ` + "`shuffle run --json`" + `, never to a hook (hook kinds: started, vault-created, vault-blocked, compliance-blocked, window-end, paused, resumed, failure-burst, run-finished)`},
		{`failure_burst = { failures = 0 },`, "failure_burst.failures", `shuffle.config: failure_burst.failures must be between 1 and 1000000 failed copies, got 0`},
		{`failure_burst = { failures = 2.5 },`, "failure_burst.failures", `shuffle.config: failure_burst.failures must be a whole number, got 2.5`},
		{`failure_burst = { minutes = -1 },`, "failure_burst.minutes", `shuffle.config: failure_burst.minutes must be more than 0 and at most a week (10080), got -1`},
		{`failure_burst = { minutes = "10m" },`, "failure_burst.minutes", `shuffle.config: failure_burst.minutes must be a number of minutes, got "10m"`},
		{`failure_burst = { failure = 5 },`, "failure_burst.failure", `shuffle.config: failure_burst.failure is not a known field (known: failures, minutes)`},
		{`failure_burst = 20,`, "failure_burst", `shuffle.config: failure_burst must be a table, got the number 20`},
	} {
		src := "local shuffle = require('shuffle')\n\n" + strings.Replace(validConfig, "copy_role =", tc.fields+" copy_role =", 1) + "shuffle.inventory()\n"
		path := writeScript(t, src)
		h := &fakeHost{}
		err := RunScript(context.Background(), path, h, &bytes.Buffer{})
		var fe *scriptconfig.FieldError
		if want := path + ":3: " + tc.want; err == nil || err.Error() != want || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s:\n got %v (field %v)\nwant %s (field %s)", tc.fields, err, fe, want, tc.field)
		}
		if len(h.calls) != 0 {
			t.Errorf("%s: the host was called: %v", tc.fields, h.calls)
		}
	}
}
