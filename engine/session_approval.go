package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/approval"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Approved plans (engine/approval): `shuffle plan --out` writes the
// session's decisions into one; `shuffle run --plan` compares the run's
// decisions with it before the first write to AWS and lets the copier
// start only what it approved.

// ApprovalOptions say which approved plan a run follows.
type ApprovalOptions struct {
	// Path is the approved-plan file ("": the run follows none).
	Path string
	// Allow are the kinds of drift the run accepts (--allow-drift).
	Allow approval.DriftSet
}

// ApprovalResult is what the comparison with the approved plan found.
type ApprovalResult struct {
	Path     string
	Checksum string
	Drift    *approval.Drift
	// Accepted: the drift (if any) was accepted and the run follows the
	// plan; false when the run stopped on it.
	Accepted bool
}

// approvalGate runs once before the first write to AWS (the replicate
// and copy steps of a run that is not a dry run): with an approved plan
// it compares the decisions with it and refuses drift the run does not
// accept (*approval.DriftError); without one it notes a state whose
// last run followed a plan.
func (s *Session) approvalGate(ctx context.Context) error {
	if s.DryRun || s.gated {
		return nil
	}
	prev, err := s.lastApproved()
	if err != nil {
		return err
	}
	if s.Approval.Path == "" {
		s.gated = true
		if prev != "" {
			s.notice(slog.LevelWarn, fmt.Sprintf("the last run of this state followed an approved plan (checksum %s); this run has no --plan and copies every included recovery point", prev))
		}
		return nil
	}
	if err := s.Complete(ctx); err != nil {
		return err
	}
	c, err := approval.Load(s.Approval.Path)
	if err == nil {
		err = c.File.CheckScope(s.Config.Source.Account, s.Config.Destination.Account, s.Config.Source.Region)
	}
	if err != nil {
		return &ConfigError{err}
	}
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return err
	}
	err = s.walkDecisions(ctx, plans, func(rp *state.RP) { c.Listed(rp.Vault, rp.Arn, rp.CreationDate, rp.Status) },
		c.Included, func(rp *state.RP) { c.NotIncluded(rp.Vault, rp.Arn, func() string { return notIncludedWhy(rp) }) })
	if err != nil {
		return err
	}
	rep, err := s.Plan(ctx, "")
	if err != nil {
		return err
	}
	c.Vaults(vaultsToCreate(rep))
	d, err := c.Finish(s.Policies.Hash)
	if err != nil {
		return err
	}
	s.ApprovalResult = &ApprovalResult{Path: s.Approval.Path, Checksum: c.Checksum(), Drift: d}
	if refused := d.Refused(s.Approval.Allow); len(refused) > 0 {
		return &approval.DriftError{Path: s.Approval.Path, Drift: d, Refused: refused}
	}
	s.gated, s.approved, s.ApprovalResult.Accepted = true, c, true
	if err := s.notePlanChange(prev, c.Checksum()); err != nil {
		return err
	}
	msg := fmt.Sprintf("following the approved plan %s (checksum %s): %d of its %d recovery points decided as approved", s.Approval.Path, c.Checksum(), d.Approved, c.File.Trailer.Decisions)
	if kinds := d.Kinds(); len(kinds) > 0 {
		msg += fmt.Sprintf("; drift accepted (--allow-drift %s): %d added, %d removed, %d changed, none of them copied", s.Approval.Allow,
			d.Counts[approval.DriftAdded], d.Counts[approval.DriftRemoved], d.Counts[approval.DriftChanged])
		if n := d.Counts[approval.DriftVaults]; n > 0 {
			msg += fmt.Sprintf("; %d destination vaults created as configured now, not as planned", n)
		}
	}
	s.notice(slog.LevelInfo, msg)
	return nil
}

