package forecast

import (
	"container/heap"
	"math"
	"slices"

	"github.com/shuffle-migrate/shuffle/engine/copier"
)

// The projection's list-scheduling simulation. It replays the copy
// engine's rules on predicted durations: at most cap jobs in flight, one
// job per resource (a chain runs its RPs one after another), vaults
// taken round-robin and, within a vault, the chain with the most work
// left first (by the engine's own estimate and its own ordering
// functions, copier.ChainFirst and copier.NextVault, so the order is
// the engine's). A job holds its slot for its predicted duration plus the
// overhead (the time shuffle takes to see the completion and start the
// next job); the chain's next RP may start when the slot is freed.
//
// It works on per-resource chains over one flat array of jobs, so a
// million RPs cost a few dozen bytes each and one heap operation per
// event.

// simJob is one job of a chain.
type simJob struct {
	dur      float64 // predicted seconds (for a job in flight: what is left)
	est      float64 // the copier's scheduling estimate (estimate.Prior)
	inFlight bool    // already running (or intent) when the simulation starts
	// deleteAt is when the source RP is deleted (seconds from the start;
	// 0: never): a job that would start later is at risk.
	deleteAt float64
	priority int32 // the decision's
}

// simChain is one resource's remaining jobs: jobs[first : first+n].
type simChain struct {
	first, n int32
	next     int32
	vault    int32
	ready    float64 // may not start before (seconds from the start)
	prio     float64 // estimated work left (the engine's priority)
}

// simResult is what a simulation found.
type simResult struct {
	makespan    float64   // seconds until the last completion
	completions []float64 // completion times, ascending (when recorded)
	windows     int       // windows in which a job started (1 without windows)
	lastWindow  float64   // seconds from the start of the last window to its last completion
	// atRisk counts the jobs that start after their RP's delete date;
	// atRiskFirst is the earliest such date (seconds from the start).
	atRisk      int64
	atRiskFirst float64
}

type simRun struct {
	free, end float64
	chain     int32
	win       int32
}

// simState is one simulation in progress.
type simState struct {
	cs       []simChain
	jobs     []simJob
	ready    []readyHeap
	readyN   int
	waiting  waitIdxHeap
	running  runHeap
	rr       int
	capacity int
	overhead float64
	window   float64 // 0: no windows
	record   bool

	t       float64 // now, seconds from the start
	win     int32   // the current window
	winEnd  float64 // its end (+Inf without windows)
	lastWin int32   // the last window in which a job started (-1: none)
	res     simResult
}

// startsFirst is the copy scheduler's order of the ready chains of one
// vault (copier.ChainFirst: chains whose next RP is about to be deleted
// first, then work: the sum of estimate.Prior over a chain's remaining
// jobs). Ties, which the copier's heap leaves to chance, go to the
// lower chain index (i), so that the simulation is deterministic. With
// vaults taken as the copier takes them (pick, copier.NextVault) it is
// all of the copier's ordering.
func startsFirst(a copier.ChainKey, ai int32, b copier.ChainKey, bi int32) bool {
	if a != b {
		return copier.ChainFirst(a, b) || !copier.ChainFirst(b, a) && ai < bi
	}
	return ai < bi
}

// readyKey is chain i's key as it becomes ready at t (ChainKey).
func (s *simState) readyKey(i int32, t float64) copier.ChainKey {
	c := &s.cs[i]
	k := copier.ChainKey{Work: c.prio}
	if c.next < c.n {
		j := &s.jobs[c.first+c.next]
		k.Priority = int(j.priority)
		if j.deleteAt != 0 {
			k.Due, k.Urgent = j.deleteAt, copier.Urgent(j.deleteAt, t)
		}
	}
	return k
}

// park puts chain i in its vault's ready heap, or the waiting heap when
// it may not start before its ready time.
func (s *simState) park(i int32, t float64) {
	c := &s.cs[i]
	if c.next >= c.n {
		return
	}
	if c.ready > t {
		heap.Push(&s.waiting, i)
		return
	}
	s.ready[c.vault].push(readyEnt{s.readyKey(i, t), i})
	s.readyN++
}

// pick is the engine's sched.pick: the next vault with a ready chain
// (copier.NextVault; the simulation has no per-vault cap), and in it
// the chain with the most work left.
func (s *simState) pick() int32 {
	v, next := copier.NextVault(len(s.ready), s.rr, func(v int) bool { return len(s.ready[v]) > 0 })
	if v < 0 {
		return -1
	}
	s.rr = next
	s.readyN--
	return s.ready[v].pop()
}

