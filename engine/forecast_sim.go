package engine

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"time"
)

// The projection's list-scheduling simulation. It replays the copy
// engine's rules on predicted durations: at most cap jobs in flight, one
// job per resource (a chain runs its RPs one after another), vaults
// taken round-robin and, within a vault, the chain with the most work
// left first (by the engine's own estimate, so the order is the
// engine's). A job holds its slot for its predicted duration plus the
// overhead (the time shuffle takes to see the completion and start the
// next job); the chain's next RP may start when the slot is freed.
//
// It works on per-resource chains over one flat array of jobs, so a
// million RPs cost a few dozen bytes each and one heap operation per
// event.

// simJob is one job of a chain.
type simJob struct {
	dur      float64 // predicted seconds (for a job in flight: what is left)
	est      float64 // the engine's scheduling estimate
	inFlight bool    // already running (or intent) when the simulation starts
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
}

type simRun struct {
	free, end float64
	chain     int32
	win       int32
}

type simState struct {
	cs      []simChain
	ready   []readyHeap
	readyN  int
	waiting waitIdxHeap
	running runHeap
	rr      int
}

// readyHeap is one vault's ready chains, most work left first (ties:
// the lower chain index). Entries carry the priority by value: a
// chain's priority changes only while it is out of the heap.
type readyHeap []readyEnt

type readyEnt struct {
	prio float64
	i    int32
}

func (a readyEnt) before(b readyEnt) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return a.i < b.i
}

func (h *readyHeap) push(e readyEnt) {
	*h = append(*h, e)
	q := *h
	for j := len(q) - 1; j > 0; {
		p := (j - 1) / 2
		if !q[j].before(q[p]) {
			break
		}
		q[j], q[p] = q[p], q[j]
		j = p
	}
}

func (h *readyHeap) pop() int32 {
	q := *h
	top := q[0].i
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for j := 0; ; {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(q[l]) {
			m = r
		}
		if !q[m].before(q[j]) {
			break
		}
		q[j], q[m] = q[m], q[j]
		j = m
	}
	*h = q
	return top
}

type waitIdxHeap struct {
	s   *simState
	idx []int32
}

func (h *waitIdxHeap) Len() int { return len(h.idx) }
func (h *waitIdxHeap) Less(i, j int) bool {
	a, b := &h.s.cs[h.idx[i]], &h.s.cs[h.idx[j]]
	if a.ready != b.ready {
		return a.ready < b.ready
	}
	return h.idx[i] < h.idx[j]
}
func (h *waitIdxHeap) Swap(i, j int) { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *waitIdxHeap) Push(x any)    { h.idx = append(h.idx, x.(int32)) }
func (h *waitIdxHeap) Pop() any {
	i := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return i
}

type runHeap []simRun

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if h[i].free != h[j].free {
		return h[i].free < h[j].free
	}
	return h[i].chain < h[j].chain
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(simRun)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
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
	s.ready[c.vault].push(readyEnt{c.prio, i})
	s.readyN++
}

// pick is the engine's sched.pick: vaults round-robin, the chain with
// the most work left in that vault.
func (s *simState) pick() int32 {
	n := len(s.ready)
	for k := 0; k < n; k++ {
		v := (s.rr + k) % n
		if len(s.ready[v]) == 0 {
			continue
		}
		s.rr = (s.rr + k + 1) % n
		s.readyN--
		return s.ready[v].pop()
	}
	return -1
}

// simulate runs the chains to the end. window > 0 limits starts to
// windows of that many seconds: no job starts after a window's end, the
// jobs still running then end before the next window, and the next
// window starts with every slot free. record keeps the completion
// times. The chains passed in are not changed.
func simulate(chains []simChain, jobs []simJob, capacity int, overhead, window float64, record bool) simResult {
	if capacity <= 0 {
		capacity = 1
	}
	s := &simState{cs: slices.Clone(chains)}
	nv := 0
	for _, c := range s.cs {
		nv = max(nv, int(c.vault)+1)
	}
	s.ready = make([]readyHeap, nv)
	s.waiting.s = s
	var res simResult
	if record {
		res.completions = make([]float64, 0, len(jobs))
	}
	winEnd := math.Inf(1)
	if window > 0 {
		winEnd = window
	}
	var win int32
	lastWin := int32(-1)
	// Jobs already in flight hold their slots from the start.
	for i := range s.cs {
		c := &s.cs[i]
		c.next, c.prio = 0, 0
		for _, j := range jobs[c.first : c.first+c.n] {
			c.prio += j.est
		}
		if c.n > 0 && jobs[c.first].inFlight {
			j := jobs[c.first]
			c.next = 1
			c.prio -= j.est
			heap.Push(&s.running, simRun{free: j.dur + overhead, end: j.dur, chain: int32(i)})
			lastWin = 0
			continue
		}
		s.park(int32(i), 0)
	}
	complete := func(r simRun) {
		if record {
			res.completions = append(res.completions, r.end)
		}
		res.makespan = math.Max(res.makespan, r.end)
		if w := float64(r.win) * window; r.win == lastWin {
			res.lastWindow = math.Max(res.lastWindow, r.end-w)
		}
	}
	t := 0.0
	for {
		for s.waiting.Len() > 0 && s.cs[s.waiting.idx[0]].ready <= t {
			i := heap.Pop(&s.waiting).(int32)
			s.ready[s.cs[i].vault].push(readyEnt{s.cs[i].prio, i})
			s.readyN++
		}
		if t < winEnd {
			for s.running.Len() < capacity {
				i := s.pick()
				if i < 0 {
					break
				}
				c := &s.cs[i]
				j := jobs[c.first+c.next]
				c.next++
				c.prio -= j.est
				heap.Push(&s.running, simRun{free: t + j.dur + overhead, end: t + j.dur, chain: i, win: win})
				if win != lastWin {
					lastWin, res.lastWindow = win, 0
				}
			}
		}
		if s.running.Len() == 0 && s.waiting.Len() == 0 && s.readyN == 0 {
			break
		}
		next := math.Inf(1)
		if s.running.Len() > 0 {
			next = s.running[0].free
		}
		if s.waiting.Len() > 0 {
			next = math.Min(next, s.cs[s.waiting.idx[0]].ready)
		}
		if window > 0 && (next >= winEnd || t >= winEnd) {
			// Nothing more starts in this window: the jobs in flight end
			// in the gap, and the next window starts with free slots.
			for s.running.Len() > 0 {
				r := heap.Pop(&s.running).(simRun)
				complete(r)
				s.park(r.chain, winEnd)
			}
			t = winEnd
			win++
			winEnd += window
			continue
		}
		if math.IsInf(next, 1) {
			break // cannot happen: something is running or waiting
		}
		t = next
		if s.running.Len() > 0 && s.running[0].free <= t {
			r := heap.Pop(&s.running).(simRun)
			complete(r)
			s.park(r.chain, t)
		}
	}
	res.windows = int(lastWin) + 1
	if window <= 0 {
		res.lastWindow = res.makespan
	}
	return res
}

// HumanDuration prints a duration for operators, to its two largest
// units: "250ms", "4.2s", "12m 5s", "3h 20m", "8h", "2d 4h".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	s := int64(d.Round(time.Second) / time.Second)
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}
	for i, u := range units {
		if s < u.n {
			continue
		}
		out := fmt.Sprintf("%d%s", s/u.n, u.name)
		if i+1 < len(units) {
			if r := s % u.n / units[i+1].n; r > 0 {
				out += fmt.Sprintf(" %d%s", r, units[i+1].name)
			}
		}
		return out
	}
	return "0s"
}
