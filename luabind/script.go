package luabind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Host runs the engine primitives for a script. Each method returns a
// summary that the script receives as a Lua table: nested maps with
// string keys, slices, numbers, strings and bools.
type Host interface {
	Configure(cfg scriptconfig.Config) error
	Inventory(ctx context.Context) (map[string]any, error)
	Enrich(ctx context.Context) (map[string]any, error)
	Decide(ctx context.Context) (map[string]any, error)
	Replicate(ctx context.Context) (map[string]any, error)
	Copy(ctx context.Context, args scriptconfig.CopyArgs) (map[string]any, error)
}

// ScriptError is an error in the operator's script, at a line of it.
// Err is the cause: a Host error (kept for errors.As and errors.Is), a
// *ConfigError, a context error, or the Lua error message.
type ScriptError struct {
	File string
	Line int // 0 when unknown
	Err  error
}

// Error gives `file:line: cause`.
func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the cause.
func (e *ScriptError) Unwrap() error { return e.Err }

// shuffleFuncs is the shuffle module of the operator's script. Every Lua
// signature is in shuffle.d.lua.
var shuffleFuncs = map[string]lua.LGFunction{
	"config":    shuffleConfig,
	"inventory": shuffleInventory,
	"enrich":    shuffleEnrich,
	"decide":    shuffleDecide,
	"replicate": shuffleReplicate,
	"copy":      shuffleCopy,
}

// scriptModule is the state of one script run, the upvalue of every
// shuffle function.
type scriptModule struct {
	ctx  context.Context
	host Host
	file string
	cfg  *scriptconfig.Config
	// The budgets of the script's own Lua work: each stretch between
	// two shuffle calls (ScriptBudgets).
	budgets scriptconfig.Budgets
	bctx    *budgetCtx
	watched *watchedCall
	limits  Limits
}

func moduleOf(L *lua.LState) *scriptModule {
	return L.CheckUserData(lua.UpvalueIndex(1)).Value.(*scriptModule)
}

// ScriptBudgets bound the operator's script's own Lua work: each
// stretch of it between two shuffle calls. The shuffle calls themselves
// (an inventory, days of copying) are not counted.
var ScriptBudgets = DefaultScriptBudgets

// RunScript runs the operator's script at path in a sandbox like the
// policies' (no os, io or file loading); ctx cancels it. Its own Lua
// work is bounded by ScriptBudgets, the time and memory of the shuffle
// calls it makes are not. print writes to out, and require("shuffle")
// gives the engine primitives, run by host. Errors are *ScriptError,
// naming the script line.
func RunScript(ctx context.Context, path string, host Host, out io.Writer) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	proto, err := compile(src, path, path)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return &ScriptError{File: path, Line: se.Line, Err: errors.New(se.Msg)}
		}
		return err
	}
	m := &scriptModule{ctx: ctx, host: host, file: path, budgets: ScriptBudgets, watched: &watchedCall{}}
	s := newSandbox(Options{
		Preload: map[string]lua.LGFunction{"shuffle": m.load},
		Print:   out,
	})
	L := s.L
	defer L.Close()
	m.limits = s.limits
	m.bctx = newBudgetCtx(L, ctx, m.budgets)
	L.SetContext(m.bctx)
	m.resume()
	defer m.watched.end()
	defer heap.forget(m.watched)
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 0, nil); err != nil {
		return m.scriptError(err)
	}
	return nil
}

// resume starts a stretch of the script's Lua work under its budgets.
func (m *scriptModule) resume() {
	m.bctx.reset(time.Now())
	if b := m.budgets; b.Time > 0 || b.Memory > 0 {
		heap.beginBudget(m.watched, m.bctx.start, b.Time, m.limits.HeapLimit, b.Memory, m.bctx.stop)
	}
}

// outside runs fn, a shuffle call, outside the script's budgets, and
// starts a new stretch after it.
func (m *scriptModule) outside(fn func()) {
	m.watched.end()
	defer m.resume()
	fn()
}

