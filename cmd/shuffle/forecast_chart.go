package main

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

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
)

// xys converts the forecast's plain chart points for gonum/plot.
func xys(ps []forecast.Point) plotter.XYs {
	out := make(plotter.XYs, len(ps))
	for i, p := range ps {
		out[i] = plotter.XY{X: p.X, Y: p.Y}
	}
	return out
}

// writeChart draws the progress so far (completed RPs over time) and
// the projection (dashed, to the projected finish) into path, as SVG
// (or PNG or PDF, by the file's extension), written atomically, and
// records path in f.Chart. Times are shown in loc (nil: local time).
func writeChart(f *forecast.Forecast, path string, loc *time.Location) error {
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
		l, err := plotter.NewLine(xys(progress))
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		l.LineStyle.Width = vg.Points(1.5)
		l.LineStyle.Color = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
		p.Add(l)
		p.Legend.Add("completed", l)
	}
	if len(projection) > 1 {
		l, err := plotter.NewLine(xys(projection))
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
	if err := engine.WriteAtomic(path, func(w *bufio.Writer) error { _, err := wt.WriteTo(w); return err }); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	f.Chart = path
	return nil
}
