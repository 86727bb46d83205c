package inventory

import (
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Listing a live estate (ADR 0001, transitions 7 and 8): a vault listed
// to its end once is listed again only from its high-water mark (a
// delta), and whole (a reconciliation) on a schedule of run time, when
// its count disagrees with the state, or when the operator asks.

// DeltaOptions tune how vaults already listed are listed again.
type DeltaOptions struct {
	// Margin is how far before a vault's high-water mark a delta lists
	// (default 24h): an RP may become visible after later ones, and
	// the clocks of AWS's services may disagree.
	Margin time.Duration
	// ReconcileEvery is how much run time (the run history's `run` and
	// `plan` commands) may pass before a vault is listed whole again
	// (default 24h). Negative: every command lists every vault whole.
	ReconcileEvery time.Duration
	// RunTime, when set, replaces the run history as the clock of
	// ReconcileEvery: the run time since t.
	RunTime func(since time.Time) (time.Duration, error)
}

// DefaultDeltaMargin and DefaultReconcileEvery are DeltaOptions'
// defaults.
const (
	DefaultDeltaMargin    = 24 * time.Hour
	DefaultReconcileEvery = 24 * time.Hour
)

// FullReason says why a vault is listed whole.
type FullReason string

// Why a vault is listed whole.
const (
	FullFirst     FullReason = "first listing"
	FullResumed   FullReason = "a full listing resumed"
	FullNoMarks   FullReason = "no high-water mark yet"
	FullAlways    FullReason = "every listing is full (--reconcile-every 0)"
	FullScheduled FullReason = "scheduled reconciliation"
	FullCount     FullReason = "its count disagrees with the state"
	FullAsked     FullReason = "asked for (--fresh or a reset)"
)

// vaultMode is how one Run lists a vault.
type vaultMode struct {
	delta  bool
	reason FullReason // when !delta
}

// Reconciled is one vault a run listed whole, and why.
type Reconciled struct {
	Vault  string     `json:"vault"`
	Reason FullReason `json:"reason"`
}

// modeFor decides how to list the source vault v (old: its record
// before this run; nil when new). A reconciliation bumps v's own
// generation, so that the listing's end marks what it missed gone.
func (inv *Inventory) modeFor(v, old *state.Vault, gen uint64, runTime func(time.Time) (time.Duration, error)) (vaultMode, error) {
	g := max(gen, v.Generation)
	switch {
	case old == nil:
		return vaultMode{reason: FullFirst}, nil
	case old.InventoryDone != g:
		return vaultMode{reason: inv.fullAgain(old, g)}, nil
	}
	reason := FullReason("")
	switch {
	case inv.Delta.ReconcileEvery < 0:
		reason = FullAlways
	case old.Marks.Reconcile != "":
		reason = FullReason(old.Marks.Reconcile)
	case old.Marks.ReconciledAt.IsZero():
		reason = FullNoMarks
	default:
		d, err := runTime(old.Marks.ReconciledAt)
		if err != nil {
			return vaultMode{}, err
		}
		if d >= inv.Delta.ReconcileEvery {
			reason = FullScheduled
		}
	}
	if reason == "" {
		return vaultMode{delta: true}, nil
	}
	v.Generation = g + 1
	v.Marks.Reconcile = string(reason)
	return vaultMode{reason: reason}, nil
}

// fullAgain says why a vault not listed to its end in generation g is
// listed whole: a listing of g under way resumes; otherwise one was
// asked for (--fresh, a reset) or the vault was never listed.
func (inv *Inventory) fullAgain(old *state.Vault, g uint64) FullReason {
	parts, err := inv.Store.Partitions(old.Name)
	if err == nil {
		for _, p := range parts {
			if !p.Delta && p.Generation == g {
				return FullResumed
			}
		}
	}
	if old.InventoryDone == 0 && old.Marks.ReconciledAt.IsZero() {
		return FullFirst
	}
	return FullAsked
}

// deltaFrom is the created-after bound of v's next delta: its
// high-water mark less the margin, or its oldest RP in a status that is
// not final when earlier. A vault that held no RP lists from its last
// full listing, less the margin.
func (inv *Inventory) deltaFrom(v *state.Vault) time.Time {
	m := v.Marks
	from := m.HighWater
	if from.IsZero() {
		from = m.ReconciledAt
	}
	from = from.Add(-inv.Delta.Margin)
	if !m.OpenFrom.IsZero() && m.OpenFrom.Before(from) {
		from = m.OpenFrom
	}
	return from
}

// runTimeSince is the run time the state's history records since t:
// the part after t of every finished `run` and `plan`. A command killed
// before its end wrote nothing, and counts for nothing.
func runTimeSince(st *state.Store) func(time.Time) (time.Duration, error) {
	var runs []state.Run
	loaded := false
	return func(t time.Time) (time.Duration, error) {
		if !loaded {
			var err error
			if runs, err = st.Runs(); err != nil {
				return 0, err
			}
			loaded = true
		}
		var d time.Duration
		for _, r := range runs {
			if (r.Command != state.CommandRun && r.Command != state.CommandPlan) || r.End.IsZero() || !r.End.After(t) {
				continue
			}
			start := r.Start
			if start.Before(t) {
				start = t
			}
			d += r.End.Sub(start)
		}
		return d, nil
	}
}

// notePage moves a partition's marks by one listed page.
func notePage(p *state.Partition, rps []*state.RP) {
	for _, rp := range rps {
		c := rp.CreationDate.Unix()
		if c > p.HighWater {
			p.HighWater = c
		}
		if !state.FinalStatus(rp.Status) && (p.OpenFrom == 0 || c < p.OpenFrom) {
			p.OpenFrom = c
		}
	}
}

// countAgrees reports whether AWS's count of v, less the offset its last
// full listing found, is what the state holds: no more than the live
// RPs, and no fewer than those less the ones expired since or created
// after AWS counted.
func countAgrees(v *state.Vault, c state.VaultCount) bool {
	n := v.NumberOfRecoveryPoints - v.Marks.CountOffset
	return n <= c.Live && n >= c.Live-c.Expired-c.Recent
}

// unixTime is t (Unix seconds) as a time; zero for 0.
func unixTime(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(t, 0).UTC()
}
