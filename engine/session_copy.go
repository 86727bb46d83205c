package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/inventory"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// AccountAPI is everything shuffle calls in one account; the
// *backup.Client satisfies it. Each engine part takes only the narrow
// interface it needs.
type AccountAPI interface {
	inventory.BackupReader
	copier.CopyJobs
	copier.Tagger
	replicate.VaultWriter
}

// CopySettings are the copy options the CLI sets; they win over the
// script's shuffle.copy{...} options where set. Window is the change
// window: the copy step turns it into the copier's two deadlines.
type CopySettings struct {
	MaxInFlight int
	Window      copier.Window
}

// ReplicateSummary counts the destination vaults by what the replicate
// step did to them (in a dry run: would do). A vault not ready for a
// reason the operator must fix counts as Blocked only; Creating counts
// the air-gapped vaults AWS is still creating (also counted by what
// replicate did), whose copies start in the copy step once they are
// ready.
type ReplicateSummary struct {
	Created, Exists, Drift, Reconciled, Skip, Blocked int
	Creating                                          int
	DryRun                                            bool
}

// add counts one vault replicate left with action a.
func (r *ReplicateSummary) add(a replicate.VaultAction) {
	switch a {
	case replicate.ActionCreated:
		r.Created++
	case replicate.ActionExists:
		r.Exists++
	case replicate.ActionDrift:
		r.Drift++
	case replicate.ActionReconciled:
		r.Reconciled++
	case replicate.ActionSkip:
		r.Skip++
	case replicate.ActionBlocked:
		r.Blocked++
	}
}

// replicate makes the destination vault structure like for like (in a
// dry run: works out what it would do) and records which destination
// each source vault's copies go to.
func (s *Session) replicate(ctx context.Context) (ReplicateSummary, error) {
	if err := s.ready(); err != nil {
		return ReplicateSummary{}, err
	}
	if !s.Inventoried {
		if _, err := s.inventory(ctx); err != nil {
			return ReplicateSummary{}, err
		}
	}
	if err := s.approvalGate(ctx); err != nil { // before the first write to AWS
		return ReplicateSummary{}, err
	}
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return ReplicateSummary{}, err
	}
	done := s.step(progress.PhaseReplicate)
	// A vault AWS is still creating is not waited for here: the copy
	// step watches it and starts its copies once it is ready, while the
	// other vaults' copies run (replicate.Pending).
	statuses, pending, err := replicate.VaultsPending(ctx, s.Store, plans, s.dst, replicate.Options{
		SourceAccount: s.Config.Source.Account, DestinationAccount: s.Config.Destination.Account, Region: s.Config.Source.Region,
		ConfirmComplianceLock: s.ConfirmComplianceLock, DryRun: s.DryRun, Now: s.Now,
	})
	if err != nil {
		done(nil, err)
		return ReplicateSummary{}, err
	}
	s.logReplication(statuses)
	targets, sum := s.copyTargets(statuses, pending)
	s.emitReplication(statuses, targets)
	s.Replication = statuses
	s.targets, s.pendingVaults = targets, pending
	done(sum, nil)
	return sum, nil
}

// copyTargets turns replicate's statuses into the copier's targets, and
// counts them.
func (s *Session) copyTargets(statuses map[string]*replicate.DestinationStatus, pending *replicate.Pending) (map[string]copier.Target, ReplicateSummary) {
	targets := map[string]copier.Target{}
	sum := ReplicateSummary{DryRun: s.DryRun}
	for name, st := range statuses {
		// In a dry run a vault that would be created counts as ready, so
		// the preview says "queued", not "waiting for their vault".
		ready := st.Ready || s.DryRun && (st.Action == replicate.ActionWouldCreate || st.Action == replicate.ActionWouldReconcile) && !st.Wait.Blocked()
		targets[name] = copier.Target{Arn: st.Arn, Ready: ready, Reason: st.Reason, Wait: st.Wait, Awaited: pending.Has(name)}
		if !ready && st.Wait == copier.WaitCreating {
			sum.Creating++
		}
		switch {
		case !ready && st.Wait.Blocked() && st.Action != replicate.ActionSkip:
			// Not ready for a reason the operator must fix, whatever
			// replication did to it: blocked.
			sum.add(replicate.ActionBlocked)
		case st.Action == replicate.ActionWouldCreate:
			sum.add(replicate.ActionCreated)
		case st.Action == replicate.ActionWouldReconcile:
			sum.add(replicate.ActionReconciled)
		default:
			sum.add(st.Action)
		}
	}
	return targets, sum
}

// copy copies every included recovery point (a dry run only counts).
func (s *Session) copy(ctx context.Context, args scriptconfig.CopyArgs) (copier.Summary, error) {
	if err := s.ready(); err != nil {
		return copier.Summary{}, err
	}
	if err := s.Complete(ctx); err != nil {
		return copier.Summary{}, err
	}
	if s.targets == nil {
		if _, err := s.replicate(ctx); err != nil {
			return copier.Summary{}, err
		}
	}
	if err := s.approvalGate(ctx); err != nil {
		return copier.Summary{}, err
	}
	c := s.newCopier(copyOptions(args, s.CopySettings))
	var sum copier.Summary
	var err error
	if s.DryRun && s.pending != nil {
		// The decide step counted (or cached) what is pending; use it
		// while the state is still the one it counted.
		if ep, err := s.Store.Epochs(); err != nil {
			return copier.Summary{}, err
		} else if ep == s.aggEpochs {
			c.Pending = s.pending
		}
	}
	if !s.DryRun {
		// Before the copy step's progress starts: its totals are those of
		// the state the sweep leaves.
		if err := c.Adopt(ctx); err != nil {
			return copier.Summary{}, err
		}
	}
	done := s.step(progress.PhaseCopy)
	if s.DryRun {
		sum, err = c.Preview(ctx)
	} else {
		c.EnableRequeue()
		s.setCopier(c)
		sum, err = s.runCopier(ctx, c)
		s.setCopier(nil)
		s.emitWindowEnd(sum)
	}
	done(sum, err)
	s.Copied, s.CopySummary = true, sum
	return sum, err
}

