package luabind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Limits bound what one Lua state may use, beside the budgets of each
// call (Budgets, budget.go; docs/lua-api.md, "The sandbox"):
//   - the call stack and the data stack have fixed maximum sizes, so deep
//     recursion fails with "stack overflow";
//   - the library functions that build a large value in one step
//     (string.rep, string.format, string.gsub, table.concat) refuse a
//     result over MaxStringBytes;
//   - pattern matching recurses at most 1<<16 levels (longer subjects
//     fail with "pattern/input too complex") and checks the call's
//     context as it backtracks;
//   - while a call with budgets runs, the heap watchdog also stops it
//     when the process heap passes HeapLimit.
type Limits struct {
	CallStackSize   int    // Lua call frames
	RegistrySize    int    // initial data-stack slots
	RegistryMaxSize int    // data-stack slots the state may grow to
	MaxStringBytes  int    // largest string string.rep, string.format, string.gsub and table.concat return
	HeapLimit       uint64 // process heap, in bytes, above which time-limited calls stop; 0: no watchdog
}

// DefaultLimits apply to every state; a zero field of Options.Limits
// takes its value from here.
var DefaultLimits = Limits{
	CallStackSize:   200,
	RegistrySize:    4 << 10,
	RegistryMaxSize: 64 << 10,
	MaxStringBytes:  1 << 20,
	HeapLimit:       1 << 30,
}

// DefaultTimeout is the time limit of one policy call.
const DefaultTimeout = 200 * time.Millisecond

// Options configure NewState.
type Options struct {
	// Dir names the directory Modules come from, for require's errors.
	Dir string
	// Modules are the Lua modules require may load, by name, compiled
	// once and shared by every state (a *lua.FunctionProto is safe to
	// share across states).
	Modules map[string]*lua.FunctionProto
	// Preload are Go modules require may load, by name: each loader
	// pushes the module table. The helpers module is always available.
	Preload map[string]lua.LGFunction
	// Print receives print's output; nil discards it.
	Print io.Writer
	// Strict makes reading or assigning an undeclared global an error,
	// so a policy cannot keep state between calls in globals.
	Strict bool
	Limits Limits
}

// ErrTimeout and ErrMemoryLimit are the causes of a call stopped by its
// time limit or by the heap watchdog.
var (
	ErrTimeout     = errors.New("timed out")
	ErrMemoryLimit = errors.New("memory limit exceeded")
)

// otherRoles names the built-in modules a state may not load because
// they belong to another kind of script.
var otherRoles = map[string]string{
	"shuffle": "the operator's script",
	"testing": "policy tests (*_test.lua)",
	"repl":    "the operator's REPL (shuffle repl)",
}

// removed are the globals a sandbox does not have.
var removed = map[string]bool{
	"os": true, "io": true, "debug": true, "coroutine": true, "channel": true, "package": true,
	"dofile": true, "loadfile": true, "load": true, "loadstring": true, "collectgarbage": true,
	"getfenv": true, "setfenv": true, "module": true, "newproxy": true, "_printregs": true,
}

// sandbox is one restricted Lua state and its module cache.
type sandbox struct {
	L       *lua.LState
	opts    Options
	limits  Limits
	loaded  map[string]lua.LValue
	loading map[string]bool
	rpView  *rpView

	// The context of calls (call), reset for each call and made anew
	// after a call that a budget stopped, and the watchdog's record.
	bctx    *budgetCtx
	watched *watchedCall
}

// release cancels the sandbox's call context and unregisters it from
// the watchdog; the state is closed by its owner.
func (s *sandbox) release() {
	s.bctx = nil
	if s.watched != nil {
		heap.forget(s.watched)
		s.watched = nil
	}
}

// NewState returns a Lua state that can run untrusted policy code:
//   - base functions without dofile, loadfile, load, loadstring,
//     collectgarbage, getfenv, setfenv, module and newproxy;
//   - string (without dump), table and math (without random and
//     randomseed, so results are deterministic), with size caps;
//   - no os, io, debug, coroutine, channel or package library;
//   - require, which loads only the helpers module, opts.Preload and
//     opts.Modules, never a file;
//   - print writing to opts.Print.
//
// The state is not safe for concurrent use. Close it when done.
func NewState(opts Options) *lua.LState { return newSandbox(opts).L }

