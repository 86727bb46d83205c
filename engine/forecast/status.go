package forecast

import (
	"context"
	"errors"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// StatusSchema and Schema name the JSON layouts of
// `shuffle status --json` and `shuffle forecast --json`. Fields are only
// ever added within one version.
const (
	StatusSchema = "shuffle.status/v1"
	Schema       = "shuffle.forecast/v1"
)

// StatusStates lists the copy states status counts, in display order.
var StatusStates = []string{state.CopyCompleted, state.CopyRunning, state.CopyIntent, state.CopyRetry, query.Queued, state.CopyFailed}

// TypeStatus is the copy progress of one resource type.
type TypeStatus struct {
	ResourceType   string `json:"resource_type"`
	Completed      int64  `json:"completed"`
	CompletedBytes int64  `json:"completed_bytes"`
	Remaining      int64  `json:"remaining"` // queued, intent, running and retry
	RemainingBytes int64  `json:"remaining_bytes"`
	Failed         int64  `json:"failed"`
}

// Status is where the copy stands, from the state alone.
type Status struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	// States counts the included RPs by copy state (StatusStates):
	// completed, running, intent, retry, queued (included, no copy record
	// yet) and failed. BytesByState is the same in bytes.
	States       map[string]int64 `json:"states"`
	BytesByState map[string]int64 `json:"bytes_by_state"`
	// Included is every RP to copy: the sum of States.
	Included       int64 `json:"included"`
	IncludedBytes  int64 `json:"included_bytes"`
	Completed      int64 `json:"completed"`
	CompletedBytes int64 `json:"completed_bytes"`
	// Remaining is queued + intent + running + retry: what a run still
	// has to copy (failed RPs need a requeue first).
	Remaining      int64 `json:"remaining"`
	RemainingBytes int64 `json:"remaining_bytes"`
	Failed         int64 `json:"failed"`
	// PercentDone is completed / (completed + remaining), by count, and
	// PercentBytesDone the same by bytes.
	PercentDone      float64          `json:"percent_done"`
	PercentBytesDone float64          `json:"percent_bytes_done"`
	FailedByReason   map[string]int64 `json:"failed_by_reason"`
	RetryByReason    map[string]int64 `json:"retry_by_reason"`
	ByType           []TypeStatus     `json:"by_type"`
	// FirstStart and LastCompletion bound the copy jobs seen so far.
	FirstStart     *time.Time `json:"first_start,omitempty"`
	LastCompletion *time.Time `json:"last_completion,omitempty"`
	// Runs is the number of commands in the run history; LastRun the
	// newest.
	Runs    int        `json:"runs"`
	LastRun *state.Run `json:"last_run,omitempty"`
	// OrphanCopies are copy records without an RP record (should be none).
	OrphanCopies int64 `json:"orphan_copies,omitempty"`
	// Lag is how far the copy is behind the source (nil: the state keeps
	// no counters).
	Lag *Lag `json:"lag,omitempty"`
	// AtRisk is what the projection of the last run or plan found at
	// risk of expiring (AtRiskCache; nil: none made one).
	AtRisk *AtRisk `json:"at_risk,omitempty"`
}

// scanOnly makes Make read every record, so that tests can compare it
// with the forecast from the entries.
var scanOnly bool

// ReadStatus counts where the copy stands: from the state's counters,
// or by a scan of a state that keeps none.
func ReadStatus(ctx context.Context, st *state.Store, now time.Time) (*Status, error) {
	return readStatus(ctx, st, now, newScan(false))
}

