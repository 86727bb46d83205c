package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// A destination vault that is not ready holds back only its own
// recovery points. Replication does not wait for an air-gapped vault
// AWS is still creating (minutes, in AWS): it leaves the vault pending
// and goes on with the others, and the copy step starts the other
// vaults' copies at once while PendingVaults.Watch polls the pending
// vault in the background. When AWS makes it AVAILABLE, Watch finishes
// its setup (access policy, notifications) exactly as replication would
// have, and the copier schedules its recovery points in the same run.

// deferredVault is a vault replication left CREATING, with what is left
// to do once it is AVAILABLE.
type deferredVault struct {
	j *replJob
	// notesAt is how many notes the job had before it was deferred; the
	// note saying it is CREATING is dropped when it is finished.
	notesAt int
	finish  func(ctx context.Context) error
}

// deferCreating leaves j's air-gapped vault, still CREATING, for
// PendingVaults.Watch; finish completes its setup once it is AVAILABLE.
func (r *replicator) deferCreating(j *replJob, finish func(ctx context.Context) error) {
	if j.s.Action == "" {
		j.s.Action = ActionExists
	}
	j.s.setWait(copier.WaitCreating)
	r.deferred = append(r.deferred, &deferredVault{j: j, notesAt: len(j.notes), finish: finish})
	j.note("the air-gapped vault %s is CREATING; the other vaults' copies go ahead, and its own start in this run once AWS makes it AVAILABLE", j.vp.Mapping.Name)
}

// PendingVaults are the destination vaults ReplicateVaultsPending left
// CREATING.
type PendingVaults struct {
	r *replicator
	// byVault: by source vault name.
	byVault map[string]*deferredVault
}

// ReplicateVaultsPending is ReplicateVaults without the wait for
// air-gapped vaults that are CREATING: those are returned as pending
// (not ready, WaitCreating) for PendingVaults.Watch to finish while the
// other vaults' copies run.
func ReplicateVaultsPending(ctx context.Context, st *state.Store, plans map[string]*VaultPlan, api VaultWriter, opt ReplicateOptions) (map[string]*DestinationStatus, *PendingVaults, error) {
	out, r, err := replicateVaults(ctx, st, plans, api, opt, true)
	if r == nil || len(r.deferred) == 0 {
		return out, nil, err
	}
	p := &PendingVaults{r: r, byVault: map[string]*deferredVault{}}
	for _, d := range r.deferred {
		p.byVault[d.j.vp.Source.Name] = d
	}
	return out, p, err
}

// Has reports whether the source vault's destination is pending.
func (p *PendingVaults) Has(vault string) bool {
	if p == nil {
		return false
	}
	_, ok := p.byVault[vault]
	return ok
}

// Names are the pending source vaults' names, sorted.
func (p *PendingVaults) Names() []string {
	if p == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(p.byVault))
}

// VaultUpdate is how a pending vault settled: ready (its setup is
// finished), or given up on for this run (FAILED, still CREATING at the
// deadline or after the poll timeout, an AWS error).
type VaultUpdate struct {
	Vault  string            // source vault name
	Target copier.Target     // where its copies go now; Ready says whether they may start
	Status DestinationStatus // what replication finished for it
	After  time.Duration     // since Watch started
}

// WatchOptions bound the background polling of pending vaults.
type WatchOptions struct {
	// Interval is the first wait between DescribeBackupVault calls
	// (default 2 s); it doubles after each poll up to MaxInterval
	// (default 30 s).
	Interval, MaxInterval time.Duration
	// Timeout: give up on a vault still CREATING this long after Watch
	// starts (default ReplicateOptions.PollTimeout: 30 min).
	Timeout time.Duration
	// Deadline: no poll after it (the change window's end; zero: none).
	Deadline time.Time
}

func (o *WatchOptions) defaults(r *replicator) {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = 30 * time.Second
	}
	if o.MaxInterval < o.Interval {
		o.MaxInterval = o.Interval
	}
	if o.Timeout <= 0 {
		o.Timeout = r.opt.PollTimeout
	}
}