// copyOptions are the script's shuffle.copy{...} options, with the
// CLI's settings winning where set.
func copyOptions(args scriptconfig.CopyArgs, cli CopySettings) copier.Options {
	opts := copier.Options{
		MaxInFlight: args.MaxInFlight, VaultCap: args.VaultCap, MaxAttempts: args.MaxAttempts,
		RetryBase: seconds(args.RetryBase), StartWorkers: args.StartWorkers, StartTPS: args.StartTPS,
		PollMin: seconds(args.PollMin), PollMax: seconds(args.PollMax), BusyBackoff: seconds(args.BusyBackoff),
		CallBackoff: seconds(args.CallBackoff), NoWait: args.NoWait,
	}
	if cli.MaxInFlight > 0 {
		opts.MaxInFlight = cli.MaxInFlight
	}
	return opts
}

// newCopier is the copy engine for this session's state, accounts and
// replicate step's targets, with the tag policy when the script has one.
func (s *Session) newCopier(opts copier.Options) *copier.Copier {
	c := &copier.Copier{
		Store: s.Store, Jobs: s.src, Dest: s.dst, CopyRole: s.Config.CopyRole, Targets: s.targets,
		Opts: opts, Now: s.Now, Progress: s.Progress, Counts: s.APICounts, Log: s.Log, Taggable: plan.FullyManagedTypes,
		OnFailure: s.failureBursts(),
		Only:      s.approvedOnly(),
	}
	if s.Config.Policies.Tags != "" {
		c.Tags = copier.CountTags(s.dst, s.APICounts)
		pol := s.Policies
		c.NewTagsFor = func() (func(context.Context, *state.RP) (map[string]string, error), func(), error) {
			w, err := pol.NewWorker()
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context, rp *state.RP) (map[string]string, error) {
				return w.Tags(ctx, plan.RPInput(rp))
			}, w.Close, nil
		}
	}
	return c
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// runCopier runs c within the change window while the vaults the
// replicate step left CREATING are watched; their copies join the run
// once they are ready. What settled replaces the replicate step's view
// of those vaults.
func (s *Session) runCopier(ctx context.Context, c *copier.Copier) (copier.Summary, error) {
	bounds, cancelBounds := s.CopySettings.Window.Bounds(ctx)
	defer cancelBounds()
	if s.pendingVaults == nil {
		return c.Run(ctx, bounds)
	}
	wctx, cancel := context.WithCancel(ctx)
	// Polled no less often than the copy jobs are at their slowest
	// (poll_max), and at least every 30 s.
	maxIv := 30 * time.Second
	if c.Opts.PollMax > 0 {
		maxIv = min(maxIv, c.Opts.PollMax)
	}
	updates := s.pendingVaults.Watch(wctx, replicate.WatchOptions{Interval: min(2*time.Second, maxIv), MaxInterval: maxIv, Deadline: s.CopySettings.Window.End})
	var statuses func() map[string]replicate.DestinationStatus
	c.VaultUpdates, statuses = forwardUpdates(wctx, updates)
	sum, err := c.Run(ctx, bounds)
	cancel()
	settled, status := c.Settled(), statuses()
	for _, name := range s.pendingVaults.Names() {
		if _, ok := settled[name]; !ok && sum.WaitingByVault[name] > 0 {
			// The copy step ended first (the change window, an
			// interrupt): the RPs wait for the next run.
			sum.WaitingReasons[name] = fmt.Sprintf("the air-gapped vault %s was still CREATING when the copy step ended; the next run copies into it once it is AVAILABLE",
				s.pendingVaults.DestName(name))
		}
	}
	for name, u := range settled {
		s.targets[name] = u.Target
		st := status[name]
		s.Replication[name] = &st
	}
	for name, t := range s.targets {
		t.Awaited = false // no longer watched: a later copy step does not hold its RPs
		s.targets[name] = t
	}
	s.pendingVaults = nil
	return sum, err
}

// forwardUpdates hands the watched vaults' updates to the copier in its
// own terms, and keeps the replication status of each update the
// copier took (a send completes only when it receives), by source
// vault. The forwarding ends when in is closed (it closes out then) or
// ctx is done; statuses waits for that, so call it after cancelling ctx.
func forwardUpdates(ctx context.Context, in <-chan replicate.VaultUpdate) (<-chan copier.VaultUpdate, func() map[string]replicate.DestinationStatus) {
	out := make(chan copier.VaultUpdate)
	taken := map[string]replicate.DestinationStatus{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			var u replicate.VaultUpdate
			var ok bool
			select {
			case u, ok = <-in:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
			select {
			case out <- copier.VaultUpdate{Vault: u.Vault, Target: copier.Target{Arn: u.Status.Arn, Ready: u.Status.Ready, Reason: u.Status.Reason, Wait: u.Status.Wait}, DestName: u.Status.Name, After: u.After}:
				taken[u.Vault] = u.Status
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, func() map[string]replicate.DestinationStatus { <-done; return taken }
}
