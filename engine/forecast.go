package engine

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// Status and forecast: read-only views over the state (docs/forecast.md).
// Neither calls AWS; both stream the state in one joined scan of the RP
// and copy-record ranges, and keep per-RP data only as compact arrays.

// StatusSchema and ForecastSchema name the JSON layouts of
// `shuffle status --json` and `shuffle forecast --json`. Fields are only
// ever added within one version.
const (
	StatusSchema   = "shuffle.status/v1"
	ForecastSchema = "shuffle.forecast/v1"
)

// StatusQueued is the status of an included RP without a copy record.
const StatusQueued = "queued"

// StatusStates lists the copy states status counts, in display order.
var StatusStates = []string{state.CopyCompleted, state.CopyRunning, state.CopyIntent, state.CopyRetry, StatusQueued, state.CopyFailed}

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
}

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
	Method         string  `json:"method"`
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
}

// Forecast is the status, the observed rates and the projection.
type Forecast struct {
	Schema      string     `json:"schema"`
	GeneratedAt time.Time  `json:"generated_at"`
	Status      *Status    `json:"status"`
	Rates       Rates      `json:"rates"`
	Projection  Projection `json:"projection"`
	// Chart is where the chart was written, when it was.
	Chart string `json:"chart,omitempty"`

	// For the chart: completion times of the copies so far (Unix ns,
	// sorted) and the projected ones (seconds after GeneratedAt, sorted).
	done      []int64
	projected []float64
}

// ForecastOptions tune the projection. Zero values pick the defaults.
type ForecastOptions struct {
	Now         time.Time     // the moment the projection starts (default time.Now)
	MaxInFlight int           // the global cap of jobs in flight (default 100)
	Window      time.Duration // change-window length (0: none)
}

// ReadStatus counts where the copy stands.
func ReadStatus(ctx context.Context, st *state.Store, now time.Time) (*Status, error) {
	sc := newScan(false)
	if err := sc.run(ctx, st); err != nil {
		return nil, err
	}
	if err := sc.runs(st); err != nil {
		return nil, err
	}
	return sc.status(now), nil
}

// MakeForecast reads the state and projects the rest of the copy.
func MakeForecast(ctx context.Context, st *state.Store, o ForecastOptions) (*Forecast, error) {
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
	if err := sc.run(ctx, st); err != nil {
		return nil, err
	}
	if err := sc.runs(st); err != nil {
		return nil, err
	}
	f := &Forecast{Schema: ForecastSchema, GeneratedAt: o.Now.UTC(), Status: sc.status(o.Now)}
	f.Rates, f.done = sc.rates()
	models := sc.models(&f.Rates)
	f.Projection, f.projected = sc.project(models, f.Rates.OverheadSeconds, o)
	if f.Projection.RemainingSeconds > 0 || f.Projection.InFlight+f.Projection.Queued > 0 {
		fin := o.Now.Add(seconds(f.Projection.RemainingSeconds)).UTC()
		f.Projection.Finish = &fin
	}
	return f, nil
}

// --- the scan ---

// typeSums are the running sums of one resource type's samples.
type typeSums struct {
	n, bytes                 int64
	s, d, ss, sd, dd, durSum float64
}

func (t *typeSums) add(size int64, dur float64) {
	s := float64(size)
	t.n++
	t.bytes += size
	t.s += s
	t.d += dur
	t.ss += s * s
	t.sd += s * dur
	t.dd += dur * dur
	t.durSum += dur
}

func (t *typeSums) merge(o *typeSums) {
	t.n += o.n
	t.bytes += o.bytes
	t.s += o.s
	t.d += o.d
	t.ss += o.ss
	t.sd += o.sd
	t.dd += o.dd
	t.durSum += o.durSum
}

// sizeClasses bound the size rates (bytes).
var sizeClasses = []struct {
	label string
	max   int64 // exclusive; 0: none
}{
	{"< 1 GiB", 1 << 30},
	{"1-10 GiB", 10 << 30},
	{"10-100 GiB", 100 << 30},
	{"100 GiB-1 TiB", 1 << 40},
	{"1-10 TiB", 10 << 40},
	{">= 10 TiB", 0},
}

func sizeClass(size int64) int {
	for i, c := range sizeClasses {
		if c.max == 0 || size < c.max {
			return i
		}
	}
	return len(sizeClasses) - 1
}

// doneJob is one completed copy, for the overhead, the busy time and
// the chart.
type doneJob struct {
	res        int32
	start, end int64 // unix ns
}

