package engine

import (
	"log/slog"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
)

// discardLog is the logger of a Session that was given none.
var discardLog = slog.New(slog.DiscardHandler)

func (s *Session) logger() *slog.Logger {
	if s.Log == nil {
		return discardLog
	}
	return s.Log
}

func (s *Session) progress() *progress.Progress {
	if s.Progress == nil {
		s.Progress = progress.New()
	}
	return s.Progress
}

// step enters one step of the session: it sets the phase the UI shows
// and logs the start. The function it returns logs the end, with the
// step's summary or its error.
func (s *Session) step(phase string) func(summary any, err error) {
	s.progress().SetPhase(phase)
	log := s.logger()
	start := time.Now()
	log.Info("step started", "step", phase)
	return func(summary any, err error) {
		elapsed := slog.Float64("elapsed_s", time.Since(start).Seconds())
		if err != nil {
			log.Error("step failed", "step", phase, elapsed, "error", err.Error(), "summary", summary)
			if cs, ok := summary.(copier.Summary); ok && cs.Stopped != copier.StopNone {
				log.Info("copy stopped", "reason", string(cs.Stopped), "running", cs.Running, "queued", cs.Queued)
			}
			return
		}
		log.Info("step finished", "step", phase, elapsed, "summary", summary)
		if cs, ok := summary.(copier.Summary); ok && cs.Stopped != copier.StopNone {
			log.Info("copy stopped", "reason", string(cs.Stopped), "running", cs.Running, "queued", cs.Queued)
		}
	}
}

// logReplication logs each destination vault replicate created or
// changed, or could not get ready.
func (s *Session) logReplication(statuses map[string]*replicate.DestinationStatus) {
	log := s.logger()
	for _, name := range sortedNames(statuses) {
		st := statuses[name]
		attrs := []any{"source_vault", st.SourceVault, "destination_vault", st.Name, "arn", st.Arn}
		switch st.Action {
		case replicate.ActionCreated:
			log.Info("vault created", append(attrs, "applied", st.Applied)...)
		case replicate.ActionReconciled:
			log.Info("vault reconciled", append(attrs, "applied", st.Applied)...)
		case replicate.ActionBlocked:
			log.Warn("vault blocked", append(attrs, "reason", st.Reason)...)
		case replicate.ActionDrift:
			log.Warn("vault drift", append(attrs, "drift", st.Drift)...)
		}
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