// simulate runs the chains to the end. window > 0 limits starts to
// windows of that many seconds: no job starts after a window's end, the
// jobs still running then end before the next window, and the next
// window starts with every slot free. record keeps the completion
// times. The chains passed in are not changed.
func simulate(chains []simChain, jobs []simJob, capacity int, overhead, window float64, record bool) simResult {
	s := newSim(chains, jobs, capacity, overhead, window, record)
	s.seed()
	for {
		s.promote()
		if s.t < s.winEnd {
			s.startReady()
		}
		if s.running.Len() == 0 && s.waiting.Len() == 0 && s.readyN == 0 {
			break
		}
		next := s.nextEvent()
		if window > 0 && (next >= s.winEnd || s.t >= s.winEnd) {
			s.closeWindow()
			continue
		}
		if math.IsInf(next, 1) {
			break // cannot happen: something is running or waiting
		}
		s.t = next
		if s.running.Len() > 0 && s.running[0].free <= s.t {
			r := heap.Pop(&s.running).(simRun)
			s.complete(r)
			s.park(r.chain, s.t)
		}
	}
	s.res.windows = int(s.lastWin) + 1
	if window <= 0 {
		s.res.lastWindow = s.res.makespan
	}
	return s.res
}

func newSim(chains []simChain, jobs []simJob, capacity int, overhead, window float64, record bool) *simState {
	if capacity <= 0 {
		capacity = 1
	}
	s := &simState{cs: slices.Clone(chains), jobs: jobs, capacity: capacity, overhead: overhead, window: window,
		record: record, winEnd: math.Inf(1), lastWin: -1}
	nv := 0
	for _, c := range s.cs {
		nv = max(nv, int(c.vault)+1)
	}
	s.ready = make([]readyHeap, nv)
	s.waiting.s = s
	if record {
		s.res.completions = make([]float64, 0, len(jobs))
	}
	if window > 0 {
		s.winEnd = window
	}
	return s
}

// seed sets every chain's priority; jobs already in flight hold their
// slots from the start, and the other chains are parked.
func (s *simState) seed() {
	for i := range s.cs {
		c := &s.cs[i]
		c.next, c.prio = 0, 0
		for _, j := range s.jobs[c.first : c.first+c.n] {
			c.prio += j.est
		}
		if c.n > 0 && s.jobs[c.first].inFlight {
			j := s.jobs[c.first]
			c.next = 1
			c.prio -= j.est
			heap.Push(&s.running, simRun{free: j.dur + s.overhead, end: j.dur, chain: int32(i)})
			s.lastWin = 0
			continue
		}
		s.park(int32(i), 0)
	}
}

// promote moves the chains whose wait is over into their ready heaps.
func (s *simState) promote() {
	for s.waiting.Len() > 0 && s.cs[s.waiting.idx[0]].ready <= s.t {
		i := heap.Pop(&s.waiting).(int32)
		s.ready[s.cs[i].vault].push(readyEnt{s.readyKey(i, s.t), i})
		s.readyN++
	}
}

// startReady starts ready chains' next jobs while slots are free.
func (s *simState) startReady() {
	for s.running.Len() < s.capacity {
		i := s.pick()
		if i < 0 {
			break
		}
		c := &s.cs[i]
		j := s.jobs[c.first+c.next]
		c.next++
		c.prio -= j.est
		if j.deleteAt != 0 && j.deleteAt <= s.t {
			if s.res.atRisk == 0 || j.deleteAt < s.res.atRiskFirst {
				s.res.atRiskFirst = j.deleteAt
			}
			s.res.atRisk++
		}
		heap.Push(&s.running, simRun{free: s.t + j.dur + s.overhead, end: s.t + j.dur, chain: i, win: s.win})
		if s.win != s.lastWin {
			s.lastWin, s.res.lastWindow = s.win, 0
		}
	}
}

// nextEvent is the time of the next slot freed or wait over (+Inf:
// none).
func (s *simState) nextEvent() float64 {
	next := math.Inf(1)
	if s.running.Len() > 0 {
		next = s.running[0].free
	}
	if s.waiting.Len() > 0 {
		next = math.Min(next, s.cs[s.waiting.idx[0]].ready)
	}
	return next
}

// closeWindow ends the current window: nothing more starts in it, the
// jobs in flight end in the gap, and the next window starts with free
// slots.
func (s *simState) closeWindow() {
	for s.running.Len() > 0 {
		r := heap.Pop(&s.running).(simRun)
		s.complete(r)
		s.park(r.chain, s.winEnd)
	}
	s.t = s.winEnd
	s.win++
	s.winEnd += s.window
}

// complete records a job's completion.
func (s *simState) complete(r simRun) {
	if s.record {
		s.res.completions = append(s.res.completions, r.end)
	}
	s.res.makespan = math.Max(s.res.makespan, r.end)
	if w := float64(r.win) * s.window; r.win == s.lastWin {
		s.res.lastWindow = math.Max(s.res.lastWindow, r.end-w)
	}
}