func newSandbox(opts Options) *sandbox {
	lim := opts.Limits.withDefaults()
	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    lim.CallStackSize,
		RegistrySize:     lim.RegistrySize,
		RegistryMaxSize:  lim.RegistryMaxSize,
		RegistryGrowStep: 1 << 10,
	})
	s := &sandbox{L: L, opts: opts, limits: lim, loaded: map[string]lua.LValue{}, loading: map[string]bool{}}
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for name := range removed {
		g.RawSetString(name, lua.LNil)
	}
	str := L.GetGlobal("string").(*lua.LTable)
	str.RawSetString("dump", lua.LNil)
	math := L.GetGlobal("math").(*lua.LTable)
	math.RawSetString("random", lua.LNil)
	math.RawSetString("randomseed", lua.LNil)
	s.capStrings(str, L.GetGlobal("table").(*lua.LTable))
	// The libraries registered themselves in the registry's _LOADED
	// table; require has its own cache, so drop it.
	L.Get(lua.RegistryIndex).(*lua.LTable).RawSetString("_LOADED", lua.LNil)

	g.RawSetString("require", L.NewFunction(s.luaRequire))
	// pairs honours a __pairs metamethod (as in Lua 5.2), so the
	// read-only rp tables can be iterated.
	rawPairs := g.RawGetString("pairs")
	g.RawSetString("pairs", L.NewFunction(func(L *lua.LState) int {
		if mm := L.GetMetaField(L.Get(1), "__pairs"); mm != lua.LNil {
			L.Push(mm)
			L.Push(L.Get(1))
			L.Call(1, 3)
			return 3
		}
		L.Push(rawPairs)
		L.Push(L.Get(1))
		L.Call(1, 3)
		return 3
	}))
	g.RawSetString("print", L.NewFunction(s.print))
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		name, _ := L.Get(2).(lua.LString)
		if removed[string(name)] {
			L.RaiseError("%s is not available in shuffle's Lua sandbox (no os, io, debug, coroutine or package library, and no loading of code or files)", name)
		}
		if opts.Strict {
			L.RaiseError("undefined global %s", describe(L.Get(2)))
		}
		return 0
	}))
	if opts.Strict {
		mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("assignment to undeclared global %s (declare it local)", describe(L.Get(2)))
			return 0
		}))
	}
	mt.RawSetString("__metatable", lua.LString("the globals' metatable is protected"))
	L.SetMetatable(g, mt)
	return s
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.CallStackSize > 0 {
		d.CallStackSize = l.CallStackSize
	}
	if l.RegistrySize > 0 {
		d.RegistrySize = l.RegistrySize
	}
	if l.RegistryMaxSize > 0 {
		d.RegistryMaxSize = l.RegistryMaxSize
	}
	if l.MaxStringBytes > 0 {
		d.MaxStringBytes = l.MaxStringBytes
	}
	if l.HeapLimit > 0 {
		d.HeapLimit = l.HeapLimit
	}
	return d
}

// luaRequire is require(name).
func (s *sandbox) luaRequire(L *lua.LState) int {
	L.Push(s.require(L, L.CheckString(1)))
	return 1
}

// require loads module name (once per state) and returns its value. It
// raises a Lua error for a module that is not allowed.
func (s *sandbox) require(L *lua.LState, name string) lua.LValue {
	if v, ok := s.loaded[name]; ok {
		return v
	}
	if s.loading[name] {
		L.RaiseError("require %s: module %s requires itself (a require loop)", name, name)
	}
	var fn *lua.LFunction
	switch loader, proto := s.opts.Preload[name], s.opts.Modules[name]; {
	case name == "helpers":
		fn = L.NewFunction(loadHelpers)
	case loader != nil:
		fn = L.NewFunction(loader)
	case proto != nil:
		fn = L.NewFunctionFromProto(proto)
	case otherRoles[name] != "":
		L.RaiseError("require %s: the %s module is only available to %s", name, name, otherRoles[name])
	case !scriptconfig.ValidModuleName(name):
		L.RaiseError("require %q: module names are letters, digits and _ only; %s", name, s.allowed())
	default:
		L.RaiseError("require %s: %s", name, s.allowed())
	}
	s.loading[name] = true
	L.Push(fn)
	L.Push(lua.LString(name))
	L.Call(1, 1)
	delete(s.loading, name)
	v := L.Get(-1)
	L.Pop(1)
	if v == lua.LNil {
		v = lua.LTrue
	}
	s.loaded[name] = v
	return v
}

