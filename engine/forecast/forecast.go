package forecast

import (
	"time"
)

// TypeRate is the observed duration model of one resource type:
// seconds ≈ SetupSeconds + size / BytesPerSecond.
type TypeRate struct {
	ResourceType string  `json:"resource_type"`
	Samples      int64   `json:"samples"` // completed copies with both times
	Bytes        int64   `json:"bytes"`
	MeanSeconds  float64 `json:"mean_seconds"`
	// ObservedBytesPerSecond is Σ size / Σ duration over the samples.
	ObservedBytesPerSecond float64 `json:"observed_bytes_per_second"`
	// The model the projection uses, and how it was obtained: "fit"
	// (least squares on this type), "pooled" (the fit over every type,
	// shifted by this type's mean residual), "mean" (this type's mean
	// duration), "global-mean", or "prior" (no completed copy yet: the
	// engine's scheduling prior, 300 s + size / 50 MB/s). "pooled" is
	// used for a type with fewer than 3 samples: the pooled line scaled
	// by this type's Σ duration / Σ pooled prediction.
	Method         Method  `json:"method"`
	SetupSeconds   float64 `json:"setup_seconds"`
	BytesPerSecond float64 `json:"bytes_per_second"` // 0: durations do not grow with size (a mean)
	// RMSESeconds is the model's root-mean-square error on the samples.
	RMSESeconds float64 `json:"rmse_seconds"`
}

// SizeRate is the observed rate of one size class.
type SizeRate struct {
	Label                  string  `json:"label"`
	MinBytes               int64   `json:"min_bytes"`
	MaxBytes               int64   `json:"max_bytes,omitempty"` // 0: no upper bound
	Samples                int64   `json:"samples"`
	MeanSeconds            float64 `json:"mean_seconds"`
	ObservedBytesPerSecond float64 `json:"observed_bytes_per_second"`
}

// Rates are what the completed copies say about speed.
type Rates struct {
	ByType []TypeRate `json:"by_type"`
	BySize []SizeRate `json:"by_size"`
	// Pooled is the fit over every type (Method "fit" when there were
	// enough samples, "global-mean" or "prior" otherwise).
	Pooled TypeRate `json:"pooled"`
	// OverheadSeconds is the median gap between a copy's completion and
	// the start of the next copy of the same resource: the time shuffle
	// takes to notice a completion and start the next job.
	OverheadSeconds float64 `json:"overhead_seconds"`
	OverheadSamples int64   `json:"overhead_samples"`
	// BusyHours is the time during which at least one copy job was in
	// flight; CompletedPerHour and BytesPerHour are over it.
	BusyHours        float64 `json:"busy_hours"`
	CompletedPerHour float64 `json:"completed_per_hour"`
	BytesPerHour     float64 `json:"bytes_per_hour"`
	// RunHours is the time `shuffle run` commands spent, from the run
	// history (a killed run leaves no record), and CompletedPerRunHour
	// every completion over it.
	RunHours            float64 `json:"run_hours"`
	CompletedPerRunHour float64 `json:"completed_per_run_hour,omitempty"`
}

// WindowPlan is how many change windows of a given length the
// remaining work needs.
type WindowPlan struct {
	WindowSeconds float64 `json:"window_seconds"`
	Window        string  `json:"window"`
	// Windows needed, counting the one starting now. Like `shuffle run`
	// with a deadline, no job starts after a window's end; the jobs
	// still running then finish before the next window (the gap between
	// windows is assumed at least as long as the longest job).
	Windows int `json:"windows"`
	// LastWindowSeconds is how long the last window is busy, counted to
	// the last predicted completion (more than the window when its last
	// jobs run past the end).
	LastWindowSeconds float64 `json:"last_window_seconds"`
	// TooShort: the window is shorter than the longest single job, so
	// some job cannot run inside a window. A window must be at least as
	// long as the longest single job.
	TooShort bool   `json:"too_short"`
	Note     string `json:"note"`
}

// Projection is the simulated rest of the copy.
type Projection struct {
	MaxInFlight     int     `json:"max_in_flight"`
	OverheadSeconds float64 `json:"overhead_seconds"`
	// Jobs still to complete: InFlight (running or intent, already in
	// AWS or about to be) and Queued (queued and retry).
	InFlight int64 `json:"in_flight"`
	Queued   int64 `json:"queued"`
	// RemainingSeconds is the predicted time from GeneratedAt until the
	// last copy completes, if a run goes on without pause; Finish is
	// that moment.
	RemainingSeconds float64    `json:"remaining_seconds"`
	Remaining        string     `json:"remaining"`
	Finish           *time.Time `json:"finish,omitempty"`
	// PredictedWorkSeconds is the sum of every remaining job's predicted
	// duration (what one slot would take).
	PredictedWorkSeconds float64 `json:"predicted_work_seconds"`
	// LongestJobSeconds is the longest single remaining job, and
	// LongestChainSeconds the longest remaining chain of one resource
	// (its jobs run one after another; no cap makes it faster).
	LongestJobSeconds   float64     `json:"longest_job_seconds"`
	LongestChainSeconds float64     `json:"longest_chain_seconds"`
	Resources           int64       `json:"resources"` // resources with work left
	Window              *WindowPlan `json:"window,omitempty"`
	// AtRisk (nil: none) counts the RPs whose lifecycle deletes them
	// before the projection starts their copy.
	AtRisk *AtRisk `json:"at_risk,omitempty"`
}

// AtRisk is the RPs the projection starts too late: their source's
// lifecycle deletes them first (a date already past counts too). The
// projection runs without pause, so with change windows more are at
// risk than it says.
type AtRisk struct {
	RecoveryPoints   int64     `json:"recovery_points"`
	EarliestDeleteAt time.Time `json:"earliest_delete_at"`
	// AsOf, in status, is when the projection was made (the end of the
	// last run or plan, which keep it: AtRiskCache).
	AsOf *time.Time `json:"as_of,omitempty"`
}

// AtRiskCache is the state cache (state.Store.PutCache) in which `run`
// and `plan` keep the at-risk count of the projection they made as they
// ended, for status to show without projecting again. Its value is an
// AtRisk with AsOf set; RecoveryPoints 0 says none.
const AtRiskCache = "at-risk"

// Forecast is the status, the observed rates and the projection.
type Forecast struct {
	Schema      string     `json:"schema"`
	GeneratedAt time.Time  `json:"generated_at"`
	Status      *Status    `json:"status"`
	Rates       Rates      `json:"rates"`
	Projection  Projection `json:"projection"`
	// Chart is where the chart was written, when it was (the CLI draws
	// it from ChartSeries and sets it).
	Chart string `json:"chart,omitempty"`

	// For the chart: completion times of the copies so far (Unix ns,
	// sorted) and the projected ones (seconds after GeneratedAt, sorted).
	done      []int64
	projected []float64
	series    *[2][]Point // set by SetChartSeries
}

// Options tune the projection. Zero values pick the defaults.
type Options struct {
	Now         time.Time     // the moment the projection starts (default time.Now)
	MaxInFlight int           // the global cap of jobs in flight (default 100)
	Window      time.Duration // change-window length (0: none)
}
