package luabind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Endpoint is one side of the migration.
type Endpoint struct {
	Profile string // AWS shared-config profile
	Account string // 12-digit account id the profile must resolve to
	Region  string
}

// ScriptConfig is what the operator's script declares with
// shuffle.config.
type ScriptConfig struct {
	Source, Destination Endpoint
	Metadata            string // metadata CSV path, relative to the working directory as written
	CopyRole            string // IAM role ARN that copy jobs use, in the source account
	Policies            PolicyConfig
	// OnPause is a command (program and arguments) run outside the
	// sandbox when a run pauses on expired credentials; nil for none.
	OnPause []string
	Line    int // script line of the shuffle.config call, for error messages
}

// Host runs the engine primitives for a script. Each method returns a
// summary that the script receives as a Lua table: nested maps with
// string keys, slices, numbers, strings and bools.
type Host interface {
	Configure(cfg ScriptConfig) error
	Inventory(ctx context.Context) (map[string]any, error)
	Enrich(ctx context.Context) (map[string]any, error)
	Decide(ctx context.Context) (map[string]any, error)
	Replicate(ctx context.Context) (map[string]any, error)
	Copy(ctx context.Context, args CopyArgs) (map[string]any, error)
}

// CopyArgs are the options of shuffle.copy{...}; zero means the default.
type CopyArgs struct {
	MaxInFlight  int     // max_in_flight: copy jobs in flight (default 100)
	VaultCap     int     // vault_cap: per destination vault (default none until AWS says otherwise)
	MaxAttempts  int     // max_attempts: per RP, for retryable job failures (default 3)
	RetryBase    float64 // retry_base: seconds before the 2nd attempt, doubling after (default 300)
	StartWorkers int     // start_workers: StartCopyJob calls at once (default 16)
	StartTPS     float64 // start_tps: initial StartCopyJob calls per second (default 50)
	PollMin      float64 // poll_min: seconds, shortest completion-poll interval (default 0.2)
	PollMax      float64 // poll_max: seconds, longest (default 60)
	NoWait       bool    // wait = false: return when nothing more can start
	Line         int
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
	cfg  *ScriptConfig
	// The budgets of the script's own Lua work: each stretch between
	// two shuffle calls (ScriptBudgets).
	budgets Budgets
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

var (
	accountRe  = regexp.MustCompile(`^\d{12}$`)
	regionRe   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleArnRe  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)
	configFunc = "shuffle.config"
)

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

func readScriptConfig(t *lua.LTable) (ScriptConfig, *ConfigError) {
	r := readFields(t, configFunc, "")
	var cfg ScriptConfig
	endpoint := func(name string) Endpoint {
		et := r.table(name, true)
		if et == nil {
			return Endpoint{}
		}
		er := readFields(et, configFunc, name+".")
		e := Endpoint{Profile: er.str("profile", true), Region: er.str("region", true)}
		switch v := er.get("account").(type) {
		case lua.LString:
			if !accountRe.MatchString(string(v)) {
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
		if e.Region != "" && !regionRe.MatchString(e.Region) {
			er.fail("region", "must be an AWS region like us-east-1, got %q", e.Region)
		}
		if err := er.done(); err != nil && r.err == nil {
			r.err = err
		}
		return e
	}
	cfg.Source = endpoint("source")
	cfg.Destination = endpoint("destination")
	cfg.Metadata = r.str("metadata", true)
	cfg.CopyRole = r.str("copy_role", true)
	if cfg.OnPause = r.strList("on_pause"); r.get("on_pause") != lua.LNil && len(cfg.OnPause) == 0 && r.err == nil {
		r.fail("on_pause", "must name a command, like on_pause = {\"notify-send\", \"shuffle paused\"}")
	}
	if pt := r.table("policies", true); pt != nil {
		pr := readFields(pt, configFunc, "policies.")
		cfg.Policies = PolicyConfig{Dir: pr.str("dir", false), Vaults: pr.str("vaults", false), Tags: pr.str("tags", false), Compliance: pr.str("compliance", false)}
		if cfg.Policies.Dir == "" {
			cfg.Policies.Dir = "policies"
		}
		switch v := pr.get("decide").(type) {
		case lua.LString:
			cfg.Policies.Decide = []string{string(v)}
		default:
			cfg.Policies.Decide = pr.strList("decide")
			if len(cfg.Policies.Decide) == 0 {
				pr.fail("decide", "must list at least one policy module, like decide = {\"apmid\"}")
			}
		}
		for i, name := range cfg.Policies.Decide {
			if !moduleName.MatchString(name) {
				pr.fail(fmt.Sprintf("decide[%d]", i+1), "must be a module name (letters, digits and _; the file name without .lua), got %q", name)
			}
		}
		if lt := pr.table("limits", false); lt != nil {
			cfg.Policies.Budgets = readBudgets(readFields(lt, configFunc, "policies.limits."), &r.err)
		}
		for _, f := range []struct{ field, name string }{{"vaults", cfg.Policies.Vaults}, {"tags", cfg.Policies.Tags}, {"compliance", cfg.Policies.Compliance}} {
			if f.name != "" && !moduleName.MatchString(f.name) {
				pr.fail(f.field, "must be a module name (letters, digits and _; the file name without .lua), got %q", f.name)
			}
		}
		if err := pr.done(); err != nil && r.err == nil {
			r.err = err
		}
	}
	if err := r.done(); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Source.Region != cfg.Destination.Region:
		r.fail("destination.region", "must equal source.region %q (shuffle copies within one region), got %q", cfg.Source.Region, cfg.Destination.Region)
	case cfg.Source.Account == cfg.Destination.Account:
		r.fail("destination.account", "must differ from source.account %s", cfg.Source.Account)
	}
	if sm := roleArnRe.FindStringSubmatch(cfg.CopyRole); sm == nil {
		r.fail("copy_role", "must be an IAM role ARN like arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole, got %q", cfg.Source.Account, cfg.CopyRole)
	} else if sm[1] != cfg.Source.Account {
		r.fail("copy_role", "must be a role in the source account %s, got one in account %s", cfg.Source.Account, sm[1])
	}
	return cfg, r.err
}

// Upper bounds of policies.limits: past them a budget bounds nothing.
const (
	maxMemoryMiB    = 4096
	maxTimeMs       = 10 * 60 * 1000
	maxInstructions = 1e11
)

// readBudgets reads policies.limits: memory_mib, time_ms and
// instructions, each optional (the default for what is absent).
func readBudgets(r *fieldReader, errp **ConfigError) Budgets {
	var b Budgets
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
	b.Memory = uint64(positive("memory_mib", maxMemoryMiB)) << 20
	b.Time = time.Duration(positive("time_ms", maxTimeMs)) * time.Millisecond
	b.Instructions = positive("instructions", maxInstructions)
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
	var args CopyArgs
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
