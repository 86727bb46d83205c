// Package progress holds the counters a run's UI reads: inventory
// listing per vault, the copy engine's latest snapshot, the session's
// phase and pause state. The engine adds to them; the UI pulls snapshots
// (nothing here pushes). It must not know about AWS, the state, Lua or
// how the UI draws: it is a leaf every other package may import.
package progress

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Progress holds counters the UI reads; the engine only adds to them.
// Every method is safe for concurrent use.
type Progress struct {
	mu     sync.Mutex
	vaults map[string]*vaultProgress
	copy   CopySnapshot
	// Set apart from the copy snapshot, which publish replaces whole.
	total, bytesTotal int64
	phase             string
	phaseSince        time.Time
	paused            bool
	pausedReason      string
	pausedSince       time.Time
	now               func() time.Time // time.Now; tests may replace it
	// counts are the copy events by vault and type (copycounts.go);
	// lastCompletion is when the last completion was counted.
	counts         map[CopyKey]*CopyCounts
	lastCompletion time.Time
}

type vaultProgress struct {
	expected atomic.Int64
	listed   atomic.Int64
}

// VaultProgress is a snapshot of one vault's inventory progress.
type VaultProgress struct {
	Vault    string
	Listed   int64
	Expected int64
}

// New makes empty counters.
func New() *Progress { return &Progress{vaults: map[string]*vaultProgress{}} }

func (p *Progress) vault(name string) *vaultProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vaults[name]
	if v == nil {
		v = &vaultProgress{}
		p.vaults[name] = v
	}
	return v
}

// SetExpected records how many RPs AWS says a vault holds.
func (p *Progress) SetExpected(vault string, n int64) { p.vault(vault).expected.Store(n) }

// AddListed counts n more RPs listed in a vault.
func (p *Progress) AddListed(vault string, n int64) { p.vault(vault).listed.Add(n) }

// Inventory returns per-vault listing progress, by vault name.
func (p *Progress) Inventory() []VaultProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]VaultProgress, 0, len(p.vaults))
	for name, v := range p.vaults {
		out = append(out, VaultProgress{Vault: name, Listed: v.listed.Load(), Expected: v.expected.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Vault < out[j].Vault })
	return out
}

// CopySnapshot is the copy engine's state at one moment.
type CopySnapshot struct {
	InFlight     int   // jobs in flight or being started
	Cap          int   // the current in-flight cap (AIMD)
	Started      int64 // jobs started by this run
	Completed    int64 // completed copies, all runs
	CompletedNow int64 // completed by this run
	Failed       int64 // failed permanently, all runs
	BytesNow     int64
	Ready        int   // resources that could start a copy now
	Waiting      int   // resources waiting for a retry time
	APICalls     int64 // calls made by the copy engine
	// MaxCap is the ceiling the cap grows back to (the run's
	// max_in_flight); Vaults are the jobs in flight and the cap of each
	// source vault's share of the schedule, by vault name.
	MaxCap int
	Vaults []VaultSlots

	// Total is every included RP the copy step knew of when it loaded
	// the state: completed and failed (all runs) plus those queued,
	// running or waiting for a retry. Total-Completed-Failed is what is
	// left to do. RPs whose destination vault is not ready are not in it.
	Total      int64
	BytesTotal int64 // source bytes of Total
	BytesDone  int64 // source bytes of Completed

	// The tail of a run, filled in only when nothing is ready to start
	// or waiting for a retry (all that is left is running, or queued
	// behind a running job of the same resource): InFlightEnd is when the
	// last of it is expected to end by the duration model (zero when no
	// job is in flight or the model has seen no job end yet);
	// InFlightQueued counts the RPs queued behind running jobs;
	// InFlightOverdue the jobs that have run past their expected duration
	// (see the copier's inFlightEnd).
	InFlightEnd     time.Time
	InFlightQueued  int
	InFlightOverdue int

	// Phase is the step the session is in (Phase* constants); PhaseSince
	// is when it entered it.
	Phase      string
	PhaseSince time.Time
	// Paused: copying waits (for credentials, say); see SetPaused.
	Paused       bool
	PausedReason string
	PausedSince  time.Time
}

// VaultSlots are one source vault's copy jobs in flight (or being
// started) and its cap; Cap is 0 while no cap is known for the vault
// (only the global one bounds it).
type VaultSlots struct {
	Vault    string
	InFlight int
	Cap      int
}

// The steps a session goes through, as CopySnapshot.Phase names them.
const (
	PhaseInventory = "inventory"
	PhaseEnrich    = "enrich"
	PhaseDecide    = "decide"
	PhaseReplicate = "replicate"
	PhaseCopy      = "copy"
	PhaseDone      = "done"
)

// SetCopy replaces the copy snapshot (the copy engine publishes it whole).
func (p *Progress) SetCopy(s CopySnapshot) {
	p.mu.Lock()
	p.copy = s
	p.mu.Unlock()
}

// SetCopyTotal sets the copy total: RPs and their source bytes.
func (p *Progress) SetCopyTotal(n, bytes int64) {
	p.mu.Lock()
	p.total, p.bytesTotal = n, bytes
	p.mu.Unlock()
}

func (p *Progress) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// SetPhase records that the session entered a step (Phase* constants);
// entering the same step again (a second shuffle.copy) restarts its clock.
func (p *Progress) SetPhase(phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.phaseSince = phase, p.clock()
}

// SetPaused records that copying is paused, and why, or that it goes on
// again (paused false). PausedSince is when the pause began; pausing
// again while paused only updates the reason.
func (p *Progress) SetPaused(paused bool, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case paused && !p.paused:
		p.paused, p.pausedReason, p.pausedSince = true, reason, p.clock()
	case paused:
		p.pausedReason = reason
	default:
		p.paused, p.pausedReason, p.pausedSince = false, "", time.Time{}
	}
}

// Copy returns the latest copy snapshot, with the session's phase and
// pause state.
func (p *Progress) Copy() CopySnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.copy
	s.Total, s.BytesTotal = p.total, p.bytesTotal
	s.Phase, s.PhaseSince = p.phase, p.phaseSince
	s.Paused, s.PausedReason, s.PausedSince = p.paused, p.pausedReason, p.pausedSince
	return s
}

// AddCopyTotal changes the copy total by RPs that left (or joined) the
// run's schedule.
func (p *Progress) AddCopyTotal(n, bytes int64) {
	p.mu.Lock()
	p.total += n
	p.bytesTotal += bytes
	p.mu.Unlock()
}
