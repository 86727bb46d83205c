package forecast

import "github.com/shuffle-migrate/shuffle/engine/copier"

// readyHeap is one vault's ready chains in the copier's order (ChainKey;
// ties: the lower chain index). Entries carry the priority by value: a
// chain's priority changes only while it is out of the heap.
type readyHeap []readyEnt

type readyEnt struct {
	key copier.ChainKey
	i   int32
}

func (a readyEnt) before(b readyEnt) bool { return startsFirst(a.key, a.i, b.key, b.i) }

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
