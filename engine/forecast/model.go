package forecast

import (
	"math"
	"sort"

	"github.com/shuffle-migrate/shuffle/engine/estimate"
)

// typeSums are one resource type's (or size class's) samples: the
// duration model's fit of seconds on bytes, and the exact byte total.
type typeSums struct {
	fit   estimate.Fit
	bytes int64
}

func (t *typeSums) add(size int64, dur float64) {
	t.fit.Add(float64(size), dur)
	t.bytes += size
}

func (t *typeSums) merge(o *typeSums) {
	t.fit.Merge(o.fit)
	t.bytes += o.bytes
}

func (t *typeSums) n() int64 { return t.fit.N() }

// seconds is the samples' total duration.
func (t *typeSums) seconds() float64 { return t.fit.SumY() }

// model is the duration model of one type, in seconds: a + size·c.
type model struct{ a, c float64 }

func (m model) seconds(size int64) float64 { return m.a + float64(size)*m.c }

// priorModel is the engine's scheduling prior (estimate.Prior).
var priorModel = model{a: estimate.PriorSetupSeconds, c: 1 / estimate.PriorBytesPerSecond}

// Method is how a TypeRate's model was obtained (TypeRate.Method).
type Method string

// The methods, from the best supported to the least.
const (
	MethodFit        Method = "fit"         // least squares on this type
	MethodPooled     Method = "pooled"      // the fit over every type, scaled to this type
	MethodMean       Method = "mean"        // this type's mean duration
	MethodGlobalMean Method = "global-mean" // the mean over every type
	MethodPrior      Method = "prior"       // no completed copy: estimate.Prior
)

func rateOf(name string, t *typeSums, method Method, m model) TypeRate {
	r := TypeRate{ResourceType: name, Samples: t.n(), Bytes: t.bytes, Method: method, SetupSeconds: m.a}
	if m.c > 0 {
		r.BytesPerSecond = 1 / m.c
	}
	if n := t.n(); n > 0 {
		r.MeanSeconds = t.seconds() / float64(n)
		r.RMSESeconds = math.Sqrt(t.fit.SSE(m.a, m.c) / float64(n))
	}
	if t.seconds() > 0 {
		r.ObservedBytesPerSecond = float64(t.bytes) / t.seconds()
	}
	return r
}

// pooledModel is the fit over every type, with the fallbacks a type
// without a line of its own uses.
type pooledModel struct {
	sums       typeSums
	m          model
	ok         bool // m is a fitted line
	globalMean float64
}

// pool fits the model over every type's samples and records it in
// r.Pooled.
func pool(sums map[string]*typeSums, r *Rates) pooledModel {
	var p pooledModel
	for _, t := range sums {
		p.sums.merge(t)
	}
	if n := p.sums.n(); n > 0 {
		p.globalMean = p.sums.seconds() / float64(n)
	}
	a, c, ok := p.sums.fit.Line()
	p.m, p.ok = model{a, c}, ok
	switch {
	case ok:
		r.Pooled = rateOf("", &p.sums, MethodFit, p.m)
	case p.sums.n() > 0:
		p.m = model{a: p.globalMean}
		r.Pooled = rateOf("", &p.sums, MethodGlobalMean, p.m)
	default:
		p.m = priorModel
		r.Pooled = rateOf("", &p.sums, MethodPrior, p.m)
	}
	return p
}

// pick is one type's model: its own line when its samples support one,
// else what the pooled model and its samples allow.
func (p *pooledModel) pick(t *typeSums) (model, Method) {
	if a, c, ok := t.fit.Line(); ok {
		return model{a, c}, MethodFit
	}
	n := t.n()
	switch {
	case n > 0 && p.ok:
		// Too few samples for a line of its own: the pooled line,
		// scaled so that it matches this type's samples on the whole
		// (copies are mostly transfer, so a slower type is slower in
		// proportion).
		pa, pc := p.m.a, p.m.c
		k := t.fit.SumY() / (float64(n)*pa + pc*t.fit.SumX())
		if k <= 0 || math.IsNaN(k) || math.IsInf(k, 0) {
			k = 1
		}
		return model{k * pa, k * pc}, MethodPooled
	case n > 0:
		return model{a: t.seconds() / float64(n)}, MethodMean
	case p.ok:
		return p.m, MethodPooled
	case p.sums.n() > 0:
		return model{a: p.globalMean}, MethodGlobalMean
	}
	return priorModel, MethodPrior
}

// models fits the duration model of every type seen (completed or
// remaining) and records it in r.ByType; it returns the models by type
// index.
func (sc *scan) models(r *Rates) []model {
	p := pool(sc.sums, r)
	pick := func(name string) (model, Method, *typeSums) {
		t := sc.sums[name]
		if t == nil {
			t = &typeSums{}
		}
		m, method := p.pick(t)
		return m, method, t
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(sc.sums)+len(sc.typeNames))
	for name := range sc.sums {
		seen[name] = true
		names = append(names, name)
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
