// Package plan decides what to copy: it joins the metadata CSV to the
// recovery points in the state (enrich), maps each source vault to its
// destination and decides every pending RP with the engine's
// eligibility rules and the operator's policies (decide, and the
// ListingDecider that decides a listed page on its slice before the
// inventory saves it), stops a policy that keeps going over its budgets,
// and counts the state into the plan report (Aggregate).
//
// Who manages an RP's KMS key, where EncryptionKeyType does not say, it
// learns through a KeyLearner the session passes in (kmskeys.Describer)
// before the aws-managed-key rule decides; Ineligible itself only reads
// the answers.
//
// It must not call AWS itself, run a policy inside a Badger transaction, or
// build Lua values: it hands policies typed inputs through luabind and
// returns typed summaries. What the report says of each destination
// vault comes in as a function (replication's rules live elsewhere).
package plan
