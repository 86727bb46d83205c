package luabind

import (
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// lastCollect is when collectSoon last started a collection (Unix ns).
var lastCollect atomic.Int64

// collectSoon starts a garbage collection, at most one a second: a
// call stopped by its memory budget leaves up to the budget in garbage
// per worker, and the heap would otherwise grow to twice that before
// the collector runs (eight listing workers and two deciders at 64 MiB
// each reached 880 MiB in a test).
func collectSoon() {
	now := time.Now().UnixNano()
	last := lastCollect.Load()
	if now-last < int64(time.Second) || !lastCollect.CompareAndSwap(last, now) {
		return
	}
	go runtime.GC()
}

// budgetError completes be for a call of fnName in module policy: the
// file's path and how to raise the budget.
func (w *Worker) budgetError(be *BudgetError, policy, fnName string) *BudgetError {
	e := *be
	if rest, ok := strings.CutPrefix(e.Where, policy+".lua:"); ok {
		e.Where = filepath.Join(w.p.cfg.Dir, policy+".lua") + ":" + rest
	} else if e.Where == "" {
		e.Where = filepath.Join(w.p.cfg.Dir, policy+".lua")
	}
	e.Func = fnName
	e.Hint = "the policy is stopped and its Lua state rebuilt; if the policy needs more, raise policies.limits." + budgetField[e.Budget] + " in shuffle.config"
	return &e
}

// budgetField is the shuffle.config field (policies.limits.*) of each
// budget.
var budgetField = map[Budget]string{BudgetMemory: "memory_mib", BudgetTime: "time_ms", BudgetInstructions: "instructions"}
