package luabind

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Budget names one bound of a Lua call.
type Budget string

// The budgets of a Lua call (Budgets).
const (
	BudgetMemory       Budget = "memory"
	BudgetTime         Budget = "time"
	BudgetInstructions Budget = "instruction"
)

// DefaultPolicyBudgets bound each policy call (decide, map, tags,
// check, and the loading of a module). A decide of the shipped apmid
// policy takes about 60 instructions and allocates a few hundred bytes.
var DefaultPolicyBudgets = scriptconfig.Budgets{Memory: 64 << 20, Time: DefaultTimeout, Instructions: 1_000_000}

// DefaultScriptBudgets bound each stretch of the operator's script
// between two shuffle calls (and the stretch before the first and after
// the last). The time the shuffle functions themselves take (an
// inventory, days of copying) does not count.
var DefaultScriptBudgets = scriptconfig.Budgets{Memory: 256 << 20, Time: time.Minute, Instructions: 100_000_000}

// ErrInstructionLimit is the cause of a call stopped by its instruction
// budget; ErrTimeout and ErrMemoryLimit those stopped by their time and
// memory budgets.
var ErrInstructionLimit = errors.New("instruction budget exceeded")

// BudgetError is a call stopped because it went over one of its
// budgets. The Lua state it ran in is discarded.
type BudgetError struct {
	Budget Budget
	Where  string // "apmid.lua:12", or "" when unknown
	Func   string // the function called ("decide"), or ""
	Limit  string // the budget, as set ("64 MiB", "200ms", "1000000 instructions")
	Detail string // what was measured, or ""
	Hint   string // how to raise the budget, or ""
}

