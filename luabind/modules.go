package luabind

import (
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// ModuleFunctions returns the function names of every Go module a Lua
// script can require, sorted, by module name. shuffle.d.lua documents
// exactly these (a test keeps the two in sync).
func ModuleFunctions() map[string][]string {
	out := map[string][]string{}
	for name, funcs := range map[string]map[string]lua.LGFunction{
		"shuffle": shuffleFuncs,
		"helpers": helpersFuncs,
		"testing": testingFuncs,
		"repl":    replFuncs,
	} {
		names := make([]string, 0, len(funcs))
		for fn := range funcs {
			names = append(names, fn)
		}
		sort.Strings(names)
		out[name] = names
	}
	return out
}
