// Package estimate is shuffle's one model of how long a copy job takes:
// a running least-squares fit of seconds against size (Fit), the same
// kept per resource type (Durations), and the prior used before any copy
// has been seen (Prior).
//
// The copier reads the model online, to pace and order work (Predict);
// the forecast reads the fitted line to report and project it (Line,
// SSE). Both read the same sums; the difference between the two uses is
// spelled out on Predict and Line.
//
// It is a pure leaf: it must not import other shuffle packages, read the
// state, the clock or the environment, or do I/O.
package estimate

import (
	"math"
	"time"
)

// PriorSetupSeconds and PriorBytesPerSecond are the prior: a copy takes
// a fixed 300 s plus its size at 50 MB/s.
const (
	PriorSetupSeconds   = 300
	PriorBytesPerSecond = 50e6
)

// Prior is how long a copy of typ and size bytes is assumed to take, in
// seconds, before any copy has been observed. The copier uses it only to
// order chains, so the constants matter less than the proportion; the
// forecast falls back to it with no history at all.
func Prior(typ string, size int64) float64 {
	return PriorSetupSeconds + float64(size)/PriorBytesPerSecond
}

// Fit is a running least-squares fit of y (seconds) on x (bytes). The
// zero value is an empty fit.
type Fit struct {
	n                     int64
	sx, sy, sxx, sxy, syy float64
}

// Add records one observation.
func (f *Fit) Add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
	f.syy += y * y
}

// Merge adds o's observations to f.
func (f *Fit) Merge(o Fit) {
	f.n += o.n
	f.sx += o.sx
	f.sy += o.sy
	f.sxx += o.sxx
	f.sxy += o.sxy
	f.syy += o.syy
}

// N is the number of observations.
func (f *Fit) N() int64 { return f.n }

// SumX is the sum of the observed x (the total bytes, as a float).
func (f *Fit) SumX() float64 { return f.sx }

// SumY is the sum of the observed y (the total seconds).
func (f *Fit) SumY() float64 { return f.sy }

// Predict is the copier's online reading: the expected y at x, and false
// when nothing has been observed. Its guards are lenient, so that it
// answers from the first observation: with two or more observations of
// some spread, the least-squares line when its slope is not negative
// (clamped at 0); otherwise the mean y, scaled up by x / mean x when x
// is larger than the mean (a smaller job is never expected to be quicker
// than the fixed part of the ones seen).
func (f *Fit) Predict(x float64) (float64, bool) {
	n := float64(f.n)
	switch {
	case f.n == 0:
		return 0, false
	case f.n >= 2:
		den := n*f.sxx - f.sx*f.sx
		if den > 0 {
			b := (n*f.sxy - f.sx*f.sy) / den
			a := (f.sy - b*f.sx) / n
			if b >= 0 {
				return max(0, a+b*x), true
			}
		}
	}
	mx, my := f.sx/n, f.sy/n
	if mx > 0 && x > mx {
		return my * x / mx, true
	}
	return my, true
}

// Line is the forecast's reading: y ≈ a + x·c by least squares, with
// strict guards, since the line is reported and extrapolated over the
// whole remaining copy. ok is false when the observations cannot support
// a line: fewer than 3, no spread in x, or a y that does not grow with
// x. A negative intercept is refitted through the origin.
//
// Where both answer, Line and Predict give the same least-squares line;
// each keeps the arithmetic of the code it replaced (Line the forecast's
// means and covariance, Predict the copier's normal equations), so that
// every number is bit for bit what it was.
func (f *Fit) Line() (a, c float64, ok bool) {
	if f.n < 3 {
		return 0, 0, false
	}
	n := float64(f.n)
	varX := f.sxx/n - (f.sx/n)*(f.sx/n)
	if varX <= 1e-9*(f.sxx/n) || varX <= 0 {
		return 0, 0, false
	}
	cov := f.sxy/n - (f.sx/n)*(f.sy/n)
	c = cov / varX
	if c <= 0 {
		return 0, 0, false
	}
	a = f.sy/n - c*f.sx/n
	if a < 0 {
		a, c = 0, f.sxy/f.sxx
	}
	return a, c, true
}

// SSE is the sum of squared errors of y ≈ a + x·c on f's observations.
func (f *Fit) SSE(a, c float64) float64 {
	n := float64(f.n)
	v := f.syy - 2*a*f.sy - 2*c*f.sxy + n*a*a + 2*a*c*f.sx + c*c*f.sxx
	return math.Max(0, v)
}

// Durations predicts how long a copy job takes from the jobs observed:
// per resource type, that type's Fit read by Predict; for a type not yet
// seen, the same over all types. The zero value is ready to use.
type Durations struct {
	byType map[string]*Fit
	all    Fit
}

// Add records one completed job; a non-positive duration is ignored.
func (d *Durations) Add(typ string, size int64, dur time.Duration) {
	if dur <= 0 {
		return
	}
	if d.byType == nil {
		d.byType = map[string]*Fit{}
	}
	f := d.byType[typ]
	if f == nil {
		f = &Fit{}
		d.byType[typ] = f
	}
	f.Add(float64(size), dur.Seconds())
	d.all.Add(float64(size), dur.Seconds())
}

// Predict returns the expected duration, and false when nothing has been
// observed yet.
func (d *Durations) Predict(typ string, size int64) (time.Duration, bool) {
	if f := d.byType[typ]; f != nil {
		if s, ok := f.Predict(float64(size)); ok {
			return time.Duration(s * float64(time.Second)), true
		}
	}
	s, ok := d.all.Predict(float64(size))
	return time.Duration(s * float64(time.Second)), ok
}