func (s *sandbox) allowed() string {
	builtins := []string{"helpers"}
	for name := range s.opts.Preload {
		builtins = append(builtins, name)
	}
	sort.Strings(builtins)
	list := strings.Join(builtins, ", ")
	if s.opts.Dir == "" {
		return "only the built-in modules (" + list + ") are allowed"
	}
	return "only modules in " + s.opts.Dir + " and the built-in modules (" + list + ") are allowed"
}

func (s *sandbox) print(L *lua.LState) int {
	if s.opts.Print == nil {
		return 0
	}
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	b.WriteByte('\n')
	io.WriteString(s.opts.Print, b.String())
	return 0
}

// capStrings replaces the library functions that can build a huge string
// in one step with versions that refuse results over MaxStringBytes, and
// the pattern functions with ones the time limit can stop
// (patterns.go).
func (s *sandbox) capStrings(str, tbl *lua.LTable) {
	L := s.L
	limit := s.limits.MaxStringBytes
	tooBig := func(L *lua.LState, fn string, n int64) {
		L.RaiseError("%s: result of %d bytes is over the %s limit", fn, n, byteSize(uint64(limit)))
	}
	str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		src := L.CheckString(1)
		n := L.CheckInt(2)
		if n <= 0 || src == "" {
			L.Push(lua.LString(""))
			return 1
		}
		if total := int64(len(src)) * int64(n); total > int64(limit) || total/int64(n) != int64(len(src)) {
			tooBig(L, "string.rep", total)
		}
		s.charge(L, int64(len(src))*int64(n))
		L.Push(lua.LString(strings.Repeat(src, n)))
		return 1
	}))
	origFormat := str.RawGetString("format")
	str.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
		f := L.CheckString(1)
		if err := checkFormat(f); err != "" {
			L.ArgError(1, err)
		}
		return s.callCapped(L, origFormat, "string.format")
	}))
	str.RawSetString("gsub", L.NewFunction(s.strGsub))
	str.RawSetString("find", L.NewFunction(strFind))
	str.RawSetString("match", L.NewFunction(strMatch))
	str.RawSetString("gmatch", L.NewFunction(strGmatch))
	str.RawSetString("gfind", L.NewFunction(strGmatch))
	tbl.RawSetString("concat", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := L.OptString(2, "")
		i := L.OptInt(3, 1)
		j := L.OptInt(4, t.Len())
		var total int64
		parts := make([]string, 0, max(j-i+1, 0))
		for k := i; k <= j; k++ {
			v := t.RawGetInt(k)
			switch v.(type) {
			case lua.LString, lua.LNumber:
			default:
				L.RaiseError("table.concat: invalid value (a %s) at index %d", v.Type(), k)
			}
			part := v.String()
			total += int64(len(part))
			if k > i {
				total += int64(len(sep))
			}
			if total > int64(limit) {
				tooBig(L, "table.concat", total)
			}
			parts = append(parts, part)
		}
		s.charge(L, total)
		L.Push(lua.LString(strings.Join(parts, sep)))
		return 1
	}))
}

// callCapped calls the library function fn with this call's arguments
// and refuses a first result longer than MaxStringBytes.
func (s *sandbox) callCapped(L *lua.LState, fn lua.LValue, name string) int {
	n := L.GetTop()
	L.Insert(fn, 1)
	L.Call(n, lua.MultRet)
	if str, ok := L.Get(1).(lua.LString); ok {
		if len(str) > s.limits.MaxStringBytes {
			L.RaiseError("%s: result of %d bytes is over the %s limit", name, len(str), byteSize(uint64(s.limits.MaxStringBytes)))
		}
		s.charge(L, int64(len(str)))
	}
	return L.GetTop()
}

