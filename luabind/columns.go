package luabind

import (
	"fmt"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// A policy module declares the metadata columns it reads in its table's
// requires field:
//
//	M.requires = { columns = { "apmid" } }
//
// The engine checks the metadata CSV's header against every configured
// module's declaration before it writes anything, so that a CSV without
// the column is a usage error instead of every RP being decided on a
// value that is never there. Names match the header case-insensitively,
// as rp.metadata keys do.

// ColumnRequirement is a metadata column that a policy module declares
// it needs.
type ColumnRequirement struct {
	Column string // as declared, trimmed
	Module string // module name, e.g. "apmid"
	File   string // the module's file, e.g. "policies/apmid.lua"
}

// requiresFields are the fields a requires table may have; shuffle.d.lua
// documents them as shuffle.Requires (a test keeps the two in step).
var requiresFields = []string{"columns"}

// RequiredColumns lists the columns the configured modules declare, in
// the order of the modules (decide, vaults, tags, compliance) and of
// their declarations, each module once.
func (p *Policies) RequiredColumns() []ColumnRequirement { return slices.Clone(p.columns) }

// noteRequires reads module m's requires field from its table t into the
// worker's list; a module configured in two roles is read once.
func (w *Worker) noteRequires(m policyModule, file string, t *lua.LTable) error {
	for _, c := range w.columns {
		if c.Module == m.name {
			return nil
		}
	}
	cols, err := readRequires(t.RawGetString("requires"))
	if err != nil {
		return fmt.Errorf("%s: %s; declare the metadata columns the module reads like: M.requires = { columns = { \"apmid\" } }", file, err)
	}
	for _, c := range cols {
		w.columns = append(w.columns, ColumnRequirement{Column: c, Module: m.name, File: file})
	}
	return nil
}

// readRequires validates a requires value and returns its column names.
func readRequires(v lua.LValue) ([]string, error) {
	if v == lua.LNil {
		return nil, nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("requires is %s, not a table", describe(v))
	}
	var problem error
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); (!ok || !slices.Contains(requiresFields, string(s))) && problem == nil {
			problem = fmt.Errorf("requires has an unknown field %s (known: %s)", describe(k), strings.Join(requiresFields, ", "))
		}
	})
	if problem != nil {
		return nil, problem
	}
	cv := t.RawGetString("columns")
	if cv == lua.LNil {
		return nil, nil
	}
	ct, ok := cv.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("requires.columns is %s, not a list of column names", describe(cv))
	}
	n := ct.Len()
	ct.ForEach(func(k, _ lua.LValue) {
		if i, ok := k.(lua.LNumber); (!ok || float64(i) != float64(int(i)) || int(i) < 1 || int(i) > n) && problem == nil {
			problem = fmt.Errorf("requires.columns has the key %s; want a list like { \"apmid\", \"owner\" }", describe(k))
		}
	})
	if problem != nil {
		return nil, problem
	}
	var cols []string
	for i := 1; i <= n; i++ {
		s, ok := ct.RawGetInt(i).(lua.LString)
		name := strings.TrimSpace(string(s))
		switch {
		case !ok:
			return nil, fmt.Errorf("requires.columns[%d] is %s, not a column name", i, describe(ct.RawGetInt(i)))
		case name == "":
			return nil, fmt.Errorf("requires.columns[%d] is empty", i)
		}
		if !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, name) }) {
			cols = append(cols, name)
		}
	}
	return cols, nil
}
