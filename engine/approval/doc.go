// Package approval is the approved-plan file: what `shuffle plan --out`
// writes for a security team to sign off, and what `shuffle run --plan`
// holds a run to. Its one concern is that file and the comparison of a
// run's current decisions with it (drift).
//
// The file (schema shuffle.approved-plan/v1, docs/operator-guide.md) is
// a gzip stream of JSON lines: one header (when, the script, the policy
// hash, the vaults to create with their settings, the plan report as
// the human summary), one decision per included recovery point (source
// vault, RP ARN, resource ARN, destination vault, destination key,
// tags), and one trailer (the counts, the inventory's fingerprint and a
// SHA-256 checksum over everything before it). It is written and read
// as a stream: a million decisions are never held as one value.
//
// The checksum is a tamper and corruption check: it refuses a file
// edited by hand or damaged in transit. Anyone who can run shuffle can
// also write a file with a valid checksum, so it is not a signature;
// sign the file with your own tooling where that matters.
//
// It must not call AWS, open the state or run policies: the engine
// hands it decisions and RPs as values.
package approval
