package plan

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// Run decides. RPs that are queued or copied keep their decision: a
// policy change never undoes a copy.
func (d *Decider) Run(ctx context.Context) (DecideSummary, error) {
	var sum DecideSummary
	if d.Now == nil {
		d.Now = time.Now
	}
	plans, err := MapVaultsWith(ctx, d.Store, d.Policies, d.Aliases)
	if err != nil {
		return sum, err
	}
	revs := revisions(d.Policies.Hash, plans)
	revsKey := RevisionsKey(revs)
	ep, err := d.Store.Epochs()
	if err != nil {
		return sum, err
	}
	now := d.Now().UTC()
	if t := d.Listed; t != nil && d.Table == nil && t.revsKey == revsKey && t.complete() && !t.wentCold(now) {
		return d.fromListing(t, revsKey, ep, now)
	}
	// Nothing changed since the last pass (inventory, metadata,
	// decisions, policies, mappings), and no RP has reached its cold
	// storage date since: the decisions stand.
	var c decideCache
	if ok, err := d.Store.GetCache("decide", &c); err != nil {
		return sum, err
	} else if ok && d.Table == nil && c.Revs == revsKey && sameDecisionInputs(c.Epochs, ep) && now.Before(c.ValidUntil) && !c.KeysUnknown {
		// Copies since the pass (only the copy epoch moved) change no
		// decision, only how many RPs are kept: the counters say.
		if kept, ok, err := keptByCounters(d.Store, plans); err != nil {
			return sum, err
		} else if ok {
			c.Summary.Redecided, c.Summary.Kept = 0, kept
			d.Pending, d.AggEpochs = c.Pending, c.Epochs
			return c.Summary, nil
		}
	}
	p := &decidePass{d: d, plans: plans, revs: revs, now: now, validUntil: now.Add(24 * time.Hour)}
	if d.Table != nil {
		p.join = newJoiner(d.Table)
	}
	if sum, err = p.run(ctx); err != nil {
		return sum, err
	}
	if ep, err = d.Store.Epochs(); err != nil {
		return sum, err
	}
	p.scanAgg.Merge(p.writerAgg)
	d.Agg, d.AggEpochs, d.Pending = p.scanAgg, ep, p.scanAgg.Pending()
	return sum, d.Store.PutCache("decide", decideCache{Revs: revsKey, Epochs: ep, ValidUntil: p.validUntil, Summary: sum, Pending: d.Pending, KeysUnknown: p.keysUnknown})
}

// fromListing answers for a pass after the listing decided and counted
// every RP of a state that was empty when it began: the pass would find
// every decision current and count what the listing counted.
func (d *Decider) fromListing(t *ListedTally, revsKey string, ep state.Epochs, now time.Time) (DecideSummary, error) {
	validUntil := now.Add(24 * time.Hour)
	if !t.minCold.IsZero() && t.minCold.Before(validUntil) {
		validUntil = t.minCold
	}
	sum := t.dec
	d.Agg, d.AggEpochs, d.Pending = t.agg, ep, t.agg.Pending()
	return sum, d.Store.PutCache("decide", decideCache{Revs: revsKey, Epochs: ep, ValidUntil: validUntil, Summary: sum, Pending: d.Pending, KeysUnknown: t.keysUnknown})
}

// decidePass is one scan of the state: the scan counts the decisions
// that stand and sends the others to the policy workers, whose
// decisions one writer saves in a batch.
type decidePass struct {
	d          *Decider
	plans      map[string]*VaultPlan
	revs       map[string]string
	now        time.Time
	validUntil time.Time // the earliest cold-storage date ahead, within a day
	join       *joiner   // nil: no join rides on the pass

	jobs      chan decideJob
	results   chan written
	errc      chan error
	batch     *state.Batch
	counts    DecideSummary // decisions that stand, counted by the scan
	fresh     DecideSummary // new decisions, counted by the writer
	scanAgg   *Aggregate
	writerAgg *Aggregate
	metaDirty bool
	// keysUnknown: an RP was decided (or its decision stands) without
	// knowing who manages its key.
	keysUnknown bool
}

// run scans, decides and writes; it returns the pass's summary.
func (p *decidePass) run(ctx context.Context) (DecideSummary, error) {
	workers := p.d.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p.jobs = make(chan decideJob, 256)
	p.results = make(chan written, 256)
	p.errc = make(chan error, workers+2)
	p.scanAgg, p.writerAgg = NewAggregate(), NewAggregate()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	guard := &budgetGuard{}
	for i := 0; i < workers; i++ {
		w, err := p.d.Policies.NewWorker()
		if err != nil {
			cancel()
			return DecideSummary{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			p.decideJobs(ctx, cancel, w, guard)
		}()
	}
	p.batch = p.d.Store.NewBatch(state.EpochDecision)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.write(cancel)
	}()
	scanErr := p.d.Store.ScanRPs(func(rp *state.RP) error { return p.visit(ctx, rp) })
	close(p.jobs)
	wg.Wait()
	close(p.results)
	<-done
	return p.finish(scanErr)
}

