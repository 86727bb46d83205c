package engine

import (
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Names the copy engine and the progress counters had in this package
// before they moved to engine/copier and engine/progress. They go once
// their callers use the new packages.

type (
	Copier          = copier.Copier
	CopyOptions     = copier.Options
	CopyTarget      = copier.Target
	AdoptSummary    = copier.AdoptSummary
	CopyAccessError = copier.AccessError
	APICounts       = copier.APICounts
	CopyJobs        = copier.CopyJobs
	Tagger          = copier.Tagger
	Cutoff          = copier.Cutoff
	Window          = copier.Window
	StopReason      = copier.StopReason
	WaitReason      = copier.WaitReason

	Progress      = progress.Progress
	CopySnapshot  = progress.CopySnapshot
	VaultProgress = progress.VaultProgress
)

// CopySummary is copier.Summary; a defined type rather than an alias only
// while report_waiting.go declares a method on it.
type CopySummary copier.Summary

// Cutoff modes, stop reasons, wait reasons, hold reasons and phases.
const (
	CutoffSoft     = copier.CutoffSoft
	CutoffCautious = copier.CutoffCautious
	CutoffDrain    = copier.CutoffDrain

	StopNone        = copier.StopNone
	StopDeadline    = copier.StopDeadline
	StopInterrupted = copier.StopInterrupted
	StopError       = copier.StopError

	WaitCreating       = copier.WaitCreating
	WaitAccessPolicy   = copier.WaitAccessPolicy
	WaitEncryptionKey  = copier.WaitEncryptionKey
	WaitComplianceLock = copier.WaitComplianceLock
	WaitCreateFailed   = copier.WaitCreateFailed
	WaitAWSError       = copier.WaitAWSError
	WaitNoDestination  = copier.WaitNoDestination

	HoldAmbiguous = copier.HoldAmbiguous
	HoldDestState = copier.HoldDestState
	HoldUnknown   = copier.HoldUnknown

	PhaseInventory = progress.PhaseInventory
	PhaseEnrich    = progress.PhaseEnrich
	PhaseDecide    = progress.PhaseDecide
	PhaseReplicate = progress.PhaseReplicate
	PhaseCopy      = progress.PhaseCopy
	PhaseDone      = progress.PhaseDone
)

// Tag states as the copy record stores them (state.CopyRecord.TagState
// is a string).
const (
	TagApplied     = string(copier.TagApplied)
	TagNone        = string(copier.TagNone)
	TagUnsupported = string(copier.TagUnsupported)
	TagError       = string(copier.TagError)
)

// NewProgress makes empty counters.
func NewProgress() *Progress { return progress.New() }

// failureKey is copier.FailureKey.
func failureKey(r *state.CopyRecord) string { return copier.FailureKey(r) }
