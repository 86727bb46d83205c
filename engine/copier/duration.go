package copier

import "time"

// The copier's duration model, in the shapes of the shared model
// package (Fit, Durations, Prior) so that one replaces the other.

// Durations predicts how long a copy job takes, from the jobs observed
// (in this run and in the state's history): per resource type, a least-
// squares line through (size, duration); with one observation of a
// type, that duration scaled by size; with none, the same over all
// types.
type Durations struct {
	byType map[string]*Fit
	all    Fit
}

// Fit is a running least-squares line through (x, y) points.
type Fit struct{ n, sx, sy, sxx, sxy float64 }

// Add adds one point.
func (f *Fit) Add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

// Merge adds every point of g.
func (f *Fit) Merge(g Fit) {
	f.n += g.n
	f.sx += g.sx
	f.sy += g.sy
	f.sxx += g.sxx
	f.sxy += g.sxy
}

// Predict returns y at x, and false when no point was added.
func (f *Fit) Predict(x float64) (float64, bool) {
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
	// One point (or no spread): scale it by size, but never below what
	// was observed, so a smaller job is not expected to be quicker than
	// the fixed part of the one seen.
	mx, my := f.sx/f.n, f.sy/f.n
	if mx > 0 && x > mx {
		return my * x / mx, true
	}
	return my, true
}

// Add records that a job of typ and size took dur.
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

// Predict returns the expected duration, and false when nothing has
// been observed yet.
func (d *Durations) Predict(typ string, size int64) (time.Duration, bool) {
	if f := d.byType[typ]; f != nil {
		if s, ok := f.Predict(float64(size)); ok {
			return time.Duration(s * float64(time.Second)), true
		}
	}
	s, ok := d.all.Predict(float64(size))
	return time.Duration(s * float64(time.Second)), ok
}

// Prior is how long a copy takes, in seconds, before anything was
// observed: used only to order chains, so the constants matter less
// than the proportion.
func Prior(typ string, size int64) float64 {
	return 300 + float64(size)/50e6
}
