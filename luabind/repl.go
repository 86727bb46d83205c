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
	"github.com/yuin/gopher-lua/parse"

	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// The operator's REPL (`shuffle repl`, docs/repl.md): a sandbox like the
// policies' with the repl module's functions as globals. The functions
// call a ReplHost, which the CLI implements over the engine's queries.

// ReplArgs are the fields of a REPL function's table argument, as
// strings (numbers and booleans as written: 3, true). Nested tables are
// refused.
type ReplArgs map[string]string

// ReplHost runs the REPL's functions. Functions that print write to the
// output they were given; the value they return goes back to Lua.
type ReplHost interface {
	Count(ctx context.Context, args ReplArgs) (int64, error)
	Find(ctx context.Context, args ReplArgs) error
	Group(ctx context.Context, args ReplArgs) error
	Jobs(ctx context.Context, args ReplArgs) error
	Show(ctx context.Context, arn string) error
	Explain(ctx context.Context, arn string) error
	History(ctx context.Context) error
	Forecast(ctx context.Context, args ReplArgs) error
	Export(ctx context.Context, args ReplArgs) (int64, error)
	// Requeue and Reset preview what they would change and apply it
	// only once confirmed (confirm=true, or the host's prompt); they
	// return how many records they changed (0 when not confirmed).
	Requeue(ctx context.Context, args ReplArgs) (int64, error)
	Reset(ctx context.Context, args ReplArgs) (int64, error)
}

// replFuncs is the repl module; in the REPL each function is also a
// global. Every Lua signature is in shuffle.d.lua, and replHelp says
// the same in one line each.
var replFuncs = map[string]lua.LGFunction{
	"count":    replCount,
	"find":     replFind,
	"group":    replGroup,
	"jobs":     replJobs,
	"show":     replShow,
	"explain":  replExplain,
	"history":  replHistory,
	"forecast": replForecast,
	"export":   replExport,
	"requeue":  replRequeue,
	"reset":    replReset,
	"help":     replHelpFn,
}

// ReplHelp is help()'s text for each function, in display order.
var ReplHelp = []struct{ Name, Usage, Doc string }{
	{"count", `count{filter}`, "number of recovery points matching the filter"},
	{"find", `find{filter, limit=20}`, "the matching recovery points as a table (limit=0: all)"},
	{"group", `group{by="status", filter}`, "counts and sizes by vault, status, resource_type, outcome, apmid, reason, rule, created_month, created_year or a metadata field"},
	{"jobs", `jobs{filter, limit=20}`, "copy jobs: every attempt of the matching recovery points' copies"},
	{"show", `show(arn)`, "everything known about one recovery point: inventory, metadata, decision, copy attempts"},
	{"explain", `explain(arn)`, "the decision trace: which rule or policy included, excluded or made it ineligible"},
	{"history", `history()`, "the run history: commands, windows, copies completed and rates"},
	{"forecast", `forecast{max_in_flight=100, window="8h"}`, "status, observed rates and the projected finish (as shuffle forecast)"},
	{"export", `export{filter, file="x.csv"}`, "write the matching recovery points to a CSV file"},
	{"requeue", `requeue{filter, confirm=true}`, "move failed copies back to the queue (preview first; a running run starts them)"},
	{"reset", `reset{what="decisions"|"inventory", vault=NAME, confirm=true}`, "clear decisions, or list again (never forgets copies)"},
	{"help", `help()`, "this list"},
}

// ReplFilterHelp describes the filter fields, for help().
const ReplFilterHelp = `Filter fields (all optional, combined with AND; several values "a,b"):
  vault, status (or state: completed running intent retry queued failed excluded ineligible undecided),
  resource_type, outcome (included excluded ineligible failed), apmid, reason (substring),
  rule (substring: "engine:status", "policy:apmid"), arn, resource_arn,
  created_before, created_after (2025-01-31, RFC 3339 or Unix seconds); any other field is a metadata column.
Mutations (requeue, reset) show a preview and change nothing until confirmed:
  interactively type yes; in -e, a script or a pipe add confirm=true.`

// Repl is one REPL session's Lua state.
type Repl struct {
	s   *sandbox
	mod *replModule
	out io.Writer
	// Timeout limits each chunk (0: none). Every chunk is also stopped
	// when the process heap passes the sandbox's HeapLimit.
	Timeout time.Duration
}