// checkFormat rejects format widths and precisions over two digits, as
// Lua 5.1 does, so one directive cannot produce megabytes.
func checkFormat(f string) string {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		digits := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
			digits++
		}
		if i < len(f) && f[i] == '.' {
			i++
			p := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
				p++
			}
			digits = max(digits, p)
		}
		if digits > 2 {
			return "invalid format (width or precision too long)"
		}
	}
	return ""
}

// call runs fn in the state under budgets b (a zero field: no bound)
// and the heap watchdog. It returns the nret results, or an error whose
// message is the Lua error without its stack traceback ("apmid.lua:12:
// attempt to index a nil value"). A call stopped by a budget returns a
// *BudgetError (wrapping ErrTimeout, ErrMemoryLimit or
// ErrInstructionLimit) with the position it stopped at; one stopped by
// ctx wraps ctx's error.
func (s *sandbox) call(ctx context.Context, b scriptconfig.Budgets, fn lua.LValue, nret int, args ...lua.LValue) ([]lua.LValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	L := s.L
	// One context per sandbox, reset for each call, unless a call
	// stopped it.
	c := s.bctx
	if c == nil || c.stopped.Load() {
		c = newBudgetCtx(L, ctx, b)
		s.bctx = c
	} else {
		c.restart(ctx, b, time.Now())
	}
	if b.Time > 0 || b.Memory > 0 {
		if s.watched == nil {
			s.watched = &watchedCall{}
		}
		heap.beginBudget(s.watched, c.start, b.Time, s.limits.HeapLimit, b.Memory, c.stop)
		defer s.watched.end()
	}
	L.SetContext(c)
	defer L.RemoveContext()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), nret, nil); err != nil {
		return nil, s.callError(c, err)
	}
	rets := make([]lua.LValue, nret)
	for i := range rets {
		rets[i] = L.Get(-nret + i)
	}
	L.Pop(nret)
	return rets, nil
}

// callError is the error of a call that failed: the budget or context
// that stopped it, at the position it stopped, or the Lua error. A
// call stopped by its budget fails with that, even if a pcall in the
// policy caught the first error and another followed.
func (s *sandbox) callError(c *budgetCtx, err error) error {
	msg := errorMessage(err)
	be, perr := c.stopErr()
	switch {
	case be != nil:
		e := *be
		if i := strings.Index(msg, be.Error()); i > 0 {
			e.Where = strings.TrimSuffix(strings.TrimSpace(msg[:i]), ":")
		}
		return &e
	case perr != nil:
		if i := strings.Index(msg, perr.Error()); i > 0 {
			return fmt.Errorf("%s %w", strings.TrimSpace(msg[:i]), perr)
		}
		return perr
	}
	return errors.New(msg)
}

// charge counts n bytes a library function is about to allocate
// against the memory budget of the running call, and raises the budget
// error if they do not fit.
func (s *sandbox) charge(L *lua.LState, n int64) { chargeL(L, n) }

func chargeL(L *lua.LState, n int64) {
	if c, ok := L.Context().(*budgetCtx); ok && !c.charge(n, "") {
		L.RaiseError("%s", c.Err().Error())
	}
}

// errorMessage is a Lua error's message without the stack traceback,
// which is noise to the people who read shuffle's errors.
func errorMessage(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if ae.Object != nil {
			return ae.Object.String()
		}
		if ae.Cause != nil {
			return ae.Cause.Error()
		}
	}
	return err.Error()
}

// describe renders a Lua value for an error message.
func describe(v lua.LValue) string {
	switch v := v.(type) {
	case *lua.LNilType:
		return "nil"
	case lua.LString:
		if len(v) > 60 {
			return fmt.Sprintf("%q...", string(v[:60]))
		}
		return fmt.Sprintf("%q", string(v))
	case lua.LNumber:
		return "the number " + v.String()
	case lua.LBool:
		return v.String()
	default:
		return "a " + v.Type().String()
	}
}

func byteSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
