package replicate

// WaitReason says why a destination vault is not ready for copies, so
// that its recovery points wait. It travels from replication to the copy
// summary, the run report and the closing line; code compares the
// constants, never the human reason next to them.
type WaitReason string

const (
	// WaitCreating: an air-gapped vault is still CREATING. Its RPs are
	// picked up in the same run once AWS makes it AVAILABLE.
	WaitCreating WaitReason = "creating"
	// WaitAccessPolicy: the vault's access policy refuses
	// backup:CopyIntoBackupVault to the source account (an explicit
	// Deny, or no Allow and replication may not add one).
	WaitAccessPolicy WaitReason = "access-policy"
	// WaitEncryptionKey: the vault to create has no destination key: the
	// one its mapping names does not resolve in the destination account
	// (an alias that does not exist there, KMS refusing), or its source
	// vault's customer-managed key is not mapped.
	WaitEncryptionKey WaitReason = "encryption-key"
	// WaitComplianceLock: the vault needs a compliance lock shuffle
	// applies only when confirmed.
	WaitComplianceLock WaitReason = "compliance-lock"
	// WaitCompliance: the vault to create would fail a blocking rule of
	// the compliance policy (policies/compliance.lua) as shuffle would
	// create it, so it is not created (plan.ProposedVerdict). Code that
	// reports compliance blocks compares this constant.
	WaitCompliance WaitReason = "compliance"
	// WaitCreateFailed: the vault could not be created (AWS answered
	// FAILED, or the source lacks what creation needs).
	WaitCreateFailed WaitReason = "create-failed"
	// WaitAWSError: an AWS call for the vault failed.
	WaitAWSError WaitReason = "aws-error"
	// WaitNoDestination: the mapping skips the vault, or none is known.
	WaitNoDestination WaitReason = "no-destination"
)

// Blocked reports whether the reason needs the operator: everything but
// a vault AWS is still creating.
func (w WaitReason) Blocked() bool { return w != "" && w != WaitCreating }

// setWait marks a status not ready for reason w.
func (s *DestinationStatus) setWait(w WaitReason) {
	s.Ready, s.Wait = false, w
}
