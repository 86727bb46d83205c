package forecast

import (
	"math"
	"sort"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/estimate"
)

// project simulates the rest of the copy: it returns the projection and
// the projected completion times (seconds after o.Now, ascending).
func (sc *scan) project(models []model, overhead float64, o Options) (Projection, []float64) {
	p := Projection{MaxInFlight: o.MaxInFlight, OverheadSeconds: overhead}
	chains, jobs := sc.chains(models, o.Now.UnixNano(), &p)
	res := simulate(chains, jobs, o.MaxInFlight, overhead, 0, true)
	p.RemainingSeconds = res.makespan
	p.Remaining = HumanDuration(seconds(res.makespan))
	if res.atRisk > 0 {
		first := o.Now.Add(seconds(res.atRiskFirst)).UTC()
		p.AtRisk = &AtRisk{RecoveryPoints: res.atRisk, EarliestDeleteAt: first}
	}
	if o.Window > 0 {
		wr := simulate(chains, jobs, o.MaxInFlight, overhead, o.Window.Seconds(), false)
		p.Window = windowPlan(o.Window, wr, p.LongestJobSeconds)
	}
	return p, res.completions
}

// chains turns the remaining work into per-resource chains over one
// flat array of jobs, each resource's RPs in the engine's order (jobs in
// AWS first, then oldest first), and counts the work into p.
func (sc *scan) chains(models []model, now int64, p *Projection) ([]simChain, []simJob) {
	work := sc.work
	sc.work = nil
	sort.Slice(work, func(i, j int) bool {
		a, b := work[i], work[j]
		if a.res != b.res {
			return a.res < b.res
		}
		if ai, bi := a.kind == kindInFlight, b.kind == kindInFlight; ai != bi {
			return ai
		}
		if a.priority != b.priority || a.created != b.created {
			return copier.ItemFirst(int(a.priority), a.created, int(b.priority), b.created)
		}
		return a.size < b.size
	})
	var chains []simChain
	jobs := make([]simJob, len(work))
	for i, w := range work {
		d := math.Max(0, models[w.typ].seconds(w.size))
		p.PredictedWorkSeconds += d
		p.LongestJobSeconds = math.Max(p.LongestJobSeconds, d)
		j := simJob{dur: d, est: estimate.Prior(sc.typeNames[w.typ], w.size), priority: w.priority}
		if w.deleteAt != 0 {
			j.deleteAt = float64(w.deleteAt-now) / 1e9
			if j.deleteAt == 0 {
				j.deleteAt = -1e-9 // now: already due, not "never"
			}
		}
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
	return chains, jobs
}

// windowPlan says how many windows of length window the simulation wr
// (run with that window) needed, and whether the window is too short
// for the longest job.
func windowPlan(window time.Duration, wr simResult, longestJob float64) *WindowPlan {
	w := window.Seconds()
	wp := &WindowPlan{WindowSeconds: w, Window: HumanDuration(window), Windows: wr.windows, LastWindowSeconds: wr.lastWindow}
	wp.TooShort = longestJob > w
	wp.Note = "a window must be at least as long as the longest single job (" + HumanDuration(seconds(longestJob)) + ")"
	if wp.TooShort {
		wp.Note = "the window is shorter than the longest single job (" + HumanDuration(seconds(longestJob)) +
			"), which will run past the end of its window; a window must be at least as long as the longest single job"
	}
	return wp
}

// seconds converts float seconds to a duration.
func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
