package engine

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// RunReportSchema names the layout of the JSON run report.
const RunReportSchema = "shuffle.run-report/v1"

// Final states of an RP in the run reports: the copy record's state
// when there is one, otherwise what the decision left.
const (
	ReportQueued     = query.Queued
	ReportExcluded   = query.Excluded
	ReportIneligible = query.Ineligible
	ReportUndecided  = query.Undecided
)

// ReportStates lists the final states in report order.
var ReportStates = []string{
	state.CopyCompleted, state.CopyFailed, state.CopyRunning, state.CopyRetry, state.CopyIntent,
	ReportQueued, ReportExcluded, ReportIneligible, ReportUndecided,
}

// ReportCSVHeader is the header row of the CSV run report.
var ReportCSVHeader = []string{
	"vault", "recovery_point_arn", "resource_arn", "resource_type", "size_bytes", "creation_date",
	"decision", "decision_reason", "rule", "copy_state", "attempts", "job_id",
	"destination_vault_arn", "destination_rp_arn", "completed_at", "tag_state", "error",
}

// RunVaultReport counts one source vault's RPs by final state.
type RunVaultReport struct {
	RecoveryPoints int64            `json:"recovery_points"`
	Bytes          int64            `json:"bytes"`
	States         map[string]int64 `json:"states"`
	BytesByState   map[string]int64 `json:"bytes_by_state"`
}

// RunReport is the JSON run report: the state as the run left it.
type RunReport struct {
	Schema         string    `json:"schema"`
	GeneratedAt    time.Time `json:"generated_at"`
	RunStart       time.Time `json:"run_start"`
	RecoveryPoints int64     `json:"recovery_points"`
	Bytes          int64     `json:"bytes"`
	// States counts every RP in state by final state (ReportStates);
	// they add up to RecoveryPoints.
	States       map[string]int64 `json:"states"`
	BytesByState map[string]int64 `json:"bytes_by_state"`
	// Copies known to the state without an RP record (should be none).
	OrphanCopies       int64                      `json:"orphan_copies,omitempty"`
	FailedByReason     map[string]int64           `json:"failed_by_reason"`
	RetryByReason      map[string]int64           `json:"retry_by_reason"`
	ExcludedByReason   map[string]int64           `json:"excluded_by_reason"`
	IneligibleByReason map[string]int64           `json:"ineligible_by_reason"`
	Vaults             map[string]*RunVaultReport `json:"vaults"`
	// Copy is what this run's copy pass did; the rates are over its
	// elapsed time.
	Copy           copier.Summary   `json:"copy"`
	RPsPerHour     float64          `json:"rps_per_hour"`
	BytesPerSecond float64          `json:"bytes_per_second"`
	APICalls       map[string]int64 `json:"api_calls"`

	// Waiting are the vaults whose recovery points wait for their
	// destination vault, with how many and why (report_waiting.go).
	Waiting []WaitingVault `json:"waiting"`

	// Every guarded AWS call of the run and its faults, by operation and
	// in all (report_faults.go).
	AWSCallsByOperation map[string]awsclient.OpStats `json:"aws_calls_by_operation,omitempty"`
	AWSCallTotals       *awsclient.OpStats           `json:"aws_call_totals,omitempty"`

	// AtRisk counts the RPs the projection at the run's end starts
	// after their source's lifecycle deletes them (nil: none).
	AtRisk *forecast.AtRisk `json:"at_risk,omitempty"`
}

// reportName is the file name stem of a run's reports.
func reportName(runStart time.Time) string {
	return "run-" + runStart.UTC().Format("20060102T150405Z")
}