// notePlanChange tells the operator when this run follows another plan
// than the last run did, and what happens to the copies started then.
func (s *Session) notePlanChange(prev, now string) error {
	if prev == "" || prev == now {
		return nil
	}
	var open int64
	err := s.Store.ScanCopies(func(r *state.CopyRecord) error {
		if r.State == state.CopyIntent || r.State == state.CopyRunning {
			open++
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.notice(slog.LevelWarn, fmt.Sprintf("this run follows another approved plan (checksum %s) than the last run did (%s): %d copy jobs started before are still tracked to their end; only recovery points this plan approves are started",
		now, prev, open))
	return nil
}

// lastApproved is the checksum of the approved plan the state's last
// run followed ("" for none).
func (s *Session) lastApproved() (string, error) {
	runs, err := s.Store.Runs()
	if err != nil {
		return "", err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Command == state.CommandRun {
			return runs[i].Flags[approval.RunFlag], nil
		}
	}
	return "", nil
}

// notice tells the operator something they should know now, and logs
// it at level.
func (s *Session) notice(level slog.Level, msg string) {
	s.logger().Log(context.Background(), level, msg)
	if s.Notice != nil {
		s.Notice(msg)
	}
}

// approvedOnly is the copier's filter under an approved plan (nil:
// none).
func (s *Session) approvedOnly() func(string) bool {
	if s.approved == nil {
		return nil
	}
	return s.approved.Allows
}

// notIncludedWhy says how an RP of the plan is decided now.
func notIncludedWhy(rp *state.RP) string {
	d := rp.Decision
	switch {
	case rp.Gone:
		return "gone from the source"
	case d == nil:
		return "not decided now"
	}
	return fmt.Sprintf("decided %s by %s: %s", d.Outcome, d.Rule, d.Reason)
}

// WriteApproved writes the approved-plan file at path from the state
// the plan report p was made of: one decision per included recovery
// point, with its destination vault, key and the tags the tags policy
// gives it.
func (s *Session) WriteApproved(ctx context.Context, path string, p *plan.Plan) (*approval.File, error) {
	plans, err := s.mapVaults(ctx)
	if err != nil {
		return nil, err
	}
	h := approval.Header{CreatedAt: s.Now().UTC(), Script: p.Script, PolicyHash: s.Policies.Hash, MetadataHash: s.csvHash, Report: p,
		SourceAccount: s.Config.Source.Account, DestinationAccount: s.Config.Destination.Account, Region: s.Config.Source.Region}
	h.VaultsToCreate = vaultsToCreate(p)
	w, err := approval.Create(path, h)
	if err != nil {
		return nil, err
	}
	var addErr error
	err = s.walkDecisions(ctx, plans, func(rp *state.RP) { w.Listed(rp.Vault, rp.Arn, rp.CreationDate, rp.Status) },
		func(d approval.Decision) {
			if addErr == nil {
				addErr = w.Add(d)
			}
		}, nil)
	if err == nil {
		err = addErr
	}
	if err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return approval.Read(path, nil)
}

// vaultsToCreate are the destination vaults the plan report p creates.
func vaultsToCreate(p *plan.Plan) []approval.VaultToCreate {
	var out []approval.VaultToCreate
	for _, v := range p.Vaults {
		if d := v.Destination; d.Action == plan.DestinationCreate {
			out = append(out, approval.VaultToCreate{SourceVault: v.Name, Name: d.Name, Settings: d.Settings,
				LockNeedsConfirmation: d.LockNeedsConfirmation, Blocking: d.Blocking})
		}
	}
	return out
}

// walkDecisions visits every RP in the state's order: listed for each
// one listed now (not gone), then included with its decision as an
// approved plan records it, or excluded (nil: not wanted) for the
// others. The callbacks run in one goroutine of their own, in order:
// the tags policy never runs inside the scan's read transactions.
func (s *Session) walkDecisions(ctx context.Context, plans map[string]*plan.VaultPlan, listed func(*state.RP), included func(approval.Decision), excluded func(*state.RP)) error {
	var tags func(*state.RP) (map[string]string, error)
	if s.Config.Policies.Tags != "" {
		w, err := s.Policies.NewWorker()
		if err != nil {
			return err
		}
		defer w.Close()
		tags = func(rp *state.RP) (map[string]string, error) { return w.Tags(ctx, plan.RPInput(rp)) }
	}
	rps := make(chan *state.RP, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for rp := range rps {
			if !rp.Gone {
				listed(rp)
			}
			switch {
			case !rp.Gone && rp.Decision != nil && rp.Decision.Outcome == state.Included:
				included(approvedDecision(rp, plans[rp.Vault], tags))
			case excluded != nil:
				excluded(rp)
			}
		}
	}()
	err := s.Store.ScanRPs(func(rp *state.RP) error {
		select {
		case rps <- rp:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(rps)
	<-done
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// approvedDecision is an included RP's decision as an approved plan
// records it.
func approvedDecision(rp *state.RP, vp *plan.VaultPlan, tags func(*state.RP) (map[string]string, error)) approval.Decision {
	d := approval.Decision{SourceVault: strings.Clone(rp.Vault), RecoveryPoint: strings.Clone(rp.Arn), ResourceArn: strings.Clone(rp.ResourceArn),
		ResourceType: strings.Clone(rp.ResourceType), Bytes: rp.Size}
	if vp != nil {
		d.DestinationVault = vp.Mapping.Name
		d.DestinationKey = vp.Key.Arn
		if d.DestinationKey == "" {
			d.DestinationKey = vp.Key.Named
		}
	}
	if tags != nil {
		t, err := tags(rp)
		if err != nil {
			d.TagsError = err.Error()
		}
		d.Tags = t
	}
	return d
}