// Kinds of remaining work.
const (
	kindQueued   = iota // no copy record, or retry without a time
	kindRetry           // retry, not before at
	kindInFlight        // running or intent, since at
)

// workItem is one RP left to copy.
type workItem struct {
	res     int32
	vault   int32
	typ     int32
	kind    uint8
	created int64
	size    int64
	at      int64 // unix ns: start of an in-flight job, or a retry's not-before
}

type scan struct {
	collect bool

	st         Status
	byType     map[string]*TypeStatus
	sums       map[string]*typeSums
	sizeSums   []typeSums
	typeIdx    map[string]int32
	typeNames  []string
	resIdx     map[uint64]int32
	vaultIdx   map[string]int32
	done       []doneJob
	work       []workItem
	runHours   float64
	firstStart int64
	lastEnd    int64
}

func newScan(collect bool) *scan {
	sc := &scan{
		collect: collect,
		st: Status{Schema: StatusSchema, States: map[string]int64{}, BytesByState: map[string]int64{},
			FailedByReason: map[string]int64{}, RetryByReason: map[string]int64{}},
		byType:   map[string]*TypeStatus{},
		sums:     map[string]*typeSums{},
		sizeSums: make([]typeSums, len(sizeClasses)),
		typeIdx:  map[string]int32{},
		resIdx:   map[uint64]int32{},
		vaultIdx: map[string]int32{},
	}
	for _, s := range StatusStates {
		sc.st.States[s], sc.st.BytesByState[s] = 0, 0
	}
	return sc
}

// fnv64 hashes a resource ARN; chains are keyed by the hash to keep
// the map small at a million resources (a collision, at 2^-64 per pair,
// would only merge two chains in the projection).
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (sc *scan) res(arn string) int32 {
	k := fnv64(arn)
	i, ok := sc.resIdx[k]
	if !ok {
		i = int32(len(sc.resIdx))
		sc.resIdx[k] = i
	}
	return i
}

func (sc *scan) typ(name string) int32 {
	i, ok := sc.typeIdx[name]
	if !ok {
		i = int32(len(sc.typeNames))
		sc.typeIdx[name] = i
		sc.typeNames = append(sc.typeNames, name)
	}
	return i
}

func (sc *scan) vault(name string) int32 {
	i, ok := sc.vaultIdx[name]
	if !ok {
		i = int32(len(sc.vaultIdx))
		sc.vaultIdx[name] = i
	}
	return i
}

func (sc *scan) typeStatus(name string) *TypeStatus {
	t := sc.byType[name]
	if t == nil {
		t = &TypeStatus{ResourceType: name}
		sc.byType[name] = t
	}
	return t
}

func (sc *scan) run(ctx context.Context, st *state.Store) error {
	n := 0
	return joinCopies(st, "", func(rp *state.RP, rec *state.CopyRecord) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if rp == nil {
			sc.st.OrphanCopies++
			return nil
		}
		if rec == nil {
			if rp.Copy != state.CopyPending || rp.Decision == nil || rp.Decision.Outcome != state.Included {
				return nil
			}
			sc.remaining(rp, nil, StatusQueued, rp.ResourceType, rp.Size)
			return nil
		}
		typ, size := rec.ResourceType, rec.Size
		if typ == "" {
			typ = rp.ResourceType
		}
		switch rec.State {
		case state.CopyCompleted:
			sc.completed(rp, rec, typ, size)
		case state.CopyFailed:
			sc.st.States[state.CopyFailed]++
			sc.st.BytesByState[state.CopyFailed] += size
			sc.st.Failed++
			sc.st.FailedByReason[failureKey(rec)]++
			sc.typeStatus(typ).Failed++
		case state.CopyRunning, state.CopyIntent, state.CopyRetry:
			if rec.State == state.CopyRetry {
				sc.st.RetryByReason[failureKey(rec)]++
			}
			sc.remaining(rp, rec, rec.State, typ, size)
		}
		return nil
	})
}

