package query

import "github.com/shuffle-migrate/shuffle/engine/state"

// JoinCopies calls fn for every RP in state (of one vault, when vault is
// not empty) with its copy record, or nil when it has none, in vault and
// ARN order (state.Store.JoinCopies).
func JoinCopies(st *state.Store, vault string, fn func(rp *state.RP, rec *state.CopyRecord) error) error {
	return st.JoinCopies(vault, fn)
}
