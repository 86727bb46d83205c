package engine

import (
	"context"
	"sort"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// The pipeline steps the script calls (shuffle.inventory, .enrich and
// .decide), typed: luaview.go turns their summaries into the tables the
// script sees. Each step leaves in the session's pipeline what lets the
// next one skip a scan.

// inventory lists the source (and destination vaults) into the state.
func (s *Session) inventory(ctx context.Context) (inventory.Summary, error) {
	if err := s.ready(); err != nil {
		return inventory.Summary{}, err
	}
	inv := &inventory.Inventory{Store: s.Store, Source: s.src, Destination: s.dst, Now: s.Now, Progress: inventoryProgress{s.progress()}, SplitAbove: s.SplitAbove, PageSize: s.PageSize, Delta: s.Delta}
	s.listed = nil
	var ld *plan.ListingDecider
	if s.DecideWhileListing {
		ld = plan.NewListingDecider(s.Store, s.Policies, s.Table, s.Now, s.logger(), &s.predecided, s.keyDescriber())
		ld.Aliases = s.sourceKeyAliases(ctx)
		inv.Decider = ld
	}
	done := s.step(progress.PhaseInventory)
	fast0, sdk0 := s.listing.Pages()
	sum, err := inv.Run(ctx)
	if ld != nil {
		s.listed = ld.Stood()
	}
	if fast, sdk := s.listing.Pages(); fast+sdk > fast0+sdk0 {
		// Pages the listing decoder took, and those it left to the SDK's
		// ((*awsclient.ListingStats).FastListing); none are counted with SHUFFLE_SDK_DECODER=1.
		s.logger().Info("listing pages decoded", "fast", fast-fast0, "sdk", sdk-sdk0)
	}
	done(sum, err)
	if err != nil {
		return sum, err
	}
	s.Inventoried, s.InventorySummary = true, sum
	return sum, nil
}

// enrich joins the metadata CSV. With the CSV and the inventory
// unchanged, the last join stands. Otherwise it counts now and lets the
// next decide pass do the join, so that every RP is written once; Finish
// joins if no decide follows.
func (s *Session) enrich(ctx context.Context) (plan.EnrichSummary, error) {
	if err := s.ready(); err != nil {
		return plan.EnrichSummary{}, err
	}
	done := s.step(progress.PhaseEnrich)
	sum, ok, err := plan.EnrichCached(s.Store, s.csvHash)
	if err != nil {
		done(nil, err)
		return sum, err
	}
	switch {
	case ok:
	case s.listed != nil && s.Table != nil:
		// The listing joined every RP and counted as it went.
		sum = s.listed.EnrichSummary()
		if err := plan.PutEnrichCache(s.Store, s.csvHash, sum); err != nil {
			done(nil, err)
			return sum, err
		}
	default:
		if sum, err = plan.EnrichCounts(ctx, s.Store, s.Table); err != nil {
			done(nil, err)
			return sum, err
		}
		s.enrichPending = true
	}
	done(sum, nil)
	s.Enriched, s.EnrichSummary = true, sum
	return sum, nil
}

// decide runs the engine rules and the policies.
func (s *Session) decide(ctx context.Context) (plan.DecideSummary, error) {
	if err := s.ready(); err != nil {
		return plan.DecideSummary{}, err
	}
	d := &plan.Decider{Store: s.Store, Policies: s.Policies, Now: s.Now, Listed: s.listed, Aliases: s.sourceKeyAliases(ctx), Keys: s.keyDescriber()}
	s.listed = nil // it counts the state as the listing left it, once
	if s.enrichPending {
		d.Table = s.Table
	}
	done := s.step(progress.PhaseDecide)
	sum, err := d.Run(ctx)
	if err == nil {
		sum.Redecided += s.predecided.Swap(0)
	}
	done(sum, err)
	if err != nil {
		return sum, err
	}
	if s.enrichPending {
		if err := plan.PutEnrichCache(s.Store, s.csvHash, s.EnrichSummary); err != nil {
			return sum, err
		}
		s.enrichPending = false
	}
	s.Decided, s.DecideSummary = true, sum
	s.logUnknownKeys()
	s.agg, s.aggEpochs, s.pending = d.Agg, d.AggEpochs, d.Pending
	return sum, nil
}

// Finish completes work the script left half-done: a join that was
// counted but never ridden by a decide pass is written now.
func (s *Session) Finish(ctx context.Context) error {
	defer s.progress().SetPhase(progress.PhaseDone)
	if s.Store == nil || !s.enrichPending {
		return nil
	}
	sum, err := plan.Enrich(ctx, s.Store, s.Table, s.csvHash)
	if err != nil {
		return err
	}
	s.enrichPending, s.EnrichSummary = false, sum
	return nil
}

// Complete runs whichever of inventory, enrich and decide the script
// did not, in order (plan needs all three).
func (s *Session) Complete(ctx context.Context) error {
	if err := s.ready(); err != nil {
		return err
	}
	if !s.Inventoried {
		if _, err := s.inventory(ctx); err != nil {
			return err
		}
	}
	if !s.Enriched {
		if _, err := s.enrich(ctx); err != nil {
			return err
		}
	}
	if !s.Decided {
		if _, err := s.decide(ctx); err != nil {
			return err
		}
	}
	return nil
}

// keyDescriber is the command's describer of source KMS keys: the
// listing's decider and the decide pass ask it who manages a key the
// aws-managed-key rule cannot settle from EncryptionKeyType, once per
// key, with the answers kept in the state.
func (s *Session) keyDescriber() *kmskeys.Describer {
	if s.describer == nil {
		s.describer = kmskeys.NewDescriber(s.kms.Source, s.Store, s.Now)
	}
	return s.describer
}

// logUnknownKeys warns of each source key KMS would not describe: the
// aws-managed-key rule let its RPs through, and a copy AWS refuses
// fails with AWS's answer.
func (s *Session) logUnknownKeys() {
	if s.describer == nil {
		return
	}
	u := s.describer.Unknown()
	arns := make([]string, 0, len(u))
	for arn := range u {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		s.logger().Warn("who manages this source key is unknown: its recovery points are not refused as on an AWS-managed key, and their copies are tried", "key", arn, "why", u[arn])
	}
}

// inventoryProgress reports the listing to the session's Progress.
type inventoryProgress struct{ p *progress.Progress }

func (a inventoryProgress) SetExpected(vault string, n int64) { a.p.SetExpected(vault, n) }
func (a inventoryProgress) AddListed(vault string, n int64)   { a.p.AddListed(vault, n) }
