package estimate

import (
	"math"
	"testing"
	"time"
)

func fitOf(pts ...[2]float64) *Fit {
	var f Fit
	for _, p := range pts {
		f.Add(p[0], p[1])
	}
	return &f
}

func TestPriorIsSetupPlusTransfer(t *testing.T) {
	if got := Prior("EBS", 0); got != 300 {
		t.Fatalf("Prior(0) = %v, want 300", got)
	}
	if got := Prior("RDS", 100e6); got != 302 {
		t.Fatalf("Prior(100 MB) = %v, want 302", got)
	}
}

// Points on y = 10 + x/2 (by hand: a = 10, c = 0.5).
func TestLineRecoversAnExactLine(t *testing.T) {
	f := fitOf([2]float64{2, 11}, [2]float64{4, 12}, [2]float64{10, 15})
	a, c, ok := f.Line()
	if !ok || math.Abs(a-10) > 1e-12 || math.Abs(c-0.5) > 1e-12 {
		t.Fatalf("Line = %v, %v, %v; want 10, 0.5, true", a, c, ok)
	}
	if e := f.SSE(a, c); e > 1e-18 {
		t.Fatalf("SSE = %v, want 0", e)
	}
	// By hand: residuals of y = 9 + x/2 are 1, 1, 1.
	if e := f.SSE(9, 0.5); math.Abs(e-3) > 1e-12 {
		t.Fatalf("SSE(9, 0.5) = %v, want 3", e)
	}
}

// (1,1) (2,1) (3,4): mean x 2, mean y 2, cov 1, var 2/3, so c = 1.5 and
// a = 2 - 3 = -1 < 0: refitted through the origin, c = Σxy/Σxx = 15/14.
func TestLineRefitsANegativeInterceptThroughTheOrigin(t *testing.T) {
	f := fitOf([2]float64{1, 1}, [2]float64{2, 1}, [2]float64{3, 4})
	a, c, ok := f.Line()
	if !ok || a != 0 || math.Abs(c-15.0/14) > 1e-12 {
		t.Fatalf("Line = %v, %v, %v; want 0, 15/14, true", a, c, ok)
	}
}

func TestLineRefusesWhatCannotSupportALine(t *testing.T) {
	for name, f := range map[string]*Fit{
		"two points": fitOf([2]float64{1, 1}, [2]float64{2, 2}),
		"one size":   fitOf([2]float64{5, 1}, [2]float64{5, 2}, [2]float64{5, 3}),
		"falling":    fitOf([2]float64{1, 3}, [2]float64{2, 2}, [2]float64{3, 1}),
	} {
		if _, _, ok := f.Line(); ok {
			t.Errorf("%s: Line ok, want not", name)
		}
	}
}

// Predict answers from the first point; by hand: (10, 20) and (30, 40)
// give y = 10 + x.
func TestPredictIsTheCopiersLenientReading(t *testing.T) {
	var empty Fit
	if _, ok := empty.Predict(1); ok {
		t.Fatal("empty fit predicts")
	}
	one := fitOf([2]float64{10, 20})
	if y, _ := one.Predict(5); y != 20 {
		t.Errorf("one point, smaller x: %v, want 20 (never below what was seen)", y)
	}
	if y, _ := one.Predict(30); y != 60 {
		t.Errorf("one point, larger x: %v, want 60 (scaled by size)", y)
	}
	two := fitOf([2]float64{10, 20}, [2]float64{30, 40})
	if y, _ := two.Predict(50); math.Abs(y-60) > 1e-12 {
		t.Errorf("line: %v, want 60", y)
	}
	falling := fitOf([2]float64{10, 40}, [2]float64{30, 20})
	if y, _ := falling.Predict(20); y != 30 {
		t.Errorf("falling: %v, want the mean 30", y)
	}
	clamped := fitOf([2]float64{10, 1}, [2]float64{20, 11})
	if y, _ := clamped.Predict(0); y != 0 {
		t.Errorf("negative prediction: %v, want 0", y)
	}
}

func TestMergeEqualsAddingEverything(t *testing.T) {
	a := fitOf([2]float64{1, 2}, [2]float64{3, 5})
	b := fitOf([2]float64{4, 9}, [2]float64{8, 13})
	all := fitOf([2]float64{1, 2}, [2]float64{3, 5}, [2]float64{4, 9}, [2]float64{8, 13})
	a.Merge(*b)
	if *a != *all {
		t.Fatalf("merged %+v, want %+v", *a, *all)
	}
}

func TestDurationsFallsBackToAllTypes(t *testing.T) {
	var d Durations
	if _, ok := d.Predict("EBS", 1); ok {
		t.Fatal("empty durations predict")
	}
	d.Add("EBS", 10, 20*time.Second)
	d.Add("EBS", 30, 40*time.Second)
	d.Add("EBS", 50, 0) // ignored
	if got, ok := d.Predict("EBS", 50); !ok || got != 60*time.Second {
		t.Errorf("EBS: %v %v, want 60s", got, ok)
	}
	d.Add("RDS", 10, 100*time.Second)
	// RDS has one point: scaled by size.
	if got, _ := d.Predict("RDS", 20); got != 200*time.Second {
		t.Errorf("RDS: %v, want 200s", got)
	}
	// Unknown type: the fit over all three points. By hand: x 10,30,10;
	// y 20,40,100; n=3 Σx=50 Σy=160 Σxx=1100 Σxy=2600: b=(7800-8000)/800 < 0,
	// so the mean 160/3 s, scaled by 40/(50/3).
	got, _ := d.Predict("EFS", 40)
	want := time.Duration(160.0 / 3 * 40 / (50.0 / 3) * float64(time.Second))
	if got != want {
		t.Errorf("EFS: %v, want %v", got, want)
	}
}
