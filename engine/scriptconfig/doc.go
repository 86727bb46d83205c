// Package scriptconfig holds what the operator's script declares: the
// configuration of shuffle.config (Config, its endpoints and policy
// modules, the policy budgets) and the options of shuffle.copy
// (CopyArgs), with the checks on their values that do not depend on Lua.
//
// It is a leaf: the engine and luabind both import it, it imports
// neither, and it must not run Lua, call AWS or read files. luabind
// fills these types from Lua tables; the engine consumes them.
package scriptconfig
