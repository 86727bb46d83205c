// Package verify checks the copies the state records as completed
// against the destination account: each destination vault is listed once
// and every completed copy into it must be there with the source RP's
// resource ARN, size and DeleteAfterDays.
//
// It only reads: it lists through the narrow Lister interface, reads
// the state, and must not write either, start copies or run policies.
package verify