func readStatus(ctx context.Context, st *state.Store, now time.Time, sc *scan) (*Status, error) {
	// One read of the counters for the counts and the lag.
	sum, err := st.Summary(state.CubeReasons, state.CubeTime)
	if scanOnly {
		err = state.ErrNoSummary
	}
	var lag *Lag
	switch {
	case err == nil:
		sc.fromSummary(sum)
		lag = lagFrom(sum, now, DefaultLagAfter)
	case errors.Is(err, state.ErrNoSummary):
		if err := sc.run(ctx, st); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if err := sc.runs(st); err != nil {
		return nil, err
	}
	s := sc.status(now)
	s.Lag = lag
	var ar AtRisk
	if ok, err := st.GetCache(AtRiskCache, &ar); err != nil {
		return nil, err
	} else if ok {
		s.AtRisk = &ar
	}
	return s, nil
}

// Make reads the state and projects the rest of the copy.
func Make(ctx context.Context, st *state.Store, o Options) (*Forecast, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 100
	}
	if o.Window < 0 {
		return nil, errors.New("forecast: the window must not be negative")
	}
	sc := newScan(true)
	// The counters and the forecast entries when the state keeps them;
	// otherwise a scan of every record.
	sum, err := st.Summary(state.CubeReasons, state.CubeTime)
	if scanOnly {
		err = state.ErrNoSummary
	}
	var lag *Lag
	if err == nil {
		sc.fromSummary(sum)
		lag = lagFrom(sum, o.Now, DefaultLagAfter)
		err = sc.fromIndex(ctx, st)
	}
	if errors.Is(err, state.ErrNoSummary) {
		sc = newScan(true)
		err = sc.run(ctx, st)
	}
	if err != nil {
		return nil, err
	}
	if err := sc.runs(st); err != nil {
		return nil, err
	}
	if lag == nil { // read apart only when the counts came from a scan
		if lag, err = ReadLag(st, o.Now, DefaultLagAfter); err != nil {
			return nil, err
		}
	}
	f := &Forecast{Schema: Schema, GeneratedAt: o.Now.UTC(), Status: sc.status(o.Now)}
	f.Status.Lag = lag
	f.Rates, f.done = sc.rates()
	models := sc.models(&f.Rates)
	f.Projection, f.projected = sc.project(models, f.Rates.OverheadSeconds, o)
	if f.Projection.RemainingSeconds > 0 || f.Projection.InFlight+f.Projection.Queued > 0 {
		fin := o.Now.Add(seconds(f.Projection.RemainingSeconds)).UTC()
		f.Projection.Finish = &fin
	}
	return f, nil
}

// fromSummary counts what run counts, from the counters' reasons cube.
func (sc *scan) fromSummary(sum *state.Summary) {
	for c, m := range sum.Cells {
		if c.Cube != state.CubeReasons {
			continue
		}
		if c.Orphan {
			sc.st.OrphanCopies += m.N
			continue
		}
		typ := c.Type
		if c.SType != "" {
			typ = c.SType
		}
		switch c.Status {
		case state.CopyCompleted:
			sc.cell(c.Vault, typ, c.Status, m.N, m.CBytes)
			sc.st.States[c.Status] += m.N
			sc.st.BytesByState[c.Status] += m.CBytes
			sc.st.Completed += m.N
			sc.st.CompletedBytes += m.CBytes
			t := sc.typeStatus(typ)
			t.Completed += m.N
			t.CompletedBytes += m.CBytes
		case state.CopyFailed:
			sc.cell(c.Vault, typ, c.Status, m.N, m.CBytes)
			sc.st.States[c.Status] += m.N
			sc.st.BytesByState[c.Status] += m.CBytes
			sc.st.Failed += m.N
			sc.st.FailedByReason[c.FailKey] += m.N
			sc.typeStatus(typ).Failed += m.N
		case state.CopyRunning, state.CopyIntent, state.CopyRetry:
			if c.Status == state.CopyRetry {
				sc.st.RetryByReason[c.FailKey] += m.N
			}
			sc.count(c.Status, typ, m)
			sc.cell(c.Vault, typ, c.Status, m.N, m.CBytes)
		case query.Queued:
			if !c.Copying && c.Outcome == state.Included {
				sc.count(c.Status, typ, m)
				sc.cell(c.Vault, typ, c.Status, m.N, m.CBytes)
			}
		}
	}
	if !sum.FirstStart.IsZero() {
		sc.firstStart = sum.FirstStart.UnixNano()
	}
	if !sum.LastCompletion.IsZero() {
		sc.lastEnd = sum.LastCompletion.UnixNano()
	}
}

// count adds m RPs left to copy in state st.
func (sc *scan) count(st, typ string, m state.Measure) {
	sc.st.States[st] += m.N
	sc.st.BytesByState[st] += m.CBytes
	sc.st.Remaining += m.N
	sc.st.RemainingBytes += m.CBytes
	t := sc.typeStatus(typ)
	t.Remaining += m.N
	t.RemainingBytes += m.CBytes
}
