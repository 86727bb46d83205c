// Package replicate makes each mapped destination vault exist with its
// source vault's settings, like for like (docs/vault-replication.md):
// it creates missing vaults (air-gapped ones included), brings a vault
// shuffle created, or one the mapping says to reconcile, in line with
// its source, and says per source vault whether copies may go into its
// destination and, when not, why (WaitReason). Pending watches the
// air-gapped vaults AWS is still creating so their copies can start in
// the same run. PlanDestination is the same rules, read-only, for the
// plan report.
//
// It must not import engine or engine/copier (the session hands its
// statuses to the copier), start or judge copies, or weaken what is
// there: it never removes a lock, untags, replaces an access-policy
// statement, or applies a compliance lock unless it is confirmed; nor
// does it create a vault whose proposed form the compliance policy
// failed (plan.ProposedVerdict, WaitCompliance). An
// AWS failure blocks only its own vault; errors are returned only when
// the context ends.
package replicate