func (sc *scan) completed(rp *state.RP, rec *state.CopyRecord, typ string, size int64) {
	sc.st.States[state.CopyCompleted]++
	sc.st.BytesByState[state.CopyCompleted] += size
	sc.st.Completed++
	sc.st.CompletedBytes += size
	t := sc.typeStatus(typ)
	t.Completed++
	t.CompletedBytes += size
	if rec.StartedAt == nil || rec.CompletedAt == nil {
		return
	}
	start, end := rec.StartedAt.UnixNano(), rec.CompletedAt.UnixNano()
	if sc.firstStart == 0 || start < sc.firstStart {
		sc.firstStart = start
	}
	if end > sc.lastEnd {
		sc.lastEnd = end
	}
	if !sc.collect || end < start {
		return
	}
	dur := float64(end-start) / 1e9
	s := sc.sums[typ]
	if s == nil {
		s = &typeSums{}
		sc.sums[typ] = s
	}
	s.add(size, dur)
	sc.sizeSums[sizeClass(size)].add(size, dur)
	res := rec.ResourceArn
	if res == "" {
		res = rp.ResourceArn
	}
	sc.done = append(sc.done, doneJob{res: sc.res(res), start: start, end: end})
}

func (sc *scan) remaining(rp *state.RP, rec *state.CopyRecord, st, typ string, size int64) {
	sc.st.States[st]++
	sc.st.BytesByState[st] += size
	sc.st.Remaining++
	sc.st.RemainingBytes += size
	t := sc.typeStatus(typ)
	t.Remaining++
	t.RemainingBytes += size
	if rec != nil && rec.StartedAt != nil {
		if s := rec.StartedAt.UnixNano(); sc.firstStart == 0 || s < sc.firstStart {
			sc.firstStart = s
		}
	}
	if !sc.collect {
		return
	}
	it := workItem{res: sc.res(rp.ResourceArn), vault: sc.vault(rp.Vault), typ: sc.typ(typ), created: rp.CreationDate.UnixNano(), size: size}
	if rec != nil {
		switch rec.State {
		case state.CopyRunning, state.CopyIntent:
			it.kind = kindInFlight
			it.at = rec.IntentAt.UnixNano()
			if rec.StartedAt != nil {
				it.at = rec.StartedAt.UnixNano()
			}
		case state.CopyRetry:
			if rec.NextAt != nil {
				it.kind, it.at = kindRetry, rec.NextAt.UnixNano()
			}
		}
	}
	sc.work = append(sc.work, it)
}

func (sc *scan) runs(st *state.Store) error {
	runs, err := st.Runs()
	if err != nil {
		return err
	}
	sc.st.Runs = len(runs)
	if len(runs) > 0 {
		r := runs[len(runs)-1]
		sc.st.LastRun = &r
	}
	for _, r := range runs {
		if r.Command == "run" && !r.End.IsZero() && r.End.After(r.Start) {
			sc.runHours += r.End.Sub(r.Start).Hours()
		}
	}
	return nil
}

func (sc *scan) status(now time.Time) *Status {
	s := sc.st
	s.GeneratedAt = now.UTC()
	for _, st := range StatusStates {
		s.Included += s.States[st]
		s.IncludedBytes += s.BytesByState[st]
	}
	if d := s.Completed + s.Remaining; d > 0 {
		s.PercentDone = 100 * float64(s.Completed) / float64(d)
	}
	if d := s.CompletedBytes + s.RemainingBytes; d > 0 {
		s.PercentBytesDone = 100 * float64(s.CompletedBytes) / float64(d)
	}
	for _, t := range sc.byType {
		s.ByType = append(s.ByType, *t)
	}
	sort.Slice(s.ByType, func(i, j int) bool { return s.ByType[i].ResourceType < s.ByType[j].ResourceType })
	if sc.firstStart != 0 {
		t := time.Unix(0, sc.firstStart).UTC()
		s.FirstStart = &t
	}
	if sc.lastEnd != 0 {
		t := time.Unix(0, sc.lastEnd).UTC()
		s.LastCompletion = &t
	}
	return &s
}

// --- rates and the duration model ---

// fitLine fits d ≈ a + s·c by least squares. ok is false when the
// samples cannot support a line (too few, no spread in size, or a
// duration that falls with size). A negative intercept is refitted
// through the origin.
func fitLine(t *typeSums) (a, c float64, ok bool) {
	if t.n < 3 {
		return 0, 0, false
	}
	n := float64(t.n)
	varS := t.ss/n - (t.s/n)*(t.s/n)
	if varS <= 1e-9*(t.ss/n) || varS <= 0 {
		return 0, 0, false
	}
	covSD := t.sd/n - (t.s/n)*(t.d/n)
	c = covSD / varS
	if c <= 0 {
		return 0, 0, false
	}
	a = t.d/n - c*t.s/n
	if a < 0 {
		a, c = 0, t.sd/t.ss
	}
	return a, c, true
}

