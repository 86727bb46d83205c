package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/metadata"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// DecideSummary is what one decide pass did.
type DecideSummary struct {
	Included   int64 `json:"included"`
	Excluded   int64 `json:"excluded"` // includes failed decisions
	Ineligible int64 `json:"ineligible"`
	Failed     int64 `json:"failed"`
	Redecided  int64 `json:"redecided"` // decisions (re)computed in this pass
	Kept       int64 `json:"kept"`      // RPs already queued or copied, never re-decided
}

// VaultPlan is where a source vault's RPs go.
type VaultPlan struct {
	Source  *state.Vault
	Mapping luabind.VaultMapping
	Dest    *state.Vault // nil when the destination vault does not exist yet
	Lock    *Lock        // the lock copies into it must satisfy
}

// MapVaults runs the vault mapping policy over every source vault.
func MapVaults(ctx context.Context, st *state.Store, w *luabind.Worker) (map[string]*VaultPlan, error) {
	src, err := st.Vaults(state.Source)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*VaultPlan, len(src))
	for _, v := range src {
		m, err := w.MapVault(ctx, vaultInput(v))
		if err != nil {
			return nil, fmt.Errorf("vault mapping for %s: %w", v.Name, err)
		}
		vp := &VaultPlan{Source: v, Mapping: m}
		if d, ok, err := st.GetVault(state.Destination, m.Name); err != nil {
			return nil, err
		} else if ok {
			vp.Dest = d
		}
		// The lock a copy must satisfy: the destination's own if it
		// exists, else the one shuffle will replicate from the source.
		lockFrom := v
		if vp.Dest != nil {
			lockFrom = vp.Dest
		}
		if lockFrom.Locked {
			vp.Lock = &Lock{Min: lockFrom.MinRetentionDays, Max: lockFrom.MaxRetentionDays}
		}
		out[v.Name] = vp
	}
	return out, nil
}

func vaultInput(v *state.Vault) *luabind.VaultInput {
	return &luabind.VaultInput{
		Name: v.Name, Arn: v.Arn, VaultType: v.VaultType, EncryptionKeyArn: v.EncryptionKeyArn, Locked: v.Locked,
		MinRetentionDays: v.MinRetentionDays, MaxRetentionDays: v.MaxRetentionDays, LockDate: v.LockDate,
		Tags: v.Tags, SNSTopicArn: v.SNSTopicArn, Events: v.Events, AccessPolicy: v.AccessPolicy,
	}
}

// RPInput is the view of an RP that policies see.
func RPInput(rp *state.RP) *luabind.RPInput {
	in := &luabind.RPInput{
		Arn: rp.Arn, Vault: rp.Vault, ResourceArn: rp.ResourceArn, ResourceType: rp.ResourceType, ResourceName: rp.ResourceName,
		Status: rp.Status, CreationDate: rp.CreationDate, SizeBytes: rp.Size, DeleteAfterDays: rp.DeleteAfterDays,
		ColdAfterDays: rp.ColdAfterDays, EncryptionKeyArn: rp.EncryptionKeyArn,
	}
	if m := rp.Meta; m != nil {
		in.HasMetadata, in.Metadata, in.Blank = true, m.Fields, m.Blank
		if c := m.Conflict; c != nil {
			in.Conflict = &luabind.ConflictInput{Field: c.Field, Values: c.Values, Lines: c.Lines}
		}
	}
	return in
}

// Decider decides every pending RP with the engine's rules and the
// policies, recording each decision with the revision that made it.
type Decider struct {
	Store    *state.Store
	Policies *luabind.Policies
	Workers  int
	Now      func() time.Time
	// Table, when set, is joined to every RP in the same pass (see
	// EnrichCounts): each RP is then written once, not twice.
	Table *metadata.Table
	// Listed, when set, is what the listing of a cold plan counted: a
	// complete tally stands in for the pass (listedTally).
	Listed *listedTally

	// Agg, after a Run that visited every RP, holds the plan counts of
	// the state as it left it, and AggEpochs the epochs at that moment.
	// Nil when Run answered from its cache.
	Agg       *Aggregate
	AggEpochs state.Epochs
	// Pending, after any Run (from its cache too, when the cache has
	// them), are the included RPs not queued or copied yet, as count and
	// bytes by vault (Copier.Pending), as of AggEpochs. Nil when unknown.
	Pending map[string]*[2]int64
}

