// Package engine is the session that runs the pipeline steps the
// operator's script calls through the `shuffle` Lua module: Session is
// the luabind.Host. The command sets its Options; shuffle.config
// (Configure) checks the script's configuration and opens the state;
// each step (inventory, enrich, decide, replicate, copy) runs over the
// state and returns a typed summary, which the Host methods turn into
// the Lua tables docs/lua-api.md describes (luaview.go for the
// inventory, enrich and decide steps). Between steps the session keeps
// only what lets the next step skip work (its pipeline state);
// everything durable is in engine/state.
//
// The steps live in their own packages as they move out of this one
// (engine/inventory lists the accounts; engine/plan enriches, decides
// and counts the plan): the root wires them to the session's options,
// clients and progress and passes them what they need as narrow
// interfaces or function values, so that no step package imports the
// root.
//
// What it must not do: run a policy inside a Badger transaction (a
// listed page is decided on its slice before the transaction that saves
// it); build Lua values for a step outside its Host method's adapter;
// keep settings anywhere but Options; or let cmd reach into a step's
// internals (cmd uses Options, the summaries and Session's methods).
package engine
