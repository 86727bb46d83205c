package engine

import (
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/events"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// RunID names a run by its start: the stem of its report files
// (STATE/reports/RUN_ID.json) and the run_id of its events.
func RunID(start time.Time) string { return reportName(start) }

// emit sends e to the session's Events, if any.
func (s *Session) emit(e events.Event) {
	if s.Events != nil {
		s.Events.Emit(e)
	}
}

func (s *Session) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// emitStarted sends started once the script's configuration is
// checked and the state is open: the run's work begins.
func (s *Session) emitStarted(cfg scriptconfig.Config) {
	e := events.New(events.Started, s.now())
	e.Migration = &events.Migration{SourceAccount: cfg.Source.Account, DestinationAccount: cfg.Destination.Account, Region: cfg.Source.Region}
	if w := s.CopySettings.Window; !w.End.IsZero() {
		e.Window = &events.Window{Deadline: w.End.UTC(), Cutoff: string(w.Cutoff)}
	}
	s.emit(e)
}

// emitReplication sends vault-created for each destination vault the
// replicate step created, and vault-blocked for each one not ready for a
// reason the operator must fix (as copyTargets counts them). A dry run
// sends none.
func (s *Session) emitReplication(statuses map[string]*replicate.DestinationStatus, targets map[string]copier.Target) {
	if s.Events == nil || s.DryRun {
		return
	}
	for _, name := range sortedNames(statuses) {
		st := statuses[name]
		v := &events.Vault{SourceVault: name, DestinationVault: st.Name, Arn: st.Arn}
		switch t := targets[name]; {
		case st.Action == replicate.ActionCreated:
			e := events.New(events.VaultCreated, s.now())
			e.Vault = v
			s.emit(e)
		case !t.Ready && st.Wait.Blocked() && st.Action != replicate.ActionSkip:
			e := events.New(blockedKind(st.Wait), s.now())
			v.Wait, v.Reason = string(st.Wait), st.Reason
			e.Vault = v
			s.emit(e)
		}
	}
}

// blockedKind is the event of a vault blocked for reason w:
// compliance-blocked when the compliance policy blocks it, else
// vault-blocked.
func blockedKind(w replicate.WaitReason) events.Kind {
	switch w {
	case replicate.WaitCompliance:
		return events.ComplianceBlocked
	default:
		return events.VaultBlocked
	}
}

// emitWindowEnd sends window-end when the change window stopped the
// copy step.
func (s *Session) emitWindowEnd(sum copier.Summary) {
	if sum.Stopped != copier.StopDeadline {
		return
	}
	e := events.New(events.WindowEnd, s.now())
	w := s.CopySettings.Window
	e.Window = &events.Window{Deadline: w.End.UTC(), Cutoff: string(w.Cutoff),
		Left: &events.Left{Queued: sum.Queued, Running: sum.Running, Retrying: sum.Retrying}}
	s.emit(e)
}

// failureBursts is the copier's OnFailure when the session has Events:
// failed copies go through the script's failure_burst rule, and each
// burst is sent as failure-burst.
func (s *Session) failureBursts() func(copier.Failure) {
	if s.Events == nil {
		return nil
	}
	d := events.NewBurstDetector(s.Config.FailureBurst.Failures, s.Config.FailureBurst.Window)
	return func(f copier.Failure) {
		if b, ok := d.Add(f.At, f.Reason); ok {
			e := events.New(events.FailureBurst, f.At)
			e.Burst = &b
			s.emit(e)
		}
	}
}
