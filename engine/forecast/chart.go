package forecast

// chartPoints is the most points one series of the chart draws.
const chartPoints = 600

// Point is one point of a chart series: X in Unix seconds, Y a count of
// completed recovery points.
type Point struct{ X, Y float64 }

// ChartSeries are the chart's two lines: copies completed so far and
// the projection, as (Unix seconds, completed RPs), each thinned to at
// most about 600 points. Drawing them is the caller's.
func (f *Forecast) ChartSeries() (progress, projection []Point) {
	if f.series != nil {
		return f.series[0], f.series[1]
	}
	done := f.done
	step := max(1, len(done)/chartPoints)
	for i := 0; i < len(done); i += step {
		progress = append(progress, Point{X: float64(done[i]) / 1e9, Y: float64(i + 1)})
	}
	if n := len(done); n > 0 && (n-1)%step != 0 {
		progress = append(progress, Point{X: float64(done[n-1]) / 1e9, Y: float64(n)})
	}
	if len(progress) > 0 && progress[0].Y > 1 {
		progress = append([]Point{{X: progress[0].X, Y: 0}}, progress...)
	}
	now := float64(f.GeneratedAt.UnixNano()) / 1e9
	base := float64(len(done))
	if c := f.Status.Completed; c > int64(len(done)) {
		base = float64(c) // completed records without times
	}
	projection = []Point{{X: now, Y: base}}
	pr := f.projected
	step = max(1, len(pr)/chartPoints)
	for i := 0; i < len(pr); i += step {
		projection = append(projection, Point{X: now + pr[i], Y: base + float64(i+1)})
	}
	if n := len(pr); n > 0 && (n-1)%step != 0 {
		projection = append(projection, Point{X: now + pr[n-1], Y: base + float64(n)})
	}
	return progress, projection
}

// SetChartSeries gives a forecast that crossed a process boundary (the
// running command's REPL socket) the chart series its maker computed:
// the completion times behind them are not carried.
func (f *Forecast) SetChartSeries(progress, projection []Point) {
	f.series = &[2][]Point{progress, projection}
}

// WindowStarts are the starts of the change windows the projection's
// window plan needs (Projection.Window; none without --window), in Unix
// seconds: the first at GeneratedAt, the others one window length apart
// (windows drawn back to back: the gaps between them are not known).
func (f *Forecast) WindowStarts() []float64 {
	wp := f.Projection.Window
	if wp == nil || wp.WindowSeconds <= 0 {
		return nil
	}
	now := float64(f.GeneratedAt.UnixNano()) / 1e9
	starts := make([]float64, wp.Windows)
	for i := range starts {
		starts[i] = now + float64(i)*wp.WindowSeconds
	}
	return starts
}
