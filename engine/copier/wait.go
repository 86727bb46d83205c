package copier

import "github.com/shuffle-migrate/shuffle/engine/replicate"

// WaitReason says why a destination vault is not ready for copies. It
// is produced by replication (engine/replicate), which owns it; the
// copier only carries it from a Target to the summary. The alias and
// the constants keep the copier's files in their own terms.
type WaitReason = replicate.WaitReason

// The reasons, as replicate defines them.
const (
	WaitCreating       = replicate.WaitCreating
	WaitAccessPolicy   = replicate.WaitAccessPolicy
	WaitEncryptionKey  = replicate.WaitEncryptionKey
	WaitComplianceLock = replicate.WaitComplianceLock
	WaitCompliance     = replicate.WaitCompliance
	WaitCreateFailed   = replicate.WaitCreateFailed
	WaitAWSError       = replicate.WaitAWSError
	WaitNoDestination  = replicate.WaitNoDestination
)
