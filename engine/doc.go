// Package engine is the Session: the host the operator's script drives
// through the `shuffle` Lua module (Session is the luabind.Host). It
// does four things:
//
//   - It runs the pipeline steps the script calls, in order over one
//     state: shuffle.config (Configure) checks the script's configuration
//     and opens the state; inventory, enrich, decide, replicate and copy
//     each hand their work to the package that owns it (engine/inventory,
//     engine/plan, engine/replicate, engine/copier) wired to the session's
//     Options, clients and progress, and return a typed summary.
//   - It turns those typed summaries into the Lua tables docs/lua-api.md
//     describes, in one adapter per step (luaview.go and each Host
//     method's own), and nowhere else.
//   - It writes what a run leaves for the operator: the run reports
//     (report.go: JSON and CSV, with the AWS call counts and faults),
//     the plan report (Session.Plan), the approved-plan file
//     (Session.WriteApproved, through engine/approval) and the
//     verification of completed copies (Session.Verify, through
//     engine/verify); and, for `shuffle check`, the pre-flight report
//     (Check, through engine/preflight).
//   - It holds a run to an approved plan (Options.Approval): before the
//     first write to AWS it compares the decisions with the plan and
//     stops on drift the run does not accept; the copier then starts
//     only the plan's RPs decided as approved (session_approval.go).
//
// The command sets Options (including the AWS client and state options
// it read from the environment) before the script runs; the steps only
// read them. Between steps the session keeps only what lets the next
// step skip work (its private pipeline state); everything durable is in
// engine/state. Reads for the operator (status, forecast, REPL queries)
// live in engine/query and engine/forecast, which cmd calls directly.
//
// What it must not do: read the environment or keep mutable
// package-level state (settings come in Options, counters belong to the
// Session);
// carry a step's logic itself rather than wire the step's package (no
// step package imports the root: what one needs comes in as a narrow
// interface or a function value); run a policy inside a Badger
// transaction (a listed page is decided on its slice before the
// transaction that saves it); build Lua values outside a step's adapter;
// or let cmd reach into a step's internals (cmd uses Options, the
// summaries and Session's methods).
package engine