// sse is the sum of squared errors of d ≈ a + s·c on t's samples.
func sse(t *typeSums, a, c float64) float64 {
	n := float64(t.n)
	v := t.dd - 2*a*t.d - 2*c*t.sd + n*a*a + 2*a*c*t.s + c*c*t.ss
	return math.Max(0, v)
}

// model is the duration model of one type, in seconds.
type model struct{ a, c float64 }

func (m model) seconds(size int64) float64 { return m.a + float64(size)*m.c }

func rateOf(name string, t *typeSums, method string, m model) TypeRate {
	r := TypeRate{ResourceType: name, Samples: t.n, Bytes: t.bytes, Method: method, SetupSeconds: m.a}
	if m.c > 0 {
		r.BytesPerSecond = 1 / m.c
	}
	if t.n > 0 {
		r.MeanSeconds = t.durSum / float64(t.n)
		r.RMSESeconds = math.Sqrt(sse(t, m.a, m.c) / float64(t.n))
	}
	if t.durSum > 0 {
		r.ObservedBytesPerSecond = float64(t.bytes) / t.durSum
	}
	return r
}

// priorModel is the engine's scheduling prior (estimate).
var priorModel = model{a: 300, c: 1 / 50e6}

func (sc *scan) rates() (Rates, []int64) {
	var r Rates
	// Size classes.
	for i, c := range sizeClasses {
		t := &sc.sizeSums[i]
		if t.n == 0 {
			continue
		}
		sr := SizeRate{Label: c.label, MaxBytes: c.max, Samples: t.n, MeanSeconds: t.durSum / float64(t.n)}
		if i > 0 {
			sr.MinBytes = sizeClasses[i-1].max
		}
		if t.durSum > 0 {
			sr.ObservedBytesPerSecond = float64(t.bytes) / t.durSum
		}
		r.BySize = append(r.BySize, sr)
	}
	// Overhead: gaps between a completion and the next start of the
	// same resource.
	jobs := sc.done
	sort.Slice(jobs, func(i, j int) bool {
		if jobs[i].res != jobs[j].res {
			return jobs[i].res < jobs[j].res
		}
		return jobs[i].start < jobs[j].start
	})
	var gaps []float64
	for i := 1; i < len(jobs); i++ {
		if jobs[i].res == jobs[i-1].res {
			if g := jobs[i].start - jobs[i-1].end; g >= 0 {
				gaps = append(gaps, float64(g)/1e9)
			}
		}
	}
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		r.OverheadSeconds = gaps[len(gaps)/2]
		if len(gaps)%2 == 0 {
			r.OverheadSeconds = (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
		}
		r.OverheadSamples = int64(len(gaps))
	}
	// Busy time: the union of [start, end] over completed jobs.
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].start < jobs[j].start })
	var busy int64
	var curS, curE int64
	for i, j := range jobs {
		switch {
		case i == 0:
			curS, curE = j.start, j.end
		case j.start > curE:
			busy += curE - curS
			curS, curE = j.start, j.end
		case j.end > curE:
			curE = j.end
		}
	}
	if len(jobs) > 0 {
		busy += curE - curS
	}
	r.BusyHours = float64(busy) / 3.6e12
	if r.BusyHours > 0 {
		r.CompletedPerHour = float64(len(jobs)) / r.BusyHours
		var b int64
		for _, t := range sc.sums {
			b += t.bytes
		}
		r.BytesPerHour = float64(b) / r.BusyHours
	}
	r.RunHours = sc.runHours
	if r.RunHours > 0 {
		r.CompletedPerRunHour = float64(sc.st.Completed) / r.RunHours
	}
	done := make([]int64, len(jobs))
	for i, j := range jobs {
		done[i] = j.end
	}
	sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
	sc.done = nil
	return r, done
}

