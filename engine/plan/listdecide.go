package plan

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// ListingDecider makes the inventory join the metadata to each RP it
// lists new (or changed) and decide it with the vault's revision, as
// the decide pass would, just before the transaction that saves its
// page. A cold run then writes every RP once: the enrich and decide
// steps that follow find every decision current and only count. The RPs
// decided here are reported by the next decide step as decided in this
// run (decided).
//
// When the state was empty, the listing also counts what the enrich and
// decide steps would (ListedTally), and they skip their scans.
type ListingDecider struct {
	store    *state.Store
	policies *luabind.Policies
	table    *metadata.Table
	now      func() time.Time
	log      *slog.Logger
	decided  *atomic.Int64 // RPs decided while listing
	keys     KeyLearner    // nil: every key answer unknown
	// Aliases give the vault mapping each source key's aliases (as
	// Decider.Aliases).
	Aliases KeyAliases

	// Set by Begin.
	plans map[string]*VaultPlan
	revs  map[string]string
	at    time.Time
	join  *joiner      // shared by the workers
	tally *ListedTally // when the state was empty
	// A policy that goes over its budgets too often is left to the
	// decide step, which stops on it with the error.
	guard *budgetGuard
	stood *ListedTally // the tally, once LiveCount found it complete
	// keysUnknown: an RP was decided without knowing who manages its key.
	keysUnknown atomic.Bool
}

var _ inventory.ListingDecider = (*ListingDecider)(nil)

// NewListingDecider makes the decider of one listing; decided counts
// the RPs it decides. keys (may be nil) is asked about an RP's KMS key
// before it is decided, as the decide pass does: one code path decides.
func NewListingDecider(st *state.Store, pol *luabind.Policies, table *metadata.Table, now func() time.Time, log *slog.Logger, decided *atomic.Int64, keys KeyLearner) *ListingDecider {
	return &ListingDecider{store: st, policies: pol, table: table, now: now, log: log, decided: decided, keys: keys}
}

// Stood is the listing's tally once LiveCount found it complete (it
// then stands in for the enrich and decide steps' scans), else nil.
func (d *ListingDecider) Stood() *ListedTally { return d.stood }

func (d *ListingDecider) Begin(ctx context.Context, empty bool) error {
	plans, err := MapVaultsWith(ctx, d.store, d.policies, d.Aliases)
	if err != nil {
		return err
	}
	d.plans, d.revs = plans, revisions(d.policies.Hash, plans)
	d.at = d.now().UTC()
	if d.table != nil {
		d.join = newJoiner(d.table)
	}
	if empty {
		d.tally = newListedTally(d.table, d.at)
		d.tally.revsKey = RevisionsKey(d.revs)
	}
	d.guard = &budgetGuard{}
	return nil
}

func (d *ListingDecider) Worker() (inventory.PageDecider, error) {
	w, err := d.policies.NewWorker()
	if err != nil {
		return nil, err
	}
	pw := &listingWorker{d: d, w: w}
	if d.tally != nil {
		pw.tally = d.tally.worker()
	}
	return pw, nil
}

func (d *ListingDecider) LiveCount() (int64, bool) {
	if t := d.tally; t != nil && t.complete() {
		t.keysUnknown = d.keysUnknown.Load()
		d.stood = t
		return t.n, true
	}
	return 0, false
}

// listingWorker is one listing worker's inventory.PageDecider: it joins
// the metadata and decides.
type listingWorker struct {
	d     *ListingDecider
	w     *luabind.Worker
	tally *listedWorker // nil: the listing does not count
}

func (pw *listingWorker) End() {
	pw.w.Close()
	if pw.tally != nil {
		pw.tally.merge()
	}
}

func (pw *listingWorker) Decide(ctx context.Context, rp *state.RP, lookedUp bool) error {
	d := pw.d
	if d.join != nil {
		d.join.apply(rp)
	}
	vp := d.plans[rp.Vault]
	if vp == nil || d.guard.stopped() {
		pw.tally.fail()
		return nil
	}
	if err := learnKey(ctx, rp, d.keys); err != nil {
		return err
	}
	job := decideJob{rp: rp, rev: d.revs[rp.Vault], vp: vp}
	if d.keys != nil {
		job.keys = d.keys
	}
	if keyUnknown(rp, job.keys) {
		d.keysUnknown.Store(true)
	}
	dec, stop := decideOne(ctx, pw.w, job, d.at, d.guard)
	if stop != nil {
		d.log.Warn("policy over its budgets while listing; left to the decide step", "error", stop.Error())
	}
	// A decision made while the run is being interrupted may be a
	// policy call cut short: save nothing of this page.
	if err := ctx.Err(); err != nil {
		return err
	}
	if dec.Outcome == state.Failed {
		// The listing shares the machine with the emulator or AWS
		// client work and the page writes, so a policy call can hit its
		// time limit here for want of CPU alone: leave the RP to the
		// decide pass, which records a failure that is the policy's own.
		pw.tally.fail()
		return nil
	}
	rp.Decision = dec
	d.decided.Add(1)
	pw.tally.add(rp, lookedUp)
	return nil
}