func (m *scriptModule) load(L *lua.LState) int {
	ud := L.NewUserData()
	ud.Value = m
	L.Push(L.SetFuncs(L.NewTable(), shuffleFuncs, ud))
	return 1
}

// scriptError turns an error of the script's run into a *ScriptError.
func (m *scriptModule) scriptError(err error) error {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if ud, ok := ae.Object.(*lua.LUserData); ok {
			if se, ok := ud.Value.(*ScriptError); ok {
				return se
			}
		}
	}
	msg := errorMessage(err)
	line := 0
	if rest, ok := strings.CutPrefix(msg, m.file+":"); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, strings.TrimPrefix(rest[i+1:], " ")
			}
		}
	}
	var cause error = errors.New(msg)
	if be, _ := m.bctx.stopErr(); be != nil {
		e := *be
		e.Where = "" // the ScriptError says where
		e.Hint = "the script's own Lua work between two shuffle calls is bounded; do the work in a policy, or in fewer steps"
		cause = &e
	}
	if m.ctx.Err() != nil {
		cause = m.ctx.Err()
	}
	return &ScriptError{File: m.file, Line: line, Err: cause}
}

// raise raises err as a Lua error carrying a *ScriptError at the line
// of the calling script code, so that RunScript returns err itself in
// the chain. tostring of the error value gives the message.
func (m *scriptModule) raise(L *lua.LState, err error) {
	se := &ScriptError{File: m.file, Line: callerLine(L), Err: err}
	ud := L.NewUserData()
	ud.Value = se
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(se.Error()))
		return 1
	}))
	ud.Metatable = mt
	L.Error(ud, 0)
}

// callerLine is the current line of the Lua code that called the
// running Go function.
func callerLine(L *lua.LState) int {
	for level := 1; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return 0
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
			return dbg.CurrentLine
		}
	}
}

// shuffleConfig is shuffle.config(cfg): declares the source and
// destination, the metadata CSV, the copy role and the policies.
func shuffleConfig(L *lua.LState) int {
	m := moduleOf(L)
	if m.cfg != nil {
		m.raise(L, fmt.Errorf("shuffle.config: called twice (first at line %d)", m.cfg.Line))
	}
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		m.raise(L, fmt.Errorf("shuffle.config: want a table, like shuffle.config{ source = {...}, ... }, got %s", describe(L.Get(1))))
	}
	cfg, cerr := readScriptConfig(t)
	if cerr != nil {
		m.raise(L, cerr)
	}
	cfg.Line = callerLine(L)
	var err error
	m.outside(func() { err = m.host.Configure(cfg) })
	if err != nil {
		m.raise(L, err)
	}
	m.cfg = &cfg
	return 0
}

