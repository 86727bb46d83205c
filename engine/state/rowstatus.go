package state

// The one-word states of an RP that are not copy-record states: what
// its decision leaves when it has no copy record. `shuffle status`, the
// run reports, the REPL and the counters all count with them.
const (
	RowQueued     = "queued"   // included, no copy record yet
	RowExcluded   = "excluded" // excluded, or a policy failed
	RowIneligible = "ineligible"
	RowUndecided  = "undecided" // no decision yet
)

// RowStatus is the one-word state of an RP: its copy record's state when
// it has one (completed, running, intent, retry, failed, held),
// otherwise what its decision makes it (queued, excluded, ineligible,
// undecided).
func RowStatus(rp *RP, rec *CopyRecord) string {
	if rec != nil {
		return rec.State
	}
	if rp == nil || rp.Decision == nil {
		return RowUndecided
	}
	switch rp.Decision.Outcome {
	case Included:
		return RowQueued
	case Ineligible:
		return RowIneligible
	default: // excluded, or the policy failed (which excludes)
		return RowExcluded
	}
}
