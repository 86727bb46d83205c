package engine

import (
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/events"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// The replicate step's outcome as events: one vault-created per vault
// created, one vault-blocked (with the typed reason) per vault blocked
// for a reason the operator must fix; nothing for vaults that exist,
// are skipped or are still being created, and nothing in a dry run.
func TestEmitReplication(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rec := &events.Recorder{}
	s := &Session{Options: Options{Events: rec, Now: func() time.Time { return at }}}
	statuses := map[string]*replicate.DestinationStatus{
		"a": {Name: "a", Arn: "arn:a", Ready: true, Action: replicate.ActionCreated},
		"b": {Name: "b2", Action: replicate.ActionBlocked, Wait: replicate.WaitAccessPolicy, Reason: "denied by statement X"},
		"c": {Name: "c", Arn: "arn:c", Ready: true, Action: replicate.ActionExists},
		"d": {Name: "d", Action: replicate.ActionCreated, Wait: replicate.WaitCreating},
		"e": {Name: "e", Action: replicate.ActionSkip, Wait: replicate.WaitNoDestination},
	}
	targets := map[string]copier.Target{"a": {Ready: true}, "c": {Ready: true}}
	s.emitReplication(statuses, targets)
	got := rec.Events()
	if len(got) != 3 {
		t.Fatalf("events %+v; want vault-created a, vault-blocked b, vault-created d", got)
	}
	if e := got[0]; e.Kind != events.VaultCreated || *e.Vault != (events.Vault{SourceVault: "a", DestinationVault: "a", Arn: "arn:a"}) || !e.Time.Equal(at) || e.Schema != events.Schema {
		t.Errorf("a: %+v %+v", e, e.Vault)
	}
	if e := got[1]; e.Kind != events.VaultBlocked || *e.Vault != (events.Vault{SourceVault: "b", DestinationVault: "b2", Wait: "access-policy", Reason: "denied by statement X"}) {
		t.Errorf("b: %+v %+v", e, e.Vault)
	}
	if e := got[2]; e.Kind != events.VaultCreated || e.Vault.SourceVault != "d" {
		t.Errorf("d: %+v %+v", e, e.Vault)
	}
	s.DryRun = true
	s.emitReplication(statuses, targets)
	if n := len(rec.Events()); n != 3 {
		t.Errorf("a dry run sent %d events", n-3)
	}
}

// Failed copies through the session's failure_burst rule: one
// failure-burst per burst; window-end only when the deadline stopped
// the copy step.
func TestSessionFailureBurstAndWindowEnd(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rec := &events.Recorder{}
	s := &Session{Options: Options{Events: rec, Now: func() time.Time { return at }}, Config: scriptconfig.Config{FailureBurst: scriptconfig.FailureBurst{Failures: 2, Window: time.Minute}}}
	onFailure := s.failureBursts()
	for i := range 5 {
		onFailure(copier.Failure{At: at.Add(time.Duration(i) * time.Second), Reason: "boom"})
	}
	s.emitWindowEnd(copier.Summary{Stopped: copier.StopInterrupted})
	s.CopySettings.Window = copier.Window{End: at, Cutoff: copier.CutoffDrain}
	s.emitWindowEnd(copier.Summary{Stopped: copier.StopDeadline, Queued: 7, Running: 2})
	got := rec.Events()
	if len(got) != 2 || got[0].Kind != events.FailureBurst || got[0].Burst.Failures != 2 || got[1].Kind != events.WindowEnd {
		t.Fatalf("events %+v", got)
	}
	if w := got[1].Window; w.Cutoff != "drain" || !w.Deadline.Equal(at) || *w.Left != (events.Left{Queued: 7, Running: 2}) {
		t.Errorf("window-end %+v", w)
	}
	if (&Session{}).failureBursts() != nil {
		t.Error("a session without Events listens for failures")
	}
}
