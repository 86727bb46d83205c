// Package query reads the state for the operator: the REPL's filters,
// counts, groups, decision traces and run history, the previews and
// writes of requeue and reset, and the joined scan of recovery points
// with their copy records (JoinCopies) that the status, the forecast and
// the run reports also stream through. The CLI formats what it returns.
//
// It reads a *state.Store and nothing else: it must not call AWS, run
// policies, or know the copy engine (a running copier reaches it only
// through the Requeuer interface). Its writes (Reset, StoreRequeuer) are
// the state's own transitions, never new ones.
package query
