package estimate

import (
	"math"
	"math/rand"
	"testing"
)

// The two models estimate replaced, as they were (engine/copy.go's fit
// and engine/forecast.go's fitLine over typeSums), to check that the
// results are bit for bit the same.

type refCopierFit struct{ n, sx, sy, sxx, sxy float64 }

func (f *refCopierFit) add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

func (f *refCopierFit) predict(x float64) (float64, bool) {
	switch {
	case f.n == 0:
		return 0, false
	case f.n >= 2:
		den := f.n*f.sxx - f.sx*f.sx
		if den > 0 {
			b := (f.n*f.sxy - f.sx*f.sy) / den
			a := (f.sy - b*f.sx) / f.n
			if b >= 0 {
				return max(0, a+b*x), true
			}
		}
	}
	mx, my := f.sx/f.n, f.sy/f.n
	if mx > 0 && x > mx {
		return my * x / mx, true
	}
	return my, true
}

type refTypeSums struct {
	n        int64
	s, d, ss float64
	sd, dd   float64
}

func (t *refTypeSums) add(size int64, dur float64) {
	s := float64(size)
	t.n++
	t.s += s
	t.d += dur
	t.ss += s * s
	t.sd += s * dur
	t.dd += dur * dur
}

func refFitLine(t *refTypeSums) (a, c float64, ok bool) {
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

func refSSE(t *refTypeSums, a, c float64) float64 {
	n := float64(t.n)
	v := t.dd - 2*a*t.d - 2*c*t.sd + n*a*a + 2*a*c*t.s + c*c*t.ss
	return math.Max(0, v)
}

func TestSameNumbersAsTheModelsItReplaced(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		var f Fit
		var cf refCopierFit
		var ts refTypeSums
		for k := r.Intn(8); k >= 0; k-- {
			size := r.Int63n(1 << 40)
			dur := 60 + float64(size)/(20e6+r.Float64()*80e6) + r.NormFloat64()*float64(trial%30)*20
			f.Add(float64(size), dur)
			cf.add(float64(size), dur)
			ts.add(size, dur)
		}
		for _, x := range []float64{0, 1 << 20, 1 << 30, 1 << 38, 1 << 41} {
			g, gok := f.Predict(x)
			w, wok := cf.predict(x)
			if g != w || gok != wok {
				t.Fatalf("trial %d: Predict(%v) = %v %v, the copier's %v %v", trial, x, g, gok, w, wok)
			}
		}
		a, c, ok := f.Line()
		ra, rc, rok := refFitLine(&ts)
		if a != ra || c != rc || ok != rok {
			t.Fatalf("trial %d: Line = %v %v %v, the forecast's %v %v %v", trial, a, c, ok, ra, rc, rok)
		}
		if f.SSE(a, c) != refSSE(&ts, ra, rc) {
			t.Fatalf("trial %d: SSE differs", trial)
		}
	}
}