func (e *BudgetError) Error() string {
	msg := fmt.Sprintf("%s budget of %s exceeded", e.Budget, e.Limit)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Func != "" {
		msg = e.Func + ": " + msg
	}
	if e.Where != "" {
		msg = e.Where + ": " + msg
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap gives ErrMemoryLimit, ErrTimeout or ErrInstructionLimit.
func (e *BudgetError) Unwrap() error {
	switch e.Budget {
	case BudgetMemory:
		return ErrMemoryLimit
	case BudgetTime:
		return ErrTimeout
	}
	return ErrInstructionLimit
}

const allocMetric = "/gc/heap/allocs:bytes"

// Sampling cadence of budgetCtx, in VM instructions: a check costs
// about 0.3µs (a clock read and a runtime/metrics read), a Lua
// instruction 10 to 50ns.
const (
	checkEvery     = 256
	checkEveryNear = 16 // once a quarter of the memory budget is used
)

// budgetCtx is the context of a call with budgets. gopher-lua calls
// Done once per VM instruction while a context is set
// (mainLoopWithContext), so Done counts instructions, and every
// checkEvery of them checks the clock, the allocation counter and the
// parent context. The heap watchdog (heap.go) also stops the call, from
// its own goroutine, for time spent in Go functions and for memory that
// grows faster than instructions run (`s = s .. s` doubles a string in
// one instruction).
//
// Done, Err and charge run on the Lua state's goroutine only; stop may
// run on any.
type budgetCtx struct {
	parent     context.Context
	parentDone <-chan struct{}
	L          *lua.LState // whose VM calls Done
	b          scriptconfig.Budgets
	done       chan struct{}
	stopped    atomic.Bool
	mu         sync.Mutex
	cause      *BudgetError // or nil when the parent stopped the call
	parentErr  error

	// The Lua goroutine's counters.
	n, next   int64
	start     time.Time
	based     bool   // allocBase is set (at the first check)
	allocBase uint64 // the allocation counter at the first check
	charged   uint64 // bytes charged before the first check
	recent    uint64 // bytes charged since the last check
	used      uint64 // bytes counted at the last check
	sample    []metrics.Sample
}

func newBudgetCtx(L *lua.LState, parent context.Context, b scriptconfig.Budgets) *budgetCtx {
	return &budgetCtx{L: L, parent: parent, parentDone: parent.Done(), b: b, done: make(chan struct{}),
		next: checkEvery, start: time.Now(), sample: []metrics.Sample{{Name: allocMetric}}}
}

// restart makes c, which no budget stopped, the context of a new call
// with parent and budgets b, begun at start.
func (c *budgetCtx) restart(parent context.Context, b scriptconfig.Budgets, start time.Time) {
	c.parent, c.parentDone, c.b = parent, parent.Done(), b
	c.reset(start)
}

func (c *budgetCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *budgetCtx) Value(key any) any           { return c.parent.Value(key) }

// Done counts one instruction, charges the string a `..` is about to
// build (concatBytes), and checks the budgets every so often.
func (c *budgetCtx) Done() <-chan struct{} {
	c.n++
	if c.L != nil && c.b.Memory > 0 {
		if n := concatBytes(c.L); n > 0 {
			c.charge(n, "a `..` of ")
		}
	}
	if c.n >= c.next {
		c.check()
	}
	return c.done
}

// Err is the reason the call stopped, once it has. A Go function that
// checks it (pattern matching) also sees the parent context end.
func (c *budgetCtx) Err() error {
	if !c.stopped.Load() {
		select {
		case <-c.parentDone:
			c.stop(c.parent.Err())
		default:
			return nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause != nil {
		return c.cause
	}
	return c.parentErr
}

// stopErr is what stopped the call: a *BudgetError or the parent's
// error; nil if it has not stopped.
func (c *budgetCtx) stopErr() (*BudgetError, error) {
	if !c.stopped.Load() {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause, c.parentErr
}

// stop ends the call with cause (a *BudgetError) or, when cause is not
// one, the parent's error. The first stop wins.
func (c *budgetCtx) stop(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.Load() {
		return
	}
	var be *BudgetError
	if errors.As(cause, &be) {
		c.cause = be
	} else {
		c.parentErr = cause
	}
	c.stopped.Store(true)
	close(c.done)
}

func (c *budgetCtx) over(b Budget, limit, detail string) {
	c.stop(&BudgetError{Budget: b, Limit: limit, Detail: detail})
}

// check runs on the Lua goroutine every so many instructions.
func (c *budgetCtx) check() {
	c.next = c.n + checkEvery
	if c.L != nil {
		capTailCalls(c.L)
	}
	if c.stopped.Load() {
		return
	}
	select {
	case <-c.parentDone:
		c.stop(c.parent.Err())
		return
	default:
	}
	if c.b.Instructions > 0 && c.n > c.b.Instructions {
		c.over(BudgetInstructions, fmt.Sprintf("%d instructions", c.b.Instructions), "")
		return
	}
	if c.b.Memory > 0 {
		metrics.Read(c.sample)
		now := c.sample[0].Value.Uint64()
		if !c.based {
			c.based, c.allocBase, c.charged = true, now, c.charged+c.recent
		}
		c.used, c.recent = (now-c.allocBase)/uint64(max(heap.inCall.Load(), 1))+c.charged, 0
		if c.used > c.b.Memory {
			c.over(BudgetMemory, byteSize(c.b.Memory), approxSize(c.used)+" allocated")
			return
		}
		if c.used > c.b.Memory/4 {
			c.next = c.n + checkEveryNear
		}
	}
	if c.b.Time > 0 && time.Since(c.start) > c.b.Time {
		c.over(BudgetTime, c.b.Time.String(), "")
		return
	}
}

// charge counts n bytes a Go function is about to allocate for the
// call, and reports whether the memory budget allows them. Library
// functions that build strings charge their results, which the
// allocation counter would see only at the next check.
func (c *budgetCtx) charge(n int64, what string) bool {
	if c.b.Memory == 0 || n <= 0 {
		return true
	}
	c.recent += uint64(n)
	if total := c.used + c.recent; total > c.b.Memory {
		c.over(BudgetMemory, byteSize(c.b.Memory), what+approxSize(uint64(n))+" on top of "+approxSize(c.used+c.recent-uint64(n)))
		return false
	}
	return true
}

// reset starts a new stretch at start: counters back to zero.
func (c *budgetCtx) reset(start time.Time) {
	c.n, c.next, c.start = 0, checkEvery, start
	c.based, c.charged, c.recent, c.used = false, 0, 0, 0
}

// approxSize renders n bytes for a message, rounded down.
func approxSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
