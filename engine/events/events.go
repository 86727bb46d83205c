// Package events is the one stream of a run's notable moments (started,
// progress, vault created, window end, pauses, failure bursts, run
// finished, ...): their kinds, the versioned JSON shape each one has
// (docs/events.md) and the sink they go to. The engine and the command
// emit into a Sink; what reads the stream (`shuffle run --json`, the
// script's on_event hook) lives in cmd. It is a leaf: it knows no AWS,
// state, Lua or UI.
package events

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Schema is the version every event carries in its "schema" field. v1
// only grows: fields are added, never renamed or removed, and a field's
// meaning does not change.
const Schema = "shuffle.event/v1"

// Kind is what happened.
type Kind string

// The kinds of v1 (docs/events.md describes each one's fields).
const (
	// Started: the run began (after the pre-flight check).
	Started Kind = "started"
	// Progress: the copy counters, every --progress-interval (--json only).
	Progress Kind = "progress"
	// VaultCreated: replication created a destination vault.
	VaultCreated Kind = "vault-created"
	// VaultBlocked: a destination vault is not ready for a reason the
	// operator must fix; its RPs wait.
	VaultBlocked Kind = "vault-blocked"
	// ComplianceBlocked: a proposed destination vault failed the
	// compliance check, so replication will not create it.
	ComplianceBlocked Kind = "compliance-blocked"
	// WindowEnd: the change window ended; the copy step stopped starting
	// jobs (or stopped altogether).
	WindowEnd Kind = "window-end"
	// Paused and Resumed: the credential guard paused the run on refused
	// credentials, and resumed it.
	Paused  Kind = "paused"
	Resumed Kind = "resumed"
	// FailureBurst: at least N copies failed within M minutes.
	FailureBurst Kind = "failure-burst"
	// RunFinished: the run ended, however it ended.
	RunFinished Kind = "run-finished"
	// Summary: the copy summary, the last line of `run --json` only.
	Summary Kind = "summary"
)

// Kinds are every kind of v1, in the order docs/events.md lists them.
var Kinds = []Kind{Started, Progress, VaultCreated, VaultBlocked, ComplianceBlocked, WindowEnd, Paused, Resumed, FailureBurst, RunFinished, Summary}

// StreamOnly are the kinds only `run --json` gets: a hook is not run
// every progress interval, and the summary repeats run-finished.
var StreamOnly = []Kind{Progress, Summary}

// HookKinds are the kinds an on_event hook may ask for.
func HookKinds() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if !slices.Contains(StreamOnly, k) {
			out = append(out, k)
		}
	}
	return out
}

// ParseHookKind is the hook kind named s, or an error that lists them.
func ParseHookKind(s string) (Kind, error) {
	k := Kind(s)
	if slices.Contains(StreamOnly, k) {
		return "", fmt.Errorf("%q goes only to `shuffle run --json`, never to a hook (hook kinds: %s)", s, kindList(HookKinds()))
	}
	if !slices.Contains(Kinds, k) {
		return "", fmt.Errorf("%q is not an event kind (hook kinds: %s)", s, kindList(HookKinds()))
	}
	return k, nil
}