type replModule struct {
	ctx  context.Context
	host ReplHost
	out  io.Writer
}

// NewRepl returns a REPL state whose functions call host and whose
// output (print, auto-printed values, help) goes to out. Close it.
func NewRepl(host ReplHost, out io.Writer) *Repl {
	m := &replModule{ctx: context.Background(), host: host, out: out}
	s := newSandbox(Options{
		Preload: map[string]lua.LGFunction{"repl": m.load},
		Print:   out,
	})
	L := s.L
	ud := L.NewUserData()
	ud.Value = m
	tbl := L.SetFuncs(L.NewTable(), replFuncs, ud)
	g := L.G.Global
	tbl.ForEach(func(k, v lua.LValue) { g.RawSet(k, v) })
	g.RawSetString("repl", tbl)
	return &Repl{s: s, mod: m, out: out}
}

func (m *replModule) load(L *lua.LState) int {
	ud := L.NewUserData()
	ud.Value = m
	L.Push(L.SetFuncs(L.NewTable(), replFuncs, ud))
	return 1
}

// Close releases the Lua state.
func (r *Repl) Close() { r.s.L.Close() }

// Incomplete reports whether chunk is the start of a longer statement
// (it fails to parse only because it ends too early), so the REPL
// should read another line.
func Incomplete(chunk string) bool {
	_, err := parse.Parse(strings.NewReader(chunk), "stdin")
	var pe *parse.Error
	return errors.As(err, &pe) && pe.Pos.Line == parse.EOF
}

// Eval runs one chunk whose first line is line number line of the
// input (1 when counting does not matter). An expression's values are
// printed, as in the Lua 5.3 REPL. A Lua error comes back as an error
// naming the input line ("stdin:2: attempt to call a nil value"); the
// state stays usable. ctx cancels a long query.
func (r *Repl) Eval(ctx context.Context, chunk string, line int) error {
	name := "stdin"
	L := r.s.L
	// Blank lines in front make the error positions the input's.
	pad := strings.Repeat("\n", max(line-1, 0))
	proto, err := compile([]byte("return "+pad+chunk), name, name)
	expr := err == nil
	if !expr {
		if proto, err = compile([]byte(pad+chunk), name, name); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if r.Timeout > 0 || r.s.limits.HeapLimit > 0 {
		defer heap.watch(r.Timeout, r.s.limits.HeapLimit, cancel)()
	}
	r.mod.ctx = cctx
	defer func() { r.mod.ctx = context.Background() }()
	// The chunk's context has no budgets of its own (the watchdog ends
	// cctx), but caps the tail calls a loop remembers, so that a
	// stopped `return f()` loop fails at once (capTailCalls).
	L.SetContext(newBudgetCtx(L, cctx, scriptconfig.Budgets{}))
	defer L.RemoveContext()
	top := L.GetTop()
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, lua.MultRet, nil); err != nil {
		L.SetTop(top)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cctx.Err() != nil {
			return context.Cause(cctx)
		}
		return errors.New(errorMessage(err))
	}
	n := L.GetTop() - top
	if expr && n > 0 {
		var parts []string
		for i := 1; i <= n; i++ {
			v := L.Get(top + i)
			parts = append(parts, L.ToStringMeta(v).String())
		}
		if !(n == 1 && L.Get(top+1) == lua.LNil) {
			fmt.Fprintln(r.out, strings.Join(parts, "\t"))
		}
	}
	L.SetTop(top)
	return nil
}

// Completions are the names the REPL completes: the functions, the
// filter and option fields, and the globals of the sandbox.
func (r *Repl) Completions(extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, h := range ReplHelp {
		add(h.Name)
	}
	for _, s := range extra {
		add(s)
	}
	for _, s := range []string{"limit", "by", "file", "confirm", "what", "max_in_flight", "window"} {
		add(s)
	}
	r.s.L.G.Global.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			add(string(s))
		}
	})
	sort.Strings(out)
	return out
}

func replModuleOf(L *lua.LState) *replModule {
	return L.CheckUserData(lua.UpvalueIndex(1)).Value.(*replModule)
}

