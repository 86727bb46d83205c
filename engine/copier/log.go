package copier

import (
	"context"
	"log/slog"
	"time"
)

// discardLog is the logger of a Copier that was given none.
var discardLog = slog.New(slog.DiscardHandler)

func (c *Copier) logger() *slog.Logger {
	if c.Log == nil {
		return discardLog
	}
	return c.Log
}

// logBatch logs a batch of copy jobs about to start: the count at Info,
// each RP at Debug.
func (c *Copier) logBatch(batch []*copyItem) {
	log := c.logger()
	log.Info("copy jobs starting", "count", len(batch), "in_flight", len(c.inflight)+c.pending, "cap", int(c.s.cap))
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	for _, it := range batch {
		log.Debug("copy job starting", "vault", it.vault, "recovery_point", it.arn, "attempt", it.rec.Attempt,
			"destination_vault", it.rec.DestVaultArn, "resource_type", it.typ, "bytes", it.size)
	}
}

// logFailed logs an RP whose copy failed for good.
func (c *Copier) logFailed(it *copyItem, reason, category string) {
	c.logger().Warn("copy failed", "vault", it.vault, "recovery_point", it.arn, "attempt", it.rec.Attempt,
		"job_id", it.rec.JobID, "category", category, "reason", reason)
	c.failed(it, reason, category, true)
}

// Failure is one failed copy, as OnFailure hears of it.
type Failure struct {
	At                   time.Time
	Vault, RecoveryPoint string
	Attempt              int
	Reason, Category     string
	// Final: the RP failed for good; otherwise a new attempt follows.
	Final bool
}

// failed tells OnFailure of a failed copy.
func (c *Copier) failed(it *copyItem, reason, category string, final bool) {
	if c.OnFailure == nil {
		return
	}
	c.OnFailure(Failure{At: c.Now(), Vault: it.vault, RecoveryPoint: it.arn, Attempt: it.rec.Attempt,
		Reason: reason, Category: category, Final: final})
}

// logRetry logs a retry: a new attempt after a failed job at Info, a
// start call to be made again (throttled, busy) at Debug.
func (c *Copier) logRetry(it *copyItem, at time.Time, reason string, newAttempt bool) {
	level := slog.LevelDebug
	msg := "copy start retry"
	if newAttempt {
		level, msg = slog.LevelInfo, "copy job retry"
	}
	c.logger().Log(context.Background(), level, msg, "vault", it.vault, "recovery_point", it.arn,
		"attempt", it.rec.Attempt, "retry_at", at.UTC(), "reason", reason)
}