// Watch polls every pending vault in the background, with backoff,
// until it settles, and sends one VaultUpdate per vault. The channel is
// buffered for all of them and closed once every vault has settled or
// ctx ended (a vault that had not settled then sends nothing).
func (p *PendingVaults) Watch(ctx context.Context, o WatchOptions) <-chan VaultUpdate {
	if p == nil {
		return nil
	}
	o.defaults(p.r)
	out := make(chan VaultUpdate, len(p.byVault))
	start := time.Now()
	done := make(chan struct{})
	for _, name := range p.Names() {
		d := p.byVault[name]
		go func() {
			defer func() { done <- struct{}{} }()
			if u, ok := p.r.await(ctx, d, o, start); ok {
				u.Vault, u.After = name, time.Since(start)
				out <- u
			}
		}()
	}
	go func() {
		for range p.byVault {
			<-done
		}
		close(out)
	}()
	return out
}

// await polls one deferred vault until it is AVAILABLE (then finishes
// its setup), FAILED, gone, or no longer worth waiting for. ok is false
// when ctx ended first.
func (r *replicator) await(ctx context.Context, d *deferredVault, o WatchOptions, start time.Time) (VaultUpdate, bool) {
	j := d.j
	// The statuses ReplicateVaults returned belong to the caller: work on
	// a copy.
	s := *j.s
	j.s, j.notes = &s, slices.Clone(j.notes[:d.notesAt])
	giveUp := start.Add(o.Timeout)
	if !o.Deadline.IsZero() && o.Deadline.Before(giveUp) {
		giveUp = o.Deadline
	}
	wait, errs := o.Interval, 0
	settle := func() (VaultUpdate, bool) {
		s.Reason = strings.Join(j.notes, "; ")
		return VaultUpdate{Target: copier.Target{Arn: s.Arn, Ready: s.Ready, Reason: s.Reason, Wait: s.Wait}, Status: s}, true
	}
	for {
		t := time.NewTimer(min(wait, max(0, time.Until(giveUp))))
		select {
		case <-ctx.Done():
			t.Stop()
			return VaultUpdate{}, false
		case <-t.C:
		}
		lv, err := r.read(ctx, j.vp.Mapping.Name)
		if ctx.Err() != nil {
			return VaultUpdate{}, false
		}
		now := time.Now()
		switch {
		case err != nil:
			if errs++; errs >= 5 || !now.Before(giveUp) {
				r.block(j, "DescribeBackupVault", err)
				return settle()
			}
		case lv == nil:
			s.Action = ActionBlocked
			s.setWait(copier.WaitCreateFailed)
			j.note("the air-gapped vault %s disappeared while it was CREATING; run again to create it", j.vp.Mapping.Name)
			return settle()
		case lv.v.VaultState == string(types.VaultStateAvailable):
			j.dest, s.Arn = lv, lv.v.Arn
			s.Wait = ""
			if err := d.finish(ctx); err != nil {
				if ctx.Err() != nil {
					return VaultUpdate{}, false
				}
				s.Action = ActionBlocked
				s.setWait(copier.WaitAWSError)
				j.note("%v", err)
			}
			return settle()
		case lv.v.VaultState == string(types.VaultStateFailed):
			s.Action = ActionBlocked
			s.setWait(copier.WaitCreateFailed)
			j.note("AWS failed to create the air-gapped vault %s (state FAILED): delete it and run again", j.vp.Mapping.Name)
			return settle()
		default:
			errs = 0
			if !now.Before(giveUp) {
				s.setWait(copier.WaitCreating)
				why := fmt.Sprintf("after %s", now.Sub(start).Round(time.Second))
				if !o.Deadline.IsZero() && !now.Before(o.Deadline) {
					why = "when the change window ended"
				}
				j.note("the air-gapped vault %s was still %s %s; the next run copies into it once it is AVAILABLE", j.vp.Mapping.Name, orUnknown(lv.v.VaultState), why)
				return settle()
			}
		}
		wait = min(2*wait, o.MaxInterval)
	}
}
