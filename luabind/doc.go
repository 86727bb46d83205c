// Package luabind runs shuffle's Lua: the security team's policies
// (LoadPolicies, Worker), their tests (RunPolicyTests) and the
// operator's script (RunScript), each in a sandbox (NewState) with no
// os, io or file loading, and, for policies, a time limit and a memory
// bound per call.
//
// The Lua surface is declared in one place per module: shuffleFuncs
// (the script's engine primitives), helpersFuncs (pure helpers) and
// testingFuncs (policy tests). shuffle.d.lua documents the same
// functions as LuaLS annotations, and a test keeps the two in sync.
// docs/lua-api.md is the guide for script and policy authors.
//
// luabind must not call AWS, open the state store or know the engine's
// types: the script reaches the engine only through the Host interface,
// and what it declares is filled into engine/scriptconfig's types,
// which the engine reads without Lua. The files it reads are the policy
// modules, their tests and the operator's script.
package luabind
