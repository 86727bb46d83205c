package engine

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
)

// ReportOption adds a section to the run report.
type ReportOption func(*RunReport)

// WithCallStats puts the run's AWS calls and their faults by operation
// (throttles, server errors, connection resets, retries) in the report.
func WithCallStats(snap map[string]awsclient.OpStats) ReportOption {
	return func(r *RunReport) {
		if len(snap) == 0 {
			return
		}
		r.AWSCallsByOperation = snap
		var t awsclient.OpStats
		for _, s := range snap {
			t = addStats(t, s)
		}
		r.AWSCallTotals = &t
	}
}

func addStats(a, b awsclient.OpStats) awsclient.OpStats {
	a.Calls += b.Calls
	a.Attempts += b.Attempts
	a.Retries += b.Retries
	a.Throttles += b.Throttles
	a.ServerErrors += b.ServerErrors
	a.Resets += b.Resets
	a.NetworkErrors += b.NetworkErrors
	return a
}

// FaultSummary describes the faults of a run's AWS calls, one line per
// kind with the operations it hit, e.g. "throttled 12 times: StartCopyJob
// 10, ListCopyJobs 2". Nil when every attempt went through at once.
func FaultSummary(snap map[string]awsclient.OpStats) []string {
	kinds := []struct {
		what string
		n    func(awsclient.OpStats) int64
	}{
		{"throttled", func(s awsclient.OpStats) int64 { return s.Throttles }},
		{"server errors (5xx)", func(s awsclient.OpStats) int64 { return s.ServerErrors }},
		{"connection resets", func(s awsclient.OpStats) int64 { return s.Resets }},
		{"other network errors", func(s awsclient.OpStats) int64 { return s.NetworkErrors }},
		{"retries", func(s awsclient.OpStats) int64 { return s.Retries }},
	}
	var out []string
	for _, k := range kinds {
		var total int64
		var parts []string
		for _, op := range awsclient.Operations(snap) {
			if n := k.n(snap[op]); n > 0 {
				total += n
				parts = append(parts, fmt.Sprintf("%s %d", op, n))
			}
		}
		if total > 0 {
			out = append(out, fmt.Sprintf("%s %d: %s", k.what, total, strings.Join(parts, ", ")))
		}
	}
	return out
}

// LogCallStats writes the run's AWS calls and faults by operation to
// the log ("aws calls").
func LogCallStats(log *slog.Logger, snap map[string]awsclient.OpStats) {
	if len(snap) == 0 {
		return
	}
	var t awsclient.OpStats
	for _, s := range snap {
		t = addStats(t, s)
	}
	log.Info("aws calls", "calls", t.Calls, "attempts", t.Attempts, "retries", t.Retries, "throttles", t.Throttles,
		"server_errors", t.ServerErrors, "connection_resets", t.Resets, "network_errors", t.NetworkErrors, "by_operation", snap)
}

// WithAtRisk puts the copy projection's at-risk count (nil: none) in
// the report.
func WithAtRisk(a *forecast.AtRisk) ReportOption {
	return func(r *RunReport) { r.AtRisk = a }
}