func kindList(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Event is one line of the stream. The fields every event has come
// first; the rest are set by kind (docs/events.md) and left out of the
// JSON when unset.
type Event struct {
	Schema string    `json:"schema"`
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	// Which run: RunID is the stem of its report files
	// (STATE/reports/RUN_ID.json), StateDir and Script as given.
	RunID    string `json:"run_id,omitempty"`
	StateDir string `json:"state_dir,omitempty"`
	Script   string `json:"script,omitempty"`
	// Phase is the step the run is in (inventory, decide, copy, ...).
	Phase string `json:"phase,omitempty"`
	// Counts are the copy counters as the event was sent.
	Counts *Counts `json:"counts,omitempty"`

	// Migration is what the script migrates (started).
	Migration *Migration `json:"migration,omitempty"`

	Vault  *Vault  `json:"vault,omitempty"`  // vault-created, vault-blocked, compliance-blocked
	Window *Window `json:"window,omitempty"` // started (with a window), window-end
	Pause  *Pause  `json:"pause,omitempty"`  // paused, resumed
	Burst  *Burst  `json:"burst,omitempty"`  // failure-burst
	// Outcome is how the run ended (run-finished, summary).
	Outcome *Outcome `json:"outcome,omitempty"`
	// Copy is the copy step's summary (summary; run-finished when the
	// run copied).
	Copy *CopySummary `json:"copy,omitempty"`
}

// New is an event of kind k at t, with the schema set.
func New(k Kind, t time.Time) Event {
	return Event{Schema: Schema, Time: t.UTC(), Kind: k}
}

// Counts are the copy step's counters (engine/progress's snapshot).
type Counts struct {
	Total        int64 `json:"total"`         // included RPs the copy step knows of
	Completed    int64 `json:"completed"`     // all runs
	CompletedNow int64 `json:"completed_now"` // this run
	Failed       int64 `json:"failed"`        // failed for good, all runs
	InFlight     int   `json:"in_flight"`
	Waiting      int   `json:"waiting_retry"` // resources waiting for a retry time
	BytesDone    int64 `json:"bytes_done"`
	BytesTotal   int64 `json:"bytes_total"`
	Paused       bool  `json:"paused,omitempty"`
}

// Migration is the script's two accounts and region.
type Migration struct {
	SourceAccount      string `json:"source_account"`
	DestinationAccount string `json:"destination_account"`
	Region             string `json:"region"`
}

// Vault is a destination vault and what happened to it.
type Vault struct {
	SourceVault      string `json:"source_vault"`
	DestinationVault string `json:"destination_vault,omitempty"`
	Arn              string `json:"arn,omitempty"`
	// Why it is blocked: Wait is the typed reason (access-policy,
	// encryption-key, compliance-lock, create-failed, aws-error,
	// no-destination, ...), Reason says it in words.
	Wait   string `json:"wait,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Window is the change window.
type Window struct {
	Deadline time.Time `json:"deadline"`
	Cutoff   string    `json:"cutoff,omitempty"`
	// Left is what the copy step left for the next run (window-end).
	Left *Left `json:"left,omitempty"`
}

// Left counts the RPs a run left: queued, running in AWS, waiting to
// retry.
type Left struct {
	Queued   int64 `json:"queued"`
	Running  int64 `json:"running"`
	Retrying int64 `json:"retrying"`
}

// Pause is a pause of the credential guard.
type Pause struct {
	Profile      string     `json:"profile"`
	Code         string     `json:"code,omitempty"`     // the refusal's error code
	Failures     int        `json:"failures,omitempty"` // refusals in a row
	TokenExpires *time.Time `json:"token_expires,omitempty"`
	Since        time.Time  `json:"since"`
	// Resumed only.
	ResumedBy string  `json:"resumed_by,omitempty"`
	PausedS   float64 `json:"paused_s,omitempty"`
}

// Burst is a failure burst: Failures copies failed within Minutes.
type Burst struct {
	Failures int       `json:"failures"` // failures within the window when it fired (the threshold)
	Minutes  float64   `json:"minutes"`
	First    time.Time `json:"first"` // the first failure of the burst
	// LastReason is the last failure's reason; ByReason counts the
	// burst's failures by reason.
	LastReason string         `json:"last_reason,omitempty"`
	ByReason   map[string]int `json:"by_reason,omitempty"`
}

// Outcome is how a run ended.
type Outcome struct {
	// Result: done, window-ended, interrupted or failed.
	Result   Result  `json:"result"`
	ExitCode int     `json:"exit_code"`
	Error    string  `json:"error,omitempty"`
	ElapsedS float64 `json:"elapsed_s"`
	PausedS  float64 `json:"paused_s,omitempty"`
}

// Result is how a run ended, in a word.
type Result string

const (
	Done        Result = "done"
	WindowEnded Result = "window-ended"
	Interrupted Result = "interrupted"
	Failed      Result = "failed"
)

// CopySummary are the copy step's numbers, as `shuffle run` prints them
// (and the run report's "copy" holds).
type CopySummary struct {
	Started        int64            `json:"started"`
	CompletedNow   int64            `json:"completed_now"`
	BytesNow       int64            `json:"bytes_now"`
	Completed      int64            `json:"completed"`
	Bytes          int64            `json:"bytes"`
	Failed         int64            `json:"failed"`
	Running        int64            `json:"running"`
	Retrying       int64            `json:"retrying"`
	Queued         int64            `json:"queued"`
	Waiting        int64            `json:"waiting"`
	Tagged         int64            `json:"tagged"`
	TagErrors      int64            `json:"tag_errors"`
	FailedByReason map[string]int64 `json:"failed_by_reason,omitempty"`
	WaitingByVault map[string]int64 `json:"waiting_by_vault,omitempty"`
	ElapsedS       float64          `json:"elapsed_s"`
	// Stopped is why the copy step returned early ("deadline",
	// "interrupted", "error"), "" when it did not.
	Stopped string `json:"stopped,omitempty"`
}

// Sink takes events. Emit must not block for long or panic: it is
// called from the run's own goroutines.
type Sink interface {
	Emit(Event)
}

// SinkFunc is a function as a Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// Recorder is a Sink that keeps every event, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Emit keeps e.
func (r *Recorder) Emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events are the events kept so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}