// WriteReports writes the run reports into dir (created 0700 if
// missing): run-<UTC start>.json with counts by final state, reason and
// vault, and run-<UTC start>.csv with one row per RP in state. The
// state is read in one streamed pass; each file is written to a
// temporary file and renamed into place.
func WriteReports(st *state.Store, dir string, runStart time.Time, sum copier.Summary, opts ...ReportOption) (jsonPath, csvPath string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("reports: %w", err)
	}
	stem := filepath.Join(dir, reportName(runStart))
	jsonPath, csvPath = stem+".json", stem+".csv"

	rep := &RunReport{
		Schema: RunReportSchema, GeneratedAt: time.Now().UTC(), RunStart: runStart.UTC(),
		States: map[string]int64{}, BytesByState: map[string]int64{},
		FailedByReason: map[string]int64{}, RetryByReason: map[string]int64{},
		ExcludedByReason: map[string]int64{}, IneligibleByReason: map[string]int64{},
		Vaults: map[string]*RunVaultReport{}, Copy: sum, APICalls: sum.APICalls,
		Waiting: waitingVaults(sum),
	}
	for _, s := range ReportStates {
		rep.States[s] = 0
	}
	for _, o := range opts {
		o(rep)
	}
	if h := sum.Elapsed.Hours(); h > 0 {
		rep.RPsPerHour = float64(sum.CompletedNow) / h
		rep.BytesPerSecond = float64(sum.BytesNow) / sum.Elapsed.Seconds()
	}

	err = WriteAtomic(csvPath, func(w *bufio.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(ReportCSVHeader); err != nil {
			return err
		}
		row := make([]string, len(ReportCSVHeader))
		err := query.JoinCopies(st, "", func(rp *state.RP, rec *state.CopyRecord) error {
			if rp == nil {
				rep.OrphanCopies++
				return nil
			}
			fs := query.FinalState(rp, rec)
			rep.count(rp, rec, fs)
			csvRow(row, rp, rec, fs)
			return cw.Write(row)
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return "", "", fmt.Errorf("reports: %w", err)
	}
	err = WriteAtomic(jsonPath, func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
	if err != nil {
		return "", "", fmt.Errorf("reports: %w", err)
	}
	return jsonPath, csvPath, nil
}

func (r *RunReport) count(rp *state.RP, rec *state.CopyRecord, fs string) {
	r.RecoveryPoints++
	r.Bytes += rp.Size
	r.States[fs]++
	r.BytesByState[fs] += rp.Size
	v := r.Vaults[rp.Vault]
	if v == nil {
		v = &RunVaultReport{States: map[string]int64{}, BytesByState: map[string]int64{}}
		r.Vaults[rp.Vault] = v
	}
	v.RecoveryPoints++
	v.Bytes += rp.Size
	v.States[fs]++
	v.BytesByState[fs] += rp.Size
	switch fs {
	case state.CopyFailed:
		r.FailedByReason[rec.FailureKey()]++
	case state.CopyRetry:
		r.RetryByReason[rec.FailureKey()]++
	case ReportExcluded:
		r.ExcludedByReason[rp.Decision.Reason]++
	case ReportIneligible:
		r.IneligibleByReason[rp.Decision.Reason]++
	}
}

func csvRow(row []string, rp *state.RP, rec *state.CopyRecord, fs string) {
	clear(row)
	row[0], row[1], row[2], row[3] = rp.Vault, rp.Arn, rp.ResourceArn, rp.ResourceType
	row[4] = strconv.FormatInt(rp.Size, 10)
	if !rp.CreationDate.IsZero() {
		row[5] = rp.CreationDate.UTC().Format(time.RFC3339)
	}
	if d := rp.Decision; d != nil {
		row[6], row[7], row[8] = d.Outcome, d.Reason, d.Rule
	}
	// copy_state: the copy record's state, or queued for an included RP
	// without one; empty for RPs that are not to be copied.
	if rec != nil || fs == ReportQueued {
		row[9] = fs
	}
	if rec == nil {
		return
	}
	row[10] = strconv.Itoa(rec.Attempt)
	row[11], row[12], row[13] = rec.JobID, rec.DestVaultArn, rec.DestRPArn
	if rec.CompletedAt != nil && rec.State == state.CopyCompleted {
		row[14] = rec.CompletedAt.UTC().Format(time.RFC3339)
	}
	row[15] = rec.TagState
	switch {
	case rec.State != state.CopyCompleted && rec.Reason != "":
		row[16] = rec.Reason
	case rec.TagState == string(copier.TagError):
		row[16] = rec.TagError
	}
}

// WriteAtomic writes path through a temporary file in the same
// directory, synced and renamed into place.
func WriteAtomic(path string, fill func(*bufio.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	if err = fill(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
