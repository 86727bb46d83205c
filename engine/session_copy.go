package engine

import (
	"context"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/luabind"
)

// AccountAPI is everything shuffle calls in one account; the
// *backup.Client satisfies it. Each engine part takes only the narrow
// interface it needs.
type AccountAPI interface {
	BackupReader
	CopyJobs
	Tagger
	VaultWriter
}

// CopySettings are the copy options the CLI sets; they win over the
// script's shuffle.copy{...} options where set.
type CopySettings struct {
	MaxInFlight int
	Deadline    time.Time
	Cutoff      string
	Grace       time.Duration
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
	done := s.step(PhaseReplicate)
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
	targets := map[string]CopyTarget{}
	sum := map[VaultAction]int{}
	for name, st := range statuses {
		// In a dry run a vault that would be created counts as ready, so
		// the preview says "queued", not "waiting for their vault".
		ready := st.Ready || s.DryRun && (st.Action == ActionWouldCreate || st.Action == ActionWouldReconcile) && !st.Wait.Blocked()
		targets[name] = CopyTarget{Arn: st.Arn, Ready: ready, Reason: st.Reason, Wait: st.Wait, Awaited: pending.Has(name)}
		if !ready && st.Wait == WaitCreating {
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
	opts := CopyOptions{
		MaxInFlight: args.MaxInFlight, VaultCap: args.VaultCap, MaxAttempts: args.MaxAttempts,
		RetryBase: seconds(args.RetryBase), StartWorkers: args.StartWorkers, StartTPS: args.StartTPS,
		PollMin: seconds(args.PollMin), PollMax: seconds(args.PollMax), NoWait: args.NoWait,
	}
	if s.CopySettings.MaxInFlight > 0 {
		opts.MaxInFlight = s.CopySettings.MaxInFlight
	}
	opts.Deadline, opts.Cutoff, opts.Grace = s.CopySettings.Deadline, s.CopySettings.Cutoff, s.CopySettings.Grace
	c := &Copier{
		Store: s.Store, Jobs: s.src, Dest: s.dst, CopyRole: s.Config.CopyRole, Targets: s.targets,
		Opts: opts, Now: s.Now, Progress: s.Progress, Counts: s.APICounts, Log: s.Log,
	}
	if s.Config.Policies.Tags != "" {
		c.Tags = countedTagger{api: s.dst, counts: s.APICounts}
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
	var sum CopySummary
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
	done := s.step(PhaseCopy)
	if s.DryRun {
		sum, err = c.Preview(ctx)
	} else {
		c.EnableRequeue()
		s.setCopier(c)
		sum, err = s.runCopier(ctx, c)
		s.setCopier(nil)
	}
	done(sum, err)
	s.Copied, s.CopySummary = true, sum
	if err != nil {
		return nil, err
	}
	return copyMap(sum), nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func copyMap(sum CopySummary) map[string]any {
	return map[string]any{
		"started": sum.Started, "completed_now": sum.CompletedNow, "bytes_now": sum.BytesNow,
		"completed": sum.Completed, "bytes": sum.Bytes, "failed": sum.Failed, "running": sum.Running,
		"retrying": sum.Retrying, "queued": sum.Queued, "waiting": sum.Waiting,
		"tagged": sum.Tagged, "tag_errors": sum.TagErrors, "stopped": sum.Stopped,
		"failed_by_reason": sum.FailedByReason, "waiting_by_vault": sum.WaitingByVault,
		"api_calls": sum.APICalls, "elapsed_seconds": sum.Elapsed.Seconds(),
		"adopted": sum.Adopt.Completed + sum.Adopt.Running, "adopted_running": sum.Adopt.Running,
		"held": sum.Adopt.Held, "held_by_reason": sum.Adopt.HeldByReason,
	}
}
