package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// AccountAPI is everything shuffle calls in one account; the
// *backup.Client satisfies it. Each engine part takes only the narrow
// interface it needs.
type AccountAPI interface {
	BackupReader
	copier.CopyJobs
	copier.Tagger
	VaultWriter
}

// CopySettings are the copy options the CLI sets; they win over the
// script's shuffle.copy{...} options where set. Window is the change
// window: the copy step turns it into the copier's two deadlines.
type CopySettings struct {
	MaxInFlight int
	Window      copier.Window
}

// Replicate makes the destination vault structure like for like (in a
// dry run: works out what it would do) and records which destination
// each source vault's copies go to.
func (s *Session) Replicate(ctx context.Context) (map[string]any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if !s.Inventoried {
		if _, err := s.Inventory(ctx); err != nil {
			return nil, err
		}
	}
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return nil, err
	}
	done := s.step(progress.PhaseReplicate)
	// A vault AWS is still creating is not waited for here: the copy
	// step watches it and starts its copies once it is ready, while the
	// other vaults' copies run (vaultready.go).
	statuses, pending, err := ReplicateVaultsPending(ctx, s.Store, plans, s.dst, ReplicateOptions{
		SourceAccount: s.Config.Source.Account, DestinationAccount: s.Config.Destination.Account, Region: s.Config.Source.Region,
		ConfirmComplianceLock: s.ConfirmComplianceLock, DryRun: s.DryRun, Now: s.Now,
	})
	if err != nil {
		done(nil, err)
		return nil, err
	}
	s.logReplication(statuses)
	targets := map[string]copier.Target{}
	sum := map[VaultAction]int{}
	for name, st := range statuses {
		// In a dry run a vault that would be created counts as ready, so
		// the preview says "queued", not "waiting for their vault".
		ready := st.Ready || s.DryRun && (st.Action == ActionWouldCreate || st.Action == ActionWouldReconcile) && !st.Wait.Blocked()
		targets[name] = copier.Target{Arn: st.Arn, Ready: ready, Reason: st.Reason, Wait: st.Wait, Awaited: pending.Has(name)}
		if !ready && st.Wait == copier.WaitCreating {
			sum["creating"]++
		}
		switch {
		case !ready && st.Wait.Blocked() && st.Action != ActionSkip:
			// Not ready for a reason the operator must fix, whatever
			// replication did to it: blocked.
			sum[ActionBlocked]++
		case st.Action == ActionWouldCreate:
			sum[ActionCreated]++
		case st.Action == ActionWouldReconcile:
			sum[ActionReconciled]++
		default:
			sum[st.Action]++
		}
	}
	s.Replication = statuses
	s.targets, s.pendingVaults = targets, pending
	out := map[string]any{}
	for _, k := range []string{"created", "exists", "drift", "reconciled", "skip", "blocked", "creating"} {
		out[k] = sum[VaultAction(k)]
	}
	// In a dry run (plan, verify) created and reconciled count what a run
	// would do. A vault not ready for a reason the operator must fix
	// counts as blocked (only); creating counts the air-gapped vaults
	// AWS is still creating, whose copies start in the copy step once
	// they are ready.
	out["dry_run"] = s.DryRun
	done(out, nil)
	return out, nil
}

// Copy copies every included recovery point (a dry run only counts).
func (s *Session) Copy(ctx context.Context, args luabind.CopyArgs) (map[string]any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if err := s.Complete(ctx); err != nil {
		return nil, err
	}
	if s.targets == nil {
		if _, err := s.Replicate(ctx); err != nil {
			return nil, err
		}
	}
	opts := copier.Options{
		MaxInFlight: args.MaxInFlight, VaultCap: args.VaultCap, MaxAttempts: args.MaxAttempts,
		RetryBase: seconds(args.RetryBase), StartWorkers: args.StartWorkers, StartTPS: args.StartTPS,
		PollMin: seconds(args.PollMin), PollMax: seconds(args.PollMax), NoWait: args.NoWait,
	}
	if s.CopySettings.MaxInFlight > 0 {
		opts.MaxInFlight = s.CopySettings.MaxInFlight
	}
	c := &copier.Copier{
		Store: s.Store, Jobs: s.src, Dest: s.dst, CopyRole: s.Config.CopyRole, Targets: s.targets,
		Opts: opts, Now: s.Now, Progress: s.Progress, Counts: s.APICounts, Log: s.Log, Taggable: FullyManagedTypes,
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
				return w.Tags(ctx, RPInput(rp))
			}, w.Close, nil
		}
	}
	var sum copier.Summary
	var err error
	if s.DryRun && s.pending != nil {
		// The decide step counted (or cached) what is pending; use it
		// while the state is still the one it counted.
		if ep, err := s.Store.Epochs(); err != nil {
			return nil, err
		} else if ep == s.aggEpochs {
			c.Pending = s.pending
		}
	}
	if !s.DryRun {
		// Before the copy step's progress starts: its totals are those of
		// the state the sweep leaves.
		if err := c.Adopt(ctx); err != nil {
			return nil, err
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
	}
	done(copier.Summary(sum), err)
	s.Copied, s.CopySummary = true, copier.Summary(sum)
	if err != nil {
		return nil, err
	}
	return copyMap(sum), nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func copyMap(sum copier.Summary) map[string]any {
	return map[string]any{
		"started": sum.Started, "completed_now": sum.CompletedNow, "bytes_now": sum.BytesNow,
		"completed": sum.Completed, "bytes": sum.Bytes, "failed": sum.Failed, "running": sum.Running,
		"retrying": sum.Retrying, "queued": sum.Queued, "waiting": sum.Waiting,
		"tagged": sum.Tagged, "tag_errors": sum.TagErrors, "stopped": string(sum.Stopped),
		"failed_by_reason": sum.FailedByReason, "waiting_by_vault": sum.WaitingByVault,
		"api_calls": sum.APICalls, "elapsed_seconds": sum.Elapsed.Seconds(),
		"adopted": sum.Adopt.Completed + sum.Adopt.Running, "adopted_running": sum.Adopt.Running,
		"held": sum.Adopt.Held, "held_by_reason": sum.Adopt.HeldByReason,
	}
}

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
	updates := s.pendingVaults.Watch(wctx, WatchOptions{Interval: min(2*time.Second, maxIv), MaxInterval: maxIv, Deadline: s.CopySettings.Window.End})
	var statuses func() map[string]DestinationStatus
	c.VaultUpdates, statuses = forwardUpdates(wctx, updates)
	sum, err := c.Run(ctx, bounds)
	cancel()
	settled, status := c.Settled(), statuses()
	for _, name := range s.pendingVaults.Names() {
		if _, ok := settled[name]; !ok && sum.WaitingByVault[name] > 0 {
			// The copy step ended first (the change window, an
			// interrupt): the RPs wait for the next run.
			sum.WaitingReasons[name] = fmt.Sprintf("the air-gapped vault %s was still CREATING when the copy step ended; the next run copies into it once it is AVAILABLE",
				s.pendingVaults.byVault[name].j.vp.Mapping.Name)
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
func forwardUpdates(ctx context.Context, in <-chan VaultUpdate) (<-chan copier.VaultUpdate, func() map[string]DestinationStatus) {
	out := make(chan copier.VaultUpdate)
	taken := map[string]DestinationStatus{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			var u VaultUpdate
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
			case out <- copier.VaultUpdate{Vault: u.Vault, Target: u.Target, DestName: u.Status.Name, After: u.After}:
				taken[u.Vault] = u.Status
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, func() map[string]DestinationStatus { <-done; return taken }
}