// decideJobs is one policy worker: it decides the jobs it receives and
// sends each decision to the writer. A policy over its budgets stops
// the pass.
func (p *decidePass) decideJobs(ctx context.Context, cancel context.CancelFunc, w *luabind.Worker, guard *budgetGuard) {
	for j := range p.jobs {
		dec, stop := decideOne(ctx, w, j, p.now, guard)
		if stop != nil {
			// The decisions made so far are written; this RP is
			// decided again by the next pass.
			p.errc <- stop
			cancel()
			return
		}
		if ctx.Err() != nil {
			return // the call may have been cut short: record nothing
		}
		j.rp.Decision = dec
		select {
		case p.results <- written{j.rp, true}:
		case <-ctx.Done():
			return
		}
	}
}

// write is the writer: one batch for all decisions; it tallies the new
// ones.
func (p *decidePass) write(cancel context.CancelFunc) {
	for r := range p.results {
		rp := r.rp
		if r.count {
			p.fresh.count(rp)
		}
		p.writerAgg.Add(rp)
		if err := p.batch.Put(rp); err != nil {
			p.errc <- err
			cancel()
			return
		}
	}
}

// visit is the scan's look at one RP: it joins the metadata (when a
// join rides on the pass), counts a decision that stands, and sends the
// RP to the workers otherwise.
func (p *decidePass) visit(ctx context.Context, rp *state.RP) error {
	metaChanged, err := p.joinMeta(rp)
	if err != nil {
		return err
	}
	vp := p.plans[rp.Vault]
	if vp == nil {
		if metaChanged {
			return p.writeOnly(ctx, rp)
		}
		p.scanAgg.Add(rp)
		return nil // a vault no longer listed; its RPs are gone
	}
	if rp.Copy != state.CopyPending {
		p.counts.Kept++
		p.counts.count(rp)
		if metaChanged {
			return p.writeOnly(ctx, rp)
		}
		p.scanAgg.Add(rp)
		return nil
	}
	if t := rp.MoveToColdAt; t != nil && t.After(p.now) && t.Before(p.validUntil) {
		p.validUntil = *t
	}
	rev := p.revs[rp.Vault]
	if err := learnKey(ctx, rp, p.d.Keys); err != nil {
		return err
	}
	if keyUnknown(rp, p.keys()) {
		p.keysUnknown = true
	}
	if d := rp.Decision; d != nil && d.PolicyHash == rev && d.MetaHash == rp.MetaHash && rp.Gone == (d.Rule == "engine:"+RuleGone) && !wentCold(rp, d, p.now) && !keyLearnedSince(rp, d, p.keys()) {
		p.counts.count(rp)
		p.scanAgg.Add(rp)
		return nil
	}
	p.counts.Redecided++
	select {
	case p.jobs <- decideJob{rp: rp, rev: rev, vp: vp, keys: p.keys()}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keys is the pass's key answers (nil when it has none).
func (p *decidePass) keys() KeyManagers {
	if p.d.Keys == nil {
		return nil
	}
	return p.d.Keys
}

// joinMeta joins the metadata to rp when a join rides on the pass,
// marking the metadata epoch dirty before the first change.
func (p *decidePass) joinMeta(rp *state.RP) (changed bool, err error) {
	if p.join == nil || !p.join.apply(rp) {
		return false, nil
	}
	if !p.metaDirty {
		if err := p.d.Store.MarkDirty(state.EpochMeta); err != nil {
			return true, err
		}
		p.metaDirty = true
	}
	return true, nil
}

// writeOnly sends an RP whose metadata changed but whose decision
// stands to the writer.
func (p *decidePass) writeOnly(ctx context.Context, rp *state.RP) error {
	select {
	case p.results <- written{rp, false}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish flushes the batch (or cancels it on an error: a policy over
// its budgets keeps what was decided before it) and sums up the pass.
func (p *decidePass) finish(scanErr error) (DecideSummary, error) {
	select {
	case err := <-p.errc:
		var stop *PolicyBudgetError
		if errors.As(err, &stop) {
			// Keep what the policy decided before it was stopped.
			if ferr := p.batch.Flush(); ferr != nil {
				return DecideSummary{}, ferr
			}
			return DecideSummary{}, err
		}
		p.batch.Cancel()
		return DecideSummary{}, err
	default:
	}
	if scanErr != nil {
		p.batch.Cancel()
		return DecideSummary{}, scanErr
	}
	if err := p.batch.Flush(); err != nil {
		return DecideSummary{}, err
	}
	c, f := p.counts, p.fresh
	return DecideSummary{
		Included: c.Included + f.Included, Excluded: c.Excluded + f.Excluded,
		Ineligible: c.Ineligible + f.Ineligible, Failed: c.Failed + f.Failed,
		Redecided: c.Redecided, Kept: c.Kept,
	}, nil
}

// sameDecisionInputs reports whether nothing a decision depends on
// moved between two epoch snapshots: listings, metadata and decisions
// (copies may have).
func sameDecisionInputs(a, b state.Epochs) bool {
	return a.Inv == b.Inv && a.Meta == b.Meta && a.Dec == b.Dec
}

// keptByCounters is the decide pass's kept count (RPs marked copying, in
// the vaults with a plan), which copies since the cached pass may have
// raised: from the state's counters; ok is false when the state keeps
// none (then the pass runs).
func keptByCounters(st *state.Store, plans map[string]*VaultPlan) (int64, bool, error) {
	var kept int64
	sum, err := st.Summary(state.CubeReasons)
	if errors.Is(err, state.ErrNoSummary) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	for c, m := range sum.Cells {
		if c.Cube == state.CubeReasons && c.Copying && !c.Orphan && plans[c.Vault] != nil {
			kept += m.N
		}
	}
	return kept, true, nil
}
