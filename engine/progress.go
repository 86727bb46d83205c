package engine

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

// NewProgress makes empty counters.
func NewProgress() *Progress { return &Progress{vaults: map[string]*vaultProgress{}} }

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

func (p *Progress) setExpected(vault string, n int64) { p.vault(vault).expected.Store(n) }
func (p *Progress) addListed(vault string, n int64)   { p.vault(vault).listed.Add(n) }

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
	// (see Copier.inFlightEnd).
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

// The steps a session goes through, as CopySnapshot.Phase names them.
const (
	PhaseInventory = "inventory"
	PhaseEnrich    = "enrich"
	PhaseDecide    = "decide"
	PhaseReplicate = "replicate"
	PhaseCopy      = "copy"
	PhaseDone      = "done"
)

func (p *Progress) setCopy(s CopySnapshot) {
	p.mu.Lock()
	p.copy = s
	p.mu.Unlock()
}

func (p *Progress) setCopyTotal(n, bytes int64) {
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

// publishTotal sets the copy total from the schedule load built, and
// the RPs held for an awaited vault (copy_awaited.go).
func (c *Copier) publishTotal(chains map[string]*chain) {
	n, bytes := c.parkedTotal()
	for _, ch := range chains {
		n += int64(len(ch.items))
		for _, it := range ch.items {
			bytes += it.size
		}
	}
	c.Progress.setCopyTotal(c.sum.Completed+c.sum.Failed+n, c.sum.Bytes+bytes)
}

// inFlightEnd is when the jobs in flight, and the RPs queued behind
// them on the same resource (one job per resource at a time), are
// expected to end: each job at its start (AWS's CreationDate, or the
// intent time before AWS answered) plus the duration the model predicts
// for its type and size, then each RP behind it for its own predicted
// duration. A job already past its prediction is expected to need half
// as long again as it has run so far (at least a second): a job that
// overruns is usually a large one, and the guess grows as it keeps
// running. Zero when nothing is in flight or the model has seen no job
// end.
func (c *Copier) inFlightEnd(now time.Time) (end time.Time, queued, overdue int) {
	for _, it := range c.inflight {
		if it.rec == nil {
			continue
		}
		start := it.rec.IntentAt
		if it.rec.StartedAt != nil {
			start = *it.rec.StartedAt
		}
		d, ok := c.model.predict(it.typ, it.size)
		if !ok {
			return time.Time{}, 0, 0
		}
		e := start.Add(d)
		if !e.After(now) {
			overdue++
			e = now.Add(max(time.Second, now.Sub(start)/2))
		}
		if ch := it.chain; ch != nil && ch.head() == it {
			for _, next := range ch.items[ch.next+1:] {
				d, _ := c.model.predict(next.typ, next.size)
				e = e.Add(d)
				queued++
			}
		}
		if e.After(end) {
			end = e
		}
	}
	return end, queued, overdue
}

// withTail adds the tail estimate to a snapshot when nothing is left to
// start now (so the work is bounded by what is in flight).
func (c *Copier) withTail(s CopySnapshot) CopySnapshot {
	if s.Ready == 0 && s.Waiting == 0 {
		s.InFlightEnd, s.InFlightQueued, s.InFlightOverdue = c.inFlightEnd(c.Now())
	}
	return s
}
