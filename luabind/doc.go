// Package luabind declares the Lua modules that shuffle's scripts and
// policies see, one table of functions per module.
package luabind
