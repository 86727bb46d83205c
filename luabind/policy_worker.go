package luabind

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// A Worker: one Lua state with the policy modules loaded, and the
// budgeted call of a policy function.

// Worker runs policies in its own Lua state. It is not safe for
// concurrent use: give each goroutine its own.
type Worker struct {
	p       *Policies
	s       *sandbox
	decide  []*lua.LFunction // by cfg.Decide
	mapFn   *lua.LFunction
	tagsFn  *lua.LFunction
	checkFn *lua.LFunction
	// accessFn is the vaults module's optional access_statement
	// (access.go); nil when it has none.
	accessFn *lua.LFunction
	// onProposed is the compliance module's on_proposed_failure.
	onProposed lua.LValue
	columns    []ColumnRequirement // the modules' requires.columns (columns.go)
}

// NewWorker returns a worker with every configured module loaded.
func (p *Policies) NewWorker() (*Worker, error) {
	w := &Worker{p: p}
	if err := w.init(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) init() error {
	cfg := w.p.cfg
	s := newSandbox(Options{Dir: cfg.Dir, Modules: w.p.protos, Strict: true})
	w.s = s
	w.decide = w.decide[:0]
	for _, m := range policyModules(cfg) {
		fn, mod, err := w.loadFunc(m)
		if err != nil {
			s.release()
			s.L.Close()
			return err
		}
		switch m.fn {
		case "decide":
			w.decide = append(w.decide, fn)
		case "map":
			w.mapFn = fn
			if w.accessFn, err = accessFunc(cfg.Dir, m.name, mod); err != nil {
				s.release()
				s.L.Close()
				return err
			}
		case "tags":
			w.tagsFn = fn
		case "check":
			w.checkFn = fn
			w.onProposed = mod.RawGetString("on_proposed_failure")
		}
	}
	return nil
}

// loadFunc requires module m and returns its function m.fn and the
// module's table.
func (w *Worker) loadFunc(m policyModule) (*lua.LFunction, *lua.LTable, error) {
	s := w.s
	file := filepath.Join(w.p.cfg.Dir, m.name+".lua")
	loader := s.L.NewFunction(func(L *lua.LState) int {
		L.Push(s.require(L, m.name))
		return 1
	})
	rets, err := s.call(context.Background(), w.p.cfg.Budgets, loader, 1)
	if err != nil {
		var be *BudgetError
		if errors.As(err, &be) {
			return nil, nil, w.budgetError(be, m.name, "loading the module")
		}
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, m.name+".lua:"); ok {
			return nil, nil, fmt.Errorf("%s:%s", file, rest)
		}
		return nil, nil, fmt.Errorf("%s: %s", file, msg)
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return nil, nil, fmt.Errorf("%s: the module returns %s; it must return a table with a %s function, like: return { %s = function(...) ... end }", file, describe(rets[0]), m.fn, m.fn)
	}
	fn, ok := t.RawGetString(m.fn).(*lua.LFunction)
	if !ok {
		return nil, nil, fmt.Errorf("%s: the module's table has no %s function (it has %s)", file, m.fn, fieldNames(t))
	}
	if err := w.noteRequires(m, file, t); err != nil {
		return nil, nil, err
	}
	return fn, t, nil
}

func fieldNames(t *lua.LTable) string {
	var names []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			names = append(names, string(s))
		}
	})
	if len(names) == 0 {
		return "no named fields"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Close releases the worker's Lua state.
func (w *Worker) Close() {
	if w.s != nil {
		w.s.release()
		w.s.L.Close()
		w.s = nil
	}
}

// invoke calls the policy function fnName of module policy under the
// policy budgets. After a call stopped by its budgets or its context the
// state is discarded (the next call builds a fresh one), since the
// policy may have been stopped halfway through changing it.
func (w *Worker) invoke(ctx context.Context, policy, fnName string, fn func() *lua.LFunction, nret int, args ...func(L *lua.LState) lua.LValue) ([]lua.LValue, *PolicyError) {
	if w.s == nil {
		if err := w.init(); err != nil {
			return nil, &PolicyError{Policy: policy, Msg: "cannot reload policies: " + err.Error()}
		}
	}
	in := make([]lua.LValue, len(args))
	for i, arg := range args {
		in[i] = arg(w.s.L)
	}
	rets, err := w.s.call(ctx, w.p.cfg.Budgets, fn(), nret, in...)
	if err != nil {
		pe := &PolicyError{Policy: policy, Msg: err.Error()}
		var be *BudgetError
		switch {
		case errors.As(err, &be):
			pe.Err = w.budgetError(be, policy, fnName)
			pe.Msg = pe.Err.Error()
			w.Close()
			if be.Budget == BudgetMemory {
				collectSoon()
			}
		case ctx.Err() != nil:
			pe.Err = err
			w.Close()
		}
		return nil, pe
	}
	return rets, nil
}