// models fits the duration model of every type seen (completed or
// remaining) and records it in r.ByType, by type index.
func (sc *scan) models(r *Rates) []model {
	var pooled typeSums
	names := make([]string, 0, len(sc.sums))
	for name, t := range sc.sums {
		pooled.merge(t)
		names = append(names, name)
	}
	sort.Strings(names)
	globalMean := 0.0
	if pooled.n > 0 {
		globalMean = pooled.durSum / float64(pooled.n)
	}
	pa, pc, pok := fitLine(&pooled)
	pm := model{pa, pc}
	switch {
	case pok:
		r.Pooled = rateOf("", &pooled, "fit", pm)
	case pooled.n > 0:
		pm = model{a: globalMean}
		r.Pooled = rateOf("", &pooled, "global-mean", pm)
	default:
		pm = priorModel
		r.Pooled = rateOf("", &pooled, "prior", pm)
	}
	pick := func(name string) (model, string, *typeSums) {
		t := sc.sums[name]
		if t == nil {
			t = &typeSums{}
		}
		if a, c, ok := fitLine(t); ok {
			return model{a, c}, "fit", t
		}
		switch {
		case t.n > 0 && pok:
			// Too few samples for a line of its own: the pooled line,
			// scaled so that it matches this type's samples on the whole
			// (copies are mostly transfer, so a slower type is slower in
			// proportion).
			k := t.d / (float64(t.n)*pa + pc*t.s)
			if k <= 0 || math.IsNaN(k) || math.IsInf(k, 0) {
				k = 1
			}
			return model{k * pa, k * pc}, "pooled", t
		case t.n > 0:
			return model{a: t.durSum / float64(t.n)}, "mean", t
		case pok:
			return pm, "pooled", t
		case pooled.n > 0:
			return model{a: globalMean}, "global-mean", t
		}
		return priorModel, "prior", t
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, n := range sc.typeNames {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		m, method, t := pick(n)
		r.ByType = append(r.ByType, rateOf(n, t, method, m))
	}
	out := make([]model, len(sc.typeNames))
	for i, n := range sc.typeNames {
		out[i], _, _ = pick(n)
	}
	return out
}

// --- the projection ---

func (sc *scan) project(models []model, overhead float64, o ForecastOptions) (Projection, []float64) {
	p := Projection{MaxInFlight: o.MaxInFlight}
	work := sc.work
	sc.work = nil
	now := o.Now.UnixNano()
	// Chains: each resource's RPs, jobs in AWS first, then oldest first
	// (the engine's order).
	sort.Slice(work, func(i, j int) bool {
		a, b := work[i], work[j]
		if a.res != b.res {
			return a.res < b.res
		}
		if ai, bi := a.kind == kindInFlight, b.kind == kindInFlight; ai != bi {
			return ai
		}
		if a.created != b.created {
			return a.created < b.created
		}
		return a.size < b.size
	})
	var chains []simChain
	jobs := make([]simJob, len(work))
	for i, w := range work {
		d := math.Max(0, models[w.typ].seconds(w.size))
		p.PredictedWorkSeconds += d
		p.LongestJobSeconds = math.Max(p.LongestJobSeconds, d)
		j := simJob{dur: d, est: estimate("", w.size)}
		switch w.kind {
		case kindInFlight:
			p.InFlight++
			j.inFlight = true
			// Already running: what is left of its predicted duration.
			j.dur = math.Max(0, d-float64(now-w.at)/1e9)
		default:
			p.Queued++
		}
		jobs[i] = j
		if i == 0 || w.res != work[i-1].res {
			ch := simChain{first: int32(i), vault: w.vault}
			if w.kind == kindRetry {
				ch.ready = math.Max(0, float64(w.at-now)/1e9)
			}
			chains = append(chains, ch)
		}
		c := &chains[len(chains)-1]
		c.n++
		c.prio += j.est
	}
	p.Resources = int64(len(chains))
	for i := range chains {
		c := &chains[i]
		var sum float64
		for _, j := range jobs[c.first : c.first+c.n] {
			sum += j.dur
		}
		p.LongestChainSeconds = math.Max(p.LongestChainSeconds, sum)
	}
	p.OverheadSeconds = overhead
	res := simulate(chains, jobs, o.MaxInFlight, overhead, 0, true)
	p.RemainingSeconds = res.makespan
	p.Remaining = HumanDuration(seconds(res.makespan))
	if o.Window > 0 {
		w := o.Window.Seconds()
		wr := simulate(chains, jobs, o.MaxInFlight, overhead, w, false)
		wp := &WindowPlan{WindowSeconds: w, Window: HumanDuration(o.Window), Windows: wr.windows, LastWindowSeconds: wr.lastWindow}
		wp.TooShort = p.LongestJobSeconds > w
		wp.Note = "a window must be at least as long as the longest single job (" + HumanDuration(seconds(p.LongestJobSeconds)) + ")"
		if wp.TooShort {
			wp.Note = "the window is shorter than the longest single job (" + HumanDuration(seconds(p.LongestJobSeconds)) +
				"), which will run past the end of its window; a window must be at least as long as the longest single job"
		}
		p.Window = wp
	}
	return p, res.completions
}
