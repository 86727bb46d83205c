package main

import "github.com/prometheus/client_golang/prometheus"

// The metrics `shuffle run --metrics-addr` serves: every one the
// collector exports is defined here, once, with its type, labels and
// help. docs/monitoring.md lists the same (TestMonitoringDocsMatchTheMetrics
// checks it, and that the sample dashboard and alert rules query only
// these), so a metric added here is documented there.

// metricDef is one metric: its name, type, labels and help text.
type metricDef struct {
	name   string
	typ    prometheus.ValueType
	labels []string
	help   string
	desc   *prometheus.Desc
}

func def(name string, typ prometheus.ValueType, help string, labels ...string) *metricDef {
	return &metricDef{name: name, typ: typ, labels: labels, help: help,
		desc: prometheus.NewDesc(name, help, labels, nil)}
}

const (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

// The metrics, in the order of docs/monitoring.md.
var (
	// The run.
	mRunInfo    = def("shuffle_run_info", gauge, "Always 1: the shuffle version and commit, the command, its script and state directory.", "version", "commit", "command", "script", "state_dir")
	mRunStart   = def("shuffle_run_start_timestamp_seconds", gauge, "When the run started (Unix time).")
	mPhase      = def("shuffle_phase", gauge, "1 for the step the run is in (starting, inventory, enrich, decide, replicate, copy, done), 0 for the others.", "phase")
	mPhaseStart = def("shuffle_phase_start_timestamp_seconds", gauge, "When the run entered its current step (Unix time).")
	mWindow     = def("shuffle_window_deadline_timestamp_seconds", gauge, "The change window's deadline (--window or --until; Unix time) and its --cutoff; absent without a window.", "cutoff")
	mPaused     = def("shuffle_paused", gauge, "1 while AWS calls are paused, waiting for fresh credentials; 0 otherwise.")
	mPauseSince = def("shuffle_paused_since_timestamp_seconds", gauge, "When the current pause began (Unix time); absent when not paused.")
	mPausedSecs = def("shuffle_paused_seconds_total", counter, "Time spent paused by this run, the current pause included.")
	mProgress   = def("shuffle_last_progress_timestamp_seconds", gauge, "The latest of: the last copy completed by this run, the start of the current step, the start of the run (Unix time).")

	// The state, from its counters.
	mRPs          = def("shuffle_recovery_points", gauge, "Included recovery points by copy state (completed, running, intent, retry, queued, failed), source vault and resource type, from the state's counters.", "vault", "resource_type", "state")
	mRPBytes      = def("shuffle_recovery_point_bytes", gauge, "Source bytes of the included recovery points by copy state, source vault and resource type.", "vault", "resource_type", "state")
	mLastDone     = def("shuffle_last_copy_completed_timestamp_seconds", gauge, "When the last copy job recorded in the state completed, by any run (Unix time); absent before the first.")
	mFirstStart   = def("shuffle_first_copy_started_timestamp_seconds", gauge, "When the first copy job recorded in the state started (Unix time); absent before the first.")
	mLag          = def("shuffle_lag_recovery_points", gauge, "Included recovery points created more than 24 hours ago and not copied yet, by source vault (0 for a vault with none).", "vault")
	mLagOldest    = def("shuffle_lag_oldest_created_timestamp_seconds", gauge, "Creation time (to the hour) of the oldest lagging recovery point of each source vault that has one (Unix time).", "vault")
	mLagAge       = def("shuffle_lag_oldest_age_seconds", gauge, "Age of the oldest included recovery point not copied yet, lagging or not (to the hour); absent when every one is copied.")
	mStateRead    = def("shuffle_state_read_timestamp_seconds", gauge, "When the state's counters behind the shuffle_recovery_points family were last read (Unix time; reads are cached between scrapes).")
	mStateReadDur = def("shuffle_state_read_duration_seconds", gauge, "How long the last read of the state's counters took.")

	// The copy engine, counted by this run.
	mStarted    = def("shuffle_copy_jobs_started_total", counter, "Copy jobs started (StartCopyJob sent) by this run, by source vault and resource type.", "vault", "resource_type")
	mCompleted  = def("shuffle_copies_completed_total", counter, "Copy jobs this run saw complete, by source vault and resource type.", "vault", "resource_type")
	mFailed     = def("shuffle_copies_failed_total", counter, "Recovery points this run marked failed for good (they need a requeue), by source vault and resource type.", "vault", "resource_type")
	mRetries    = def("shuffle_copy_retries_total", counter, "Copies this run set to be tried again after an error (a refused start or a failed job worth retrying), by source vault and resource type.", "vault", "resource_type")
	mBytes      = def("shuffle_copied_bytes_total", counter, "Source bytes of the copies this run saw complete, by source vault and resource type.", "vault", "resource_type")
	mInFlight   = def("shuffle_copy_jobs_in_flight", gauge, "Copy jobs in flight or being started.")
	mCap        = def("shuffle_copy_jobs_in_flight_cap", gauge, "The cap on copy jobs in flight now: the ceiling, lowered while AWS refuses starts for the account's quota, growing back with completions.")
	mMaxCap     = def("shuffle_copy_jobs_in_flight_max", gauge, "The ceiling of the in-flight cap (--max-in-flight or the script's max_in_flight).")
	mVaultIn    = def("shuffle_copy_vault_jobs_in_flight", gauge, "Copy jobs in flight or being started, by source vault.", "vault")
	mVaultCap   = def("shuffle_copy_vault_jobs_in_flight_cap", gauge, "The cap on a source vault's jobs in flight: the script's vault_cap, or one learnt when AWS found the destination vault full; absent while there is none (only the global cap bounds the vault).", "vault")
	mReady      = def("shuffle_copy_resources_ready", gauge, "Resources whose next recovery point could start copying now (one job per resource at a time).")
	mWaitRetry  = def("shuffle_copy_resources_waiting_retry", gauge, "Resources waiting for a retry time before their next start.")
	mListed     = def("shuffle_inventory_listed_recovery_points_total", counter, "Recovery points listed by this run, by source vault.", "vault")
	mExpected   = def("shuffle_inventory_expected_recovery_points", gauge, "Recovery points AWS said a source vault holds, when the run asked.", "vault")
	mCalls      = def("shuffle_aws_calls_total", counter, "AWS API calls made by this run, by operation (each may take several attempts).", "operation")
	mAttempts   = def("shuffle_aws_attempts_total", counter, "Attempts (HTTP requests) of the AWS API calls, by operation: calls plus the SDK's retries.", "operation")
	mAWSErrors  = def("shuffle_aws_errors_total", counter, "Attempts that failed, by operation and error code (the API's, or ConnectionReset, NetworkError, HTTP<status>, Other).", "operation", "code")
	mFcRemain   = def("shuffle_forecast_remaining_seconds", gauge, "The forecast's remaining time for the rest of the copy (as shuffle forecast; refreshed at most once a minute).")
	mFcFinish   = def("shuffle_forecast_finish_timestamp_seconds", gauge, "The forecast's finish (Unix time); absent when nothing is left.")
	mFcAtRisk   = def("shuffle_forecast_at_risk_recovery_points", gauge, "Recovery points the forecast would start copying only after their source's lifecycle deletes them (before this run's first forecast, the count the last run or plan kept).")
	mFcMade     = def("shuffle_forecast_generated_timestamp_seconds", gauge, "When the forecast behind the shuffle_forecast_* gauges was made (Unix time).")
	mScrapeErrs = def("shuffle_metrics_read_errors_total", counter, "Reads of the state for a scrape that failed (the shuffle_recovery_points family or the forecast is then stale or absent), by what was read.", "read")
)

// metricDefs lists every metric the collector exports.
var metricDefs = []*metricDef{
	mRunInfo, mRunStart, mPhase, mPhaseStart, mWindow, mPaused, mPauseSince, mPausedSecs, mProgress,
	mRPs, mRPBytes, mLastDone, mFirstStart, mLag, mLagOldest, mLagAge, mStateRead, mStateReadDur,
	mStarted, mCompleted, mFailed, mRetries, mBytes, mInFlight, mCap, mMaxCap, mVaultIn, mVaultCap, mReady, mWaitRetry,
	mListed, mExpected, mCalls, mAttempts, mAWSErrors,
	mFcRemain, mFcFinish, mFcAtRisk, mFcMade, mScrapeErrs,
}
