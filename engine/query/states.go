package query

import "github.com/shuffle-migrate/shuffle/engine/state"

// The one-word states of an RP that are not copy-record states: what
// its decision leaves when it has no copy record. `shuffle status`, the
// run reports and the REPL all count with them.
const (
	Queued     = state.RowQueued     // included, no copy record yet
	Excluded   = state.RowExcluded   // excluded, or a policy failed
	Ineligible = state.RowIneligible // ineligible
	Undecided  = state.RowUndecided  // no decision yet
)

// RowStates are the values of RowStatus, in display order.
var RowStates = []string{state.CopyCompleted, state.CopyRunning, state.CopyIntent, state.CopyRetry, Queued, state.CopyFailed,
	Excluded, Ineligible, Undecided}

// RowStatus is the one-word state of an RP: its copy record's state when
// it has one (completed, running, intent, retry, failed), otherwise
// what its decision makes it (queued, excluded, ineligible, undecided).
// It counts like `shuffle status` does.
func RowStatus(rp *state.RP, rec *state.CopyRecord) string { return FinalState(rp, rec) }

// FinalState is the report state of one RP: its copy record's state
// when rec is not nil, otherwise what its decision says.
func FinalState(rp *state.RP, rec *state.CopyRecord) string { return state.RowStatus(rp, rec) }