// readScriptConfig reads shuffle.config's table: each field for its
// type and value, then what spans fields (scriptconfig.Config.Check).
func readScriptConfig(t *lua.LTable) (scriptconfig.Config, *scriptconfig.FieldError) {
	r := readFields(t, scriptconfig.ConfigFunc, "")
	var cfg scriptconfig.Config
	cfg.Source = readEndpoint(r, "source")
	cfg.Destination = readEndpoint(r, "destination")
	cfg.Metadata = r.str("metadata", true)
	cfg.CopyRole = r.str("copy_role", true)
	if cfg.OnPause = r.strList("on_pause"); r.get("on_pause") != lua.LNil && len(cfg.OnPause) == 0 && r.err == nil {
		r.fail("on_pause", "must name a command, like on_pause = {\"notify-send\", \"shuffle paused\"}")
	}
	readEventConfig(r, &cfg)
	if pt := r.table("policies", true); pt != nil {
		cfg.Policies = readPolicyConfig(readFields(pt, scriptconfig.ConfigFunc, "policies."), &r.err)
	}
	if err := r.done(); err != nil {
		return cfg, err
	}
	if err := cfg.Check(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// readEndpoint reads shuffle.config's source or destination table.
func readEndpoint(r *fieldReader, name string) scriptconfig.Endpoint {
	et := r.table(name, true)
	if et == nil {
		return scriptconfig.Endpoint{}
	}
	er := readFields(et, scriptconfig.ConfigFunc, name+".")
	// profile and region may be left out: engine/profiles then takes
	// them from the flags, the environment and the profile.
	e := scriptconfig.Endpoint{Profile: er.str("profile", false), Region: er.str("region", false)}
	if er.get("profile") != lua.LNil && strings.TrimSpace(e.Profile) == "" {
		from := "--destination-profile"
		if name == "source" {
			from = "--source-profile or AWS_PROFILE"
		}
		er.fail("profile", "must not be empty (leave it out to take the profile from %s)", from)
	}
	switch v := er.get("account").(type) {
	case lua.LString:
		if !scriptconfig.ValidAccount(string(v)) {
			er.fail("account", "must be a 12-digit account id, got %s", describe(v))
		}
		e.Account = string(v)
	case lua.LNumber:
		er.fail("account", "must be a 12-digit account id in quotes, got %s (quote it: \"%s\")", describe(v), v)
	case *lua.LNilType:
		er.fail("account", "is required (the 12-digit account id the profile must resolve to)")
	default:
		er.fail("account", "must be a 12-digit account id, got %s", describe(v))
	}
	if er.get("region") != lua.LNil && !scriptconfig.ValidRegion(e.Region) {
		er.fail("region", "must be an AWS region like us-east-1, got %q", e.Region)
	}
	if err := er.done(); err != nil && r.err == nil {
		r.err = err
	}
	return e
}

// readPolicyConfig reads shuffle.config's policies table; its first
// problem goes to *errp unless that holds one already.
func readPolicyConfig(pr *fieldReader, errp **scriptconfig.FieldError) scriptconfig.PolicyConfig {
	pc := scriptconfig.PolicyConfig{Dir: pr.str("dir", false), Vaults: pr.str("vaults", false), Tags: pr.str("tags", false), Compliance: pr.str("compliance", false)}
	if pc.Dir == "" {
		pc.Dir = "policies"
	}
	switch v := pr.get("decide").(type) {
	case lua.LString:
		pc.Decide = []string{string(v)}
	default:
		pc.Decide = pr.strList("decide")
		if len(pc.Decide) == 0 {
			pr.fail("decide", "must list at least one policy module, like decide = {\"apmid\"}")
		}
	}
	for i, name := range pc.Decide {
		if !scriptconfig.ValidModuleName(name) {
			pr.fail(fmt.Sprintf("decide[%d]", i+1), "must be a module name (letters, digits and _; the file name without .lua), got %q", name)
		}
	}
	if lt := pr.table("limits", false); lt != nil {
		pc.Budgets = readBudgets(readFields(lt, scriptconfig.ConfigFunc, "policies.limits."), errp)
	}
	for _, f := range []struct{ field, name string }{{"vaults", pc.Vaults}, {"tags", pc.Tags}, {"compliance", pc.Compliance}} {
		if f.name != "" && !scriptconfig.ValidModuleName(f.name) {
			pr.fail(f.field, "must be a module name (letters, digits and _; the file name without .lua), got %q", f.name)
		}
	}
	if err := pr.done(); err != nil && *errp == nil {
		*errp = err
	}
	return pc
}

// readBudgets reads policies.limits: memory_mib, time_ms and
// instructions, each optional (the default for what is absent).
func readBudgets(r *fieldReader, errp **scriptconfig.FieldError) scriptconfig.Budgets {
	var b scriptconfig.Budgets
	positive := func(name string, max int64) int64 {
		n := r.int64p(name)
		switch {
		case n == nil:
			return 0
		case *n < 1 || *n > max:
			r.fail(name, "must be between 1 and %d, got %d", max, *n)
			return 0
		}
		return *n
	}
	b.Memory = uint64(positive("memory_mib", scriptconfig.MaxMemoryMiB)) << 20
	b.Time = time.Duration(positive("time_ms", scriptconfig.MaxTimeMs)) * time.Millisecond
	b.Instructions = positive("instructions", scriptconfig.MaxInstructions)
	if err := r.done(); err != nil && *errp == nil {
		*errp = err
	}
	return b
}

// shuffleInventory is shuffle.inventory() -> summary: lists the source
// vaults and recovery points into state.
func shuffleInventory(L *lua.LState) int {
	return callHost(L, "inventory", Host.Inventory)
}

// shuffleEnrich is shuffle.enrich() -> summary: joins the metadata CSV
// to the inventory.
func shuffleEnrich(L *lua.LState) int {
	return callHost(L, "enrich", Host.Enrich)
}

// shuffleDecide is shuffle.decide() -> summary: applies the eligibility
// rules and the policies to every recovery point not yet decided under
// the current policy hash.
func shuffleDecide(L *lua.LState) int {
	return callHost(L, "decide", Host.Decide)
}

// shuffleReplicate is shuffle.replicate() -> summary: creates the
// destination vaults that are missing, like for like.
func shuffleReplicate(L *lua.LState) int {
	return callHost(L, "replicate", Host.Replicate)
}

// shuffleCopy is shuffle.copy{...} -> summary: starts and tracks copy
// jobs for every included recovery point.
func shuffleCopy(L *lua.LState) int {
	m := moduleOf(L)
	var args scriptconfig.CopyArgs
	switch t := L.Get(1).(type) {
	case *lua.LTable:
		r := readFields(t, "shuffle.copy", "")
		num := func(name string, min float64) float64 {
			switch v := r.get(name).(type) {
			case lua.LNumber:
				if float64(v) < min {
					r.fail(name, "must be at least %v, got %v", min, v)
				}
				return float64(v)
			case *lua.LNilType:
			default:
				r.fail(name, "must be a number, got %s", describe(v))
			}
			return 0
		}
		args.MaxInFlight = int(num("max_in_flight", 1))
		args.VaultCap = int(num("vault_cap", 1))
		args.MaxAttempts = int(num("max_attempts", 1))
		args.RetryBase = num("retry_base", 0.001)
		args.StartWorkers = int(num("start_workers", 1))
		args.StartTPS = num("start_tps", 0.1)
		args.PollMin = num("poll_min", 0.001)
		args.PollMax = num("poll_max", 0.001)
		args.BusyBackoff = num("busy_backoff", 0.001)
		args.CallBackoff = num("call_backoff", 0.001)
		if v := r.get("wait"); v != lua.LNil {
			b, ok := v.(lua.LBool)
			if !ok {
				r.fail("wait", "must be true or false, got %s", describe(v))
			}
			args.NoWait = !bool(b)
		}
		if err := r.done(); err != nil {
			m.raise(L, err)
		}
	case *lua.LNilType:
	default:
		m.raise(L, fmt.Errorf("shuffle.copy: want a table of options or nothing, got %s", describe(L.Get(1))))
	}
	args.Line = callerLine(L)
	return callHost(L, "copy", func(h Host, ctx context.Context) (map[string]any, error) { return h.Copy(ctx, args) })
}

func callHost(L *lua.LState, name string, fn func(Host, context.Context) (map[string]any, error)) int {
	m := moduleOf(L)
	if m.cfg == nil {
		m.raise(L, fmt.Errorf("shuffle.%s: call shuffle.config first", name))
	}
	var summary map[string]any
	var err error
	m.outside(func() { summary, err = fn(m.host, m.ctx) })
	if err != nil {
		m.raise(L, err)
	}
	v, err := toLua(L, summary)
	if err != nil {
		m.raise(L, fmt.Errorf("shuffle.%s: summary: %w", name, err))
	}
	if v == lua.LNil {
		v = L.NewTable()
	}
	L.Push(v)
	return 1
}
