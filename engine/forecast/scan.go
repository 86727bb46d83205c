package forecast

import (
	"context"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// doneJob is one completed copy, for the overhead, the busy time and
// the chart.
type doneJob struct {
	res        int32
	start, end int64 // unix ns
}

// workKind is the kind of one RP's remaining work.
type workKind uint8

// Kinds of remaining work.
const (
	kindQueued   workKind = iota // no copy record, or retry without a time
	kindRetry                    // retry, not before at
	kindInFlight                 // running or intent, since at
)

// workItem is one RP left to copy.
type workItem struct {
	res     int32
	vault   int32
	typ     int32
	kind    workKind
	created int64
	size    int64
	at      int64 // unix ns: start of an in-flight job, or a retry's not-before
	// deleteAt (unix ns; 0: none) is when the source RP's lifecycle
	// deletes it.
	deleteAt int64
	priority int32 // the decision's
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
	// cells, when not nil, break the status's counts down by vault and
	// type (ReadCounts).
	cells map[StateCount]*[2]int64
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

// Chains are keyed by the resource ARN's hash (state.ResourceHash), to
// keep the map small at a million resources (a collision, at 2^-64 per
// pair, would only merge two chains in the projection).
func (sc *scan) res(arn string) int32 { return sc.resHash(state.ResourceHash(arn)) }

func (sc *scan) resHash(k uint64) int32 {
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
	return query.JoinCopies(st, "", func(rp *state.RP, rec *state.CopyRecord) error {
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
			sc.remaining(rp, nil, query.Queued, rp.ResourceType, rp.Size)
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
			sc.cell(rp.Vault, typ, state.CopyFailed, 1, size)
			sc.st.States[state.CopyFailed]++
			sc.st.BytesByState[state.CopyFailed] += size
			sc.st.Failed++
			sc.st.FailedByReason[rec.FailureKey()]++
			sc.typeStatus(typ).Failed++
		case state.CopyRunning, state.CopyIntent, state.CopyRetry:
			if rec.State == state.CopyRetry {
				sc.st.RetryByReason[rec.FailureKey()]++
			}
			sc.remaining(rp, rec, rec.State, typ, size)
		}
		return nil
	})
}

func (sc *scan) completed(rp *state.RP, rec *state.CopyRecord, typ string, size int64) {
	sc.cell(rp.Vault, typ, state.CopyCompleted, 1, size)
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
	sc.cell(rp.Vault, typ, st, 1, size)
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
	if rp.DeleteAt != nil {
		it.deleteAt = rp.DeleteAt.UnixNano()
	}
	if rp.Decision != nil {
		it.priority = int32(rp.Decision.Priority)
	}
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
		if r.Command == state.CommandRun && !r.End.IsZero() && r.End.After(r.Start) {
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

// fromIndex collects the work left and the completed jobs from the
// forecast entries the state keeps with its records (the counters give
// the status): what run collects, without reading a record.
func (sc *scan) fromIndex(ctx context.Context, st *state.Store) error {
	// The counters say how many of each to expect: sized once, the
	// slices are not copied as they grow (a third of the time at 1M).
	sc.work = make([]workItem, 0, sc.st.Remaining)
	sc.done = make([]doneJob, 0, sc.st.Completed)
	n := 0
	tick := func() error {
		if n++; n%4096 == 0 {
			return ctx.Err()
		}
		return nil
	}
	return st.ScanForecast(func(w *state.WorkEntry) error {
		it := workItem{res: sc.resHash(w.ResHash), vault: sc.vault(w.Vault), typ: sc.typ(w.Type), created: w.Created, size: w.Size, at: w.At, deleteAt: w.DeleteAt, priority: int32(w.Priority)}
		switch w.Kind {
		case state.WorkInFlight:
			it.kind = kindInFlight
		case state.WorkRetry:
			it.kind = kindRetry
		default:
			it.kind = kindQueued
		}
		sc.work = append(sc.work, it)
		return tick()
	}, func(d *state.DoneEntry) error {
		if d.End < d.Start {
			return tick()
		}
		dur := float64(d.End-d.Start) / 1e9
		s := sc.sums[d.Type]
		if s == nil {
			s = &typeSums{}
			sc.sums[d.Type] = s
		}
		s.add(d.Size, dur)
		sc.sizeSums[sizeClass(d.Size)].add(d.Size, dur)
		sc.done = append(sc.done, doneJob{res: sc.resHash(d.ResHash), start: d.Start, end: d.End})
		return tick()
	})
}
