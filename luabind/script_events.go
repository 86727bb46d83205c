package luabind

import (
	"fmt"
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/events"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// readEventConfig reads shuffle.config's on_event, on_event_kinds and
// failure_burst (docs/events.md).
func readEventConfig(r *fieldReader, cfg *scriptconfig.Config) {
	if cfg.OnEvent = r.strList("on_event"); r.get("on_event") != lua.LNil && len(cfg.OnEvent) == 0 && r.err == nil {
		r.fail("on_event", "must name a command, like on_event = {\"/usr/local/bin/notify-team\", \"--channel\", \"migration\"}")
	}
	cfg.OnEventKinds = r.strList("on_event_kinds")
	if r.get("on_event_kinds") != lua.LNil && r.err == nil {
		if len(cfg.OnEventKinds) == 0 {
			r.fail("on_event_kinds", "must list at least one event kind (leave it out for every kind): %s", hookKinds())
		}
		if cfg.OnEvent == nil {
			r.fail("on_event_kinds", "needs on_event, the command to run for those events")
		}
		for i, k := range cfg.OnEventKinds {
			if _, err := events.ParseHookKind(k); err != nil {
				r.fail(fmt.Sprintf("on_event_kinds[%d]", i+1), "%v", err)
			}
		}
	}
	if bt := r.table("failure_burst", false); bt != nil {
		cfg.FailureBurst = readFailureBurst(readFields(bt, scriptconfig.ConfigFunc, "failure_burst."), &r.err)
	}
}

func hookKinds() string {
	s := ""
	for i, k := range events.HookKinds() {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}

// readFailureBurst reads failure_burst = {failures = N, minutes = M};
// either may be left out for its default (20 in 10 minutes).
func readFailureBurst(r *fieldReader, errp **scriptconfig.FieldError) scriptconfig.FailureBurst {
	var b scriptconfig.FailureBurst
	if n := r.int64p("failures"); n != nil {
		if *n < 1 || *n > 1_000_000 {
			r.fail("failures", "must be between 1 and 1000000 failed copies, got %d", *n)
		}
		b.Failures = int(*n)
	}
	switch v := r.get("minutes").(type) {
	case lua.LNumber:
		if m := float64(v); m <= 0 || m > 7*24*60 || math.IsNaN(m) {
			r.fail("minutes", "must be more than 0 and at most a week (10080), got %s", v)
		} else {
			b.Window = time.Duration(m * float64(time.Minute))
		}
	case *lua.LNilType:
	default:
		r.fail("minutes", "must be a number of minutes, got %s", describe(v))
	}
	if err := r.done(); err != nil && *errp == nil {
		*errp = err
	}
	return b
}