// replArgs reads the optional table argument at index 1.
func replArgs(L *lua.LState, fn string) ReplArgs {
	args := ReplArgs{}
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		v.ForEach(func(k, val lua.LValue) {
			ks, ok := k.(lua.LString)
			if !ok {
				L.RaiseError("%s: fields are named (%s{vault=\"x\"}), got %s", fn, fn, describe(k))
			}
			switch val := val.(type) {
			case lua.LString, lua.LNumber, lua.LBool:
				args[string(ks)] = val.String()
			case *lua.LTable:
				// A list of values: "a,b".
				var parts []string
				val.ForEach(func(_, x lua.LValue) { parts = append(parts, x.String()) })
				args[string(ks)] = strings.Join(parts, ",")
			default:
				L.RaiseError("%s: field %s is %s; use a string, number or boolean", fn, ks, describe(val))
			}
		})
	default:
		L.RaiseError("%s takes a table: %s{status=\"failed\"}, got %s", fn, fn, describe(v))
	}
	return args
}

func replRaise(L *lua.LState, fn string, err error) {
	L.RaiseError("%s: %s", fn, err.Error())
}

func replCount(L *lua.LState) int {
	m := replModuleOf(L)
	n, err := m.host.Count(m.ctx, replArgs(L, "count"))
	if err != nil {
		replRaise(L, "count", err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

func replPrinter(name string, fn func(*replModule, context.Context, ReplArgs) error) lua.LGFunction {
	return func(L *lua.LState) int {
		m := replModuleOf(L)
		if err := fn(m, m.ctx, replArgs(L, name)); err != nil {
			replRaise(L, name, err)
		}
		return 0
	}
}

var (
	replFind  = replPrinter("find", func(m *replModule, ctx context.Context, a ReplArgs) error { return m.host.Find(ctx, a) })
	replGroup = replPrinter("group", func(m *replModule, ctx context.Context, a ReplArgs) error {
		return m.host.Group(ctx, a)
	})
	replJobs     = replPrinter("jobs", func(m *replModule, ctx context.Context, a ReplArgs) error { return m.host.Jobs(ctx, a) })
	replForecast = replPrinter("forecast", func(m *replModule, ctx context.Context, a ReplArgs) error {
		return m.host.Forecast(ctx, a)
	})
)

func replARN(L *lua.LState, fn string) string {
	switch v := L.Get(1).(type) {
	case lua.LString:
		return string(v)
	case *lua.LTable:
		if s, ok := v.RawGetString("arn").(lua.LString); ok {
			return string(s)
		}
	}
	L.RaiseError("%s needs a recovery point ARN: %s(\"arn:aws:backup:...\")", fn, fn)
	return ""
}

func replShow(L *lua.LState) int {
	m := replModuleOf(L)
	if err := m.host.Show(m.ctx, replARN(L, "show")); err != nil {
		replRaise(L, "show", err)
	}
	return 0
}

func replExplain(L *lua.LState) int {
	m := replModuleOf(L)
	if err := m.host.Explain(m.ctx, replARN(L, "explain")); err != nil {
		replRaise(L, "explain", err)
	}
	return 0
}

func replHistory(L *lua.LState) int {
	m := replModuleOf(L)
	if err := m.host.History(m.ctx); err != nil {
		replRaise(L, "history", err)
	}
	return 0
}

func replCounting(name string, fn func(*replModule, context.Context, ReplArgs) (int64, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		m := replModuleOf(L)
		n, err := fn(m, m.ctx, replArgs(L, name))
		if err != nil {
			replRaise(L, name, err)
		}
		L.Push(lua.LNumber(n))
		return 1
	}
}

var (
	replExport = replCounting("export", func(m *replModule, ctx context.Context, a ReplArgs) (int64, error) {
		return m.host.Export(ctx, a)
	})
	replRequeue = replCounting("requeue", func(m *replModule, ctx context.Context, a ReplArgs) (int64, error) {
		return m.host.Requeue(ctx, a)
	})
	replReset = replCounting("reset", func(m *replModule, ctx context.Context, a ReplArgs) (int64, error) {
		return m.host.Reset(ctx, a)
	})
)

func replHelpFn(L *lua.LState) int {
	m := replModuleOf(L)
	var b strings.Builder
	b.WriteString("shuffle repl: Lua with these functions (docs/repl.md)\n")
	w := 0
	for _, h := range ReplHelp {
		w = max(w, len(h.Usage))
	}
	for _, h := range ReplHelp {
		fmt.Fprintf(&b, "  %-*s  %s\n", w, h.Usage, h.Doc)
	}
	b.WriteString(ReplFilterHelp)
	b.WriteString("\n")
	io.WriteString(m.out, b.String())
	return 0
}
