package engine

import (
	"bufio"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// chartPoints is the most points one series of the chart draws.
const chartPoints = 600

// ChartSeries are the chart's two lines: copies completed so far and
// the projection, as (Unix seconds, completed RPs).
func (f *Forecast) ChartSeries() (progress, projection plotter.XYs) {
	done := f.done
	step := max(1, len(done)/chartPoints)
	for i := 0; i < len(done); i += step {
		progress = append(progress, plotter.XY{X: float64(done[i]) / 1e9, Y: float64(i + 1)})
	}
	if n := len(done); n > 0 && (n-1)%step != 0 {
		progress = append(progress, plotter.XY{X: float64(done[n-1]) / 1e9, Y: float64(n)})
	}
	if len(progress) > 0 && progress[0].Y > 1 {
		progress = append(plotter.XYs{{X: progress[0].X, Y: 0}}, progress...)
	}
	now := float64(f.GeneratedAt.UnixNano()) / 1e9
	base := float64(len(done))
	if c := f.Status.Completed; c > int64(len(done)) {
		base = float64(c) // completed records without times
	}
	projection = plotter.XYs{{X: now, Y: base}}
	pr := f.projected
	step = max(1, len(pr)/chartPoints)
	for i := 0; i < len(pr); i += step {
		projection = append(projection, plotter.XY{X: now + pr[i], Y: base + float64(i+1)})
	}
	if n := len(pr); n > 0 && (n-1)%step != 0 {
		projection = append(projection, plotter.XY{X: now + pr[n-1], Y: base + float64(n)})
	}
	return progress, projection
}

// WriteChart draws the progress so far (completed RPs over time) and
// the projection (dashed, to the projected finish) into path, as SVG
// (or PNG or PDF, by the file's extension), written atomically. Times
// are shown in loc (nil: local time).
func (f *Forecast) WriteChart(path string, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	p := plot.New()
	title := fmt.Sprintf("shuffle: %d of %d recovery points copied", f.Status.Completed, f.Status.Completed+f.Status.Remaining)
	if fin := f.Projection.Finish; fin != nil {
		title += fmt.Sprintf("; projected finish %s (in %s)", fin.In(loc).Format("Mon 2 Jan 15:04"), f.Projection.Remaining)
	}
	p.Title.Text = title
	zone, _ := f.GeneratedAt.In(loc).Zone()
	p.X.Label.Text = "time (" + zone + ")"
	p.Y.Label.Text = "recovery points copied"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2\n15:04:05", Time: plot.UnixTimeIn(loc)}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())

	progress, projection := f.ChartSeries()
	if len(progress) > 0 {
		l, err := plotter.NewLine(progress)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		l.LineStyle.Width = vg.Points(1.5)
		l.LineStyle.Color = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
		p.Add(l)
		p.Legend.Add("completed", l)
	}
	if len(projection) > 1 {
		l, err := plotter.NewLine(projection)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		l.LineStyle.Width = vg.Points(1.5)
		l.LineStyle.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
		l.LineStyle.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("projection (%d in flight, cap %d)", f.Projection.InFlight, f.Projection.MaxInFlight), l)
	}
	total := float64(f.Status.Completed + f.Status.Remaining)
	p.Y.Max = max(p.Y.Max, total*1.02, 1)
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(8)

	format := "svg"
	switch filepath.Ext(path) {
	case ".png":
		format = "png"
	case ".pdf":
		format = "pdf"
	}
	wt, err := p.WriterTo(9*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := writeAtomic(path, func(w *bufio.Writer) error { _, err := wt.WriteTo(w); return err }); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	f.Chart = path
	return nil
}