// revision fingerprints everything a decision for one vault depends on:
// the policy hash and the vault's mapping and lock.
func revision(policyHash string, vp *VaultPlan) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%v", policyHash, vp.Mapping.Name, vp.Mapping.Skip)
	if vp.Lock != nil {
		fmt.Fprintf(h, "\x00%v\x00%v", deref(vp.Lock.Min), deref(vp.Lock.Max))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// written is an RP on its way to the batch; count says whether its
// (new) decision still has to be tallied.
type written struct {
	rp    *state.RP
	count bool
}

type decideJob struct {
	rp  *state.RP
	rev string
	vp  *VaultPlan
}

// decideCache is the last pass's result with what it was computed from.
type decideCache struct {
	Revs       string        `json:"revs"`
	Epochs     state.Epochs  `json:"epochs"`
	ValidUntil time.Time     `json:"valid_until"`
	Summary    DecideSummary `json:"summary"`
	// Pending by vault: count and bytes (older caches lack it).
	Pending map[string]*[2]int64 `json:"pending,omitempty"`
}

// Run decides. RPs that are queued or copied keep their decision: a
// policy change never undoes a copy.
func (d *Decider) Run(ctx context.Context) (DecideSummary, error) {
	var sum DecideSummary
	if d.Now == nil {
		d.Now = time.Now
	}
	workers := d.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	w0, err := d.Policies.NewWorker()
	if err != nil {
		return sum, err
	}
	plans, err := MapVaults(ctx, d.Store, w0)
	w0.Close()
	if err != nil {
		return sum, err
	}
	revs := make(map[string]string, len(plans))
	for name, vp := range plans {
		revs[name] = revision(d.Policies.Hash, vp)
	}

	// Nothing changed since the last pass (inventory, metadata,
	// decisions, policies, mappings), and no RP has reached its cold
	// storage date since: the decisions stand.
	revsKey := revisionsKey(revs)
	ep, err := d.Store.Epochs()
	if err != nil {
		return sum, err
	}
	now := d.Now().UTC()
	if t := d.Listed; t != nil && d.Table == nil && t.revsKey == revsKey && t.complete() && !t.wentCold(now) {
		// The listing decided and counted every RP of a state that was
		// empty when it began: the pass would find every decision
		// current and count what the listing counted.
		validUntil := now.Add(24 * time.Hour)
		if !t.minCold.IsZero() && t.minCold.Before(validUntil) {
			validUntil = t.minCold
		}
		sum = t.dec
		d.Agg, d.AggEpochs, d.Pending = t.agg, ep, t.agg.Pending()
		return sum, d.Store.PutCache("decide", decideCache{Revs: revsKey, Epochs: ep, ValidUntil: validUntil, Summary: sum, Pending: d.Pending})
	}
	var c decideCache
	if ok, err := d.Store.GetCache("decide", &c); err != nil {
		return sum, err
	} else if ok && d.Table == nil && c.Revs == revsKey && c.Epochs == ep && now.Before(c.ValidUntil) {
		c.Summary.Redecided = 0
		d.Pending, d.AggEpochs = c.Pending, ep
		return c.Summary, nil
	}
	validUntil := now.Add(24 * time.Hour)

	jobs := make(chan decideJob, 256)
	results := make(chan written, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, workers+2)
	guard := &budgetGuard{}
	for i := 0; i < workers; i++ {
		w, err := d.Policies.NewWorker()
		if err != nil {
			cancel()
			return sum, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			for j := range jobs {
				dec, stop := decideOne(ctx, w, j, now, guard)
				if stop != nil {
					// The decisions made so far are written; this RP is
					// decided again by the next pass.
					errc <- stop
					cancel()
					return
				}
				if ctx.Err() != nil {
					return // the call may have been cut short: record nothing
				}
				j.rp.Decision = dec
				select {
				case results <- written{j.rp, true}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// Writer: one batch for all decisions; it tallies the new ones.
	done := make(chan struct{})
	b := d.Store.NewBatch(state.EpochDecision)
	var fresh DecideSummary
	scanAgg, writerAgg := NewAggregate(), NewAggregate()
	go func() {
		defer close(done)
		for r := range results {
			rp := r.rp
			if r.count {
				fresh.count(rp)
			}
			writerAgg.Add(rp)
			if err := b.Put(rp); err != nil {
				errc <- err
				cancel()
				return
			}
		}
	}()
	var scanErr error
	var counts DecideSummary
	var join *joiner
	if d.Table != nil {
		join = newJoiner(d.Table)
	}
	metaDirty := false
	// writeOnly sends an RP whose metadata changed but whose decision
	// stands to the writer.
	writeOnly := func(rp *state.RP) error {
		select {
		case results <- written{rp, false}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	scanErr = d.Store.ScanRPs(func(rp *state.RP) error {
		metaChanged := false
		if join != nil && join.apply(rp) {
			metaChanged = true
			if !metaDirty {
				if err := d.Store.MarkDirty(state.EpochMeta); err != nil {
					return err
				}
				metaDirty = true
			}
		}
		vp := plans[rp.Vault]
		if vp == nil {
			if metaChanged {
				return writeOnly(rp)
			}
			scanAgg.Add(rp)
			return nil // a vault no longer listed; its RPs are gone
		}
		if rp.Copy != state.CopyPending {
			counts.Kept++
			counts.count(rp)
			if metaChanged {
				return writeOnly(rp)
			}
			scanAgg.Add(rp)
			return nil
		}
		if t := rp.MoveToColdAt; t != nil && t.After(now) && t.Before(validUntil) {
			validUntil = *t
		}
		rev := revs[rp.Vault]
		if d := rp.Decision; d != nil && d.PolicyHash == rev && d.MetaHash == rp.MetaHash && rp.Gone == (d.Rule == "engine:"+ruleGone) && !wentCold(rp, d, now) {
			counts.count(rp)
			scanAgg.Add(rp)
			return nil
		}
		counts.Redecided++
		select {
		case jobs <- decideJob{rp: rp, rev: rev, vp: vp}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()
	close(results)
	<-done
	select {
	case err := <-errc:
		var stop *PolicyBudgetError
		if errors.As(err, &stop) {
			// Keep what the policy decided before it was stopped.
			if ferr := b.Flush(); ferr != nil {
				return sum, ferr
			}
			return sum, err
		}
		b.Cancel()
		return sum, err
	default:
	}
	if scanErr != nil {
		b.Cancel()
		return sum, scanErr
	}
	if err := b.Flush(); err != nil {
		return sum, err
	}
	sum = DecideSummary{
		Included: counts.Included + fresh.Included, Excluded: counts.Excluded + fresh.Excluded,
		Ineligible: counts.Ineligible + fresh.Ineligible, Failed: counts.Failed + fresh.Failed,
		Redecided: counts.Redecided, Kept: counts.Kept,
	}
	if ep, err = d.Store.Epochs(); err != nil {
		return sum, err
	}
	scanAgg.Merge(writerAgg)
	d.Agg, d.AggEpochs, d.Pending = scanAgg, ep, scanAgg.Pending()
	return sum, d.Store.PutCache("decide", decideCache{Revs: revsKey, Epochs: ep, ValidUntil: validUntil, Summary: sum, Pending: d.Pending})
}

// wentCold reports whether rp reached its cold storage date between
// decision d and now: the cold-storage rule may now answer otherwise.
func wentCold(rp *state.RP, d *state.Decision, now time.Time) bool {
	t := rp.MoveToColdAt
	return t != nil && t.After(d.At) && !t.After(now)
}

// revisionsKey fingerprints every vault's decision revision.
func revisionsKey(revs map[string]string) string {
	names := make([]string, 0, len(revs))
	for n := range revs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\x00", n, revs[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// count adds one RP's current decision to the tallies.
func (s *DecideSummary) count(rp *state.RP) {
	if rp.Decision == nil || rp.Gone {
		return
	}
	switch rp.Decision.Outcome {
	case state.Included:
		s.Included++
	case state.Excluded:
		s.Excluded++
	case state.Failed:
		s.Excluded++
		s.Failed++
	case state.Ineligible:
		s.Ineligible++
	}
}

// decideOne decides one RP. A policy call is counted by g (when not
// nil), whose error stops the pass.
func decideOne(ctx context.Context, w *luabind.Worker, j decideJob, now time.Time, g *budgetGuard) (*state.Decision, error) {
	dec := &state.Decision{PolicyHash: j.rev, MetaHash: j.rp.MetaHash, At: now}
	if j.vp.Mapping.Skip {
		dec.Outcome, dec.Rule = state.Excluded, "engine:"+ruleVaultSkip
		dec.Reason = "the vault mapping skips vault " + j.rp.Vault
		if j.vp.Mapping.Reason != "" {
			dec.Reason += ": " + j.vp.Mapping.Reason
		}
		return dec, nil
	}
	if rule, reason, bad := Ineligible(j.rp, j.vp.Lock, now); bad {
		dec.Outcome, dec.Rule, dec.Reason = state.Ineligible, "engine:"+rule, reason
		return dec, nil
	}
	pd := w.Decide(ctx, RPInput(j.rp))
	var stop error
	if g != nil && ctx.Err() == nil {
		if e := g.record(j.rp.Arn, pd.Policy, pd.Budget, pd.Reason); e != nil {
			stop = e
		}
	}
	dec.Rule, dec.Reason = "policy:"+pd.Policy, pd.Reason
	switch {
	case pd.Failed:
		dec.Outcome = state.Failed
	case pd.Include:
		dec.Outcome = state.Included
	default:
		dec.Outcome = state.Excluded
	}
	return dec, stop
}
