package main

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
)

const (
	chartWidth  = 9 * vg.Inch
	chartHeight = 5.5 * vg.Inch
	chartDPI    = 144          // the PNG: 1296 × 792 pixels
	chartMargin = vg.Length(8) // points, around everything drawn
	// chartSpread is the uncertainty band: ± this share of the remaining
	// time at each point of the projection (the forecast's accuracy
	// target, see docs/forecast.md).
	chartSpread = 0.15
	// chartMaxWindowLines is the most window boundaries drawn; with more
	// windows, every nth start is drawn.
	chartMaxWindowLines = 100
)

// chartFont is the typeface of every text of the chart: gonum/plot's
// embedded Liberation Sans, which measures the text for the layout, is
// embedded in the SVG and PDF and renders the PNG, so the layout does
// not depend on the fonts installed where the chart is viewed.
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

var (
	progressColor   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	projectionColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	bandColor       = color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x38}
	windowColor     = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
)

// xys converts the forecast's plain chart points for gonum/plot.
func xys(ps []forecast.Point) plotter.XYs {
	out := make(plotter.XYs, len(ps))
	for i, p := range ps {
		out[i] = plotter.XY{X: p.X, Y: p.Y}
	}
	return out
}

// chartFiles are the files writeChart writes for path: path, and next
// to an SVG the same chart as PNG (forecast.svg, forecast.png).
func chartFiles(path string) []string {
	if ext := filepath.Ext(path); strings.EqualFold(ext, ".svg") {
		return []string{path, strings.TrimSuffix(path, ext) + ".png"}
	}
	return []string{path}
}

// writeChart draws the progress so far (completed RPs over time), the
// projection (dashed, to the projected finish) with its uncertainty
// band, and the starts of the change windows when the forecast has a
// window plan, into path: SVG (or PNG or PDF, by the file's extension;
// next to an SVG also a PNG, chartFiles), each written atomically. It
// records path in f.Chart. Times are shown in loc (nil: local time).
func writeChart(f *forecast.Forecast, path string, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	for _, file := range chartFiles(path) {
		c := chartCanvas(file)
		if err := drawChart(f, draw.New(c), loc); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		if err := engine.WriteAtomic(file, func(w *bufio.Writer) error { _, err := c.WriteTo(w); return err }); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	f.Chart = path
	return nil
}

// chartCanvas is the canvas for path's format, by its extension: .png,
// .pdf, otherwise SVG. The SVG and PDF embed the font they use.
func chartCanvas(path string) vg.CanvasWriterTo {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))}
	case ".pdf":
		c := vgpdf.New(chartWidth, chartHeight)
		c.EmbedFonts(true)
		return c
	}
	return vgsvg.NewWith(vgsvg.UseWH(chartWidth, chartHeight), vgsvg.EmbedFonts(true))
}

// chartEntry is one entry of the legend.
type chartEntry struct {
	text  string
	thumb plot.Thumbnailer
}

// drawChart draws f's chart on c: the title on top, the plot, and the
// legend in rows below the plot, clear of the lines.
func drawChart(f *forecast.Forecast, c draw.Canvas, loc *time.Location) error {
	p := plot.New()
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label} {
		st.Font = font.From(chartFont, st.Font.Size)
	}
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(6)
	c = draw.Crop(c, chartMargin, -chartMargin, chartMargin, -chartMargin)
	p.Title.Text = chartTitle(f, loc)
	fitText(&p.Title.TextStyle, p.Title.Text, c.Max.X-c.Min.X)

	zone, _ := f.GeneratedAt.In(loc).Zone()
	p.X.Label.Text = "time (" + zone + ")"
	p.Y.Label.Text = "recovery points copied"
	p.X.Tick.Marker = timeTicks{loc}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())

	// Drawn bottom up: the band, the window starts, then the lines.
	var band, windows, done, proj []chartEntry
	progress, projection := f.ChartSeries()
	total := float64(f.Status.Completed + f.Status.Remaining)
	if len(projection) > 1 {
		pg, err := plotter.NewPolygon(uncertaintyBand(projection, chartSpread))
		if err != nil {
			return err
		}
		pg.Color = bandColor
		pg.LineStyle.Width = 0
		p.Add(pg)
		band = []chartEntry{{fmt.Sprintf("±%.0f%% of the remaining time", chartSpread*100), pg}}
	}
	if starts := f.WindowStarts(); len(starts) > 0 {
		every := (len(starts) + chartMaxWindowLines - 1) / chartMaxWindowLines
		for i := 0; i < len(starts); i += every {
			l, err := plotter.NewLine(plotter.XYs{{X: starts[i], Y: 0}, {X: starts[i], Y: max(total, 1)}})
			if err != nil {
				return err
			}
			l.LineStyle.Width = vg.Points(1)
			l.LineStyle.Color = windowColor
			l.LineStyle.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
			p.Add(l)
			if windows == nil {
				what := fmt.Sprintf("start of each %s window (%d, back to back)", f.Projection.Window.Window, len(starts))
				if every > 1 {
					what = fmt.Sprintf("start of every %dth %s window (%d, back to back)", every, f.Projection.Window.Window, len(starts))
				}
				windows = []chartEntry{{what, l}}
			}
		}
	}
	if len(progress) > 0 {
		l, err := plotter.NewLine(xys(progress))
		if err != nil {
			return err
		}
		l.LineStyle.Width = vg.Points(1.5)
		l.LineStyle.Color = progressColor
		p.Add(l)
		done = []chartEntry{{"completed", l}}
	}
	if len(projection) > 1 {
		l, err := plotter.NewLine(xys(projection))
		if err != nil {
			return err
		}
		l.LineStyle.Width = vg.Points(1.5)
		l.LineStyle.Color = projectionColor
		l.LineStyle.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(l)
		proj = []chartEntry{{fmt.Sprintf("projection (%d in flight, cap %d)", f.Projection.InFlight, f.Projection.MaxInFlight), l}}
	}
	legend := slices.Concat(done, proj, band, windows)
	p.Y.Max = max(p.Y.Max, total*1.02, 1)

	sty := text.Style{Color: color.Black, Font: font.From(chartFont, vg.Points(10)), Handler: p.TextHandler}
	plotC := c
	rows := legendRows(legend, sty, c.Max.X-c.Min.X)
	rowH := sty.FontExtents().Height + vg.Points(3)
	if len(rows) > 0 {
		plotC = draw.Crop(c, 0, 0, rowH*vg.Length(len(rows))+vg.Points(6), 0)
	}
	p.Draw(plotC)
	drawLegend(c, rows, sty, rowH)
	return nil
}

// chartTitle says how much is copied and, on a second line, the
// projected finish.
func chartTitle(f *forecast.Forecast, loc *time.Location) string {
	title := fmt.Sprintf("shuffle: %d of %d recovery points copied", f.Status.Completed, f.Status.Completed+f.Status.Remaining)
	if fin := f.Projection.Finish; fin != nil {
		title += fmt.Sprintf("\nprojected finish %s (in %s)", fin.In(loc).Format("Mon 2 Jan 15:04"), f.Projection.Remaining)
		if wp := f.Projection.Window; wp != nil {
			title += fmt.Sprintf(" without pause; %d windows of %s", wp.Windows, wp.Window)
		}
	}
	return title
}

// fitText shrinks st's font until every line of txt fits in width.
func fitText(st *text.Style, txt string, width vg.Length) {
	for st.Font.Size > vg.Points(6) {
		w := vg.Length(0)
		for _, line := range strings.Split(txt, "\n") {
			w = max(w, st.Width(line))
		}
		if w <= width {
			return
		}
		st.Font.Size -= vg.Points(0.5)
	}
}

// uncertaintyBand is the area around the projection from spread less
// to spread more of its remaining time at each point (the time since
// its first point, the projection's start).
func uncertaintyBand(projection []forecast.Point, spread float64) plotter.XYs {
	now := projection[0].X
	band := make(plotter.XYs, 0, 2*len(projection))
	for _, p := range projection {
		band = append(band, plotter.XY{X: now + (1-spread)*(p.X-now), Y: p.Y})
	}
	for i := len(projection) - 1; i >= 0; i-- {
		p := projection[i]
		band = append(band, plotter.XY{X: now + (1+spread)*(p.X-now), Y: p.Y})
	}
	return band
}

// The legend's thumbnails are legendThumb wide, its entries legendGap
// apart (points).
const (
	legendThumb = vg.Length(20)
	legendGap   = vg.Length(16)
)

// legendRows lays the legend's entries out left to right in rows that
// fit in width.
func legendRows(entries []chartEntry, sty text.Style, width vg.Length) [][]chartEntry {
	var rows [][]chartEntry
	var used vg.Length
	for _, e := range entries {
		w := legendThumb + sty.Width(" "+e.text)
		if len(rows) == 0 || used+legendGap+w > width {
			rows = append(rows, nil)
			used = -legendGap
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], e)
		used += legendGap + w
	}
	return rows
}

// drawLegend draws the rows at the bottom of c, each rowH high.
func drawLegend(c draw.Canvas, rows [][]chartEntry, sty text.Style, rowH vg.Length) {
	ext := sty.FontExtents()
	space := sty.Width(" ")
	for r, row := range rows {
		base := c.Min.Y + rowH*vg.Length(len(rows)-1-r) + ext.Descent
		x := c.Min.X
		for _, e := range row {
			icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: base - ext.Descent},
				Max: vg.Point{X: x + legendThumb, Y: base + ext.Ascent},
			}}
			e.thumb.Thumbnail(&icon)
			c.FillText(sty, vg.Point{X: x + legendThumb + space, Y: base - ext.Descent}, e.text)
			x += legendThumb + sty.Width(" "+e.text) + legendGap
		}
	}
}

// timeTicks marks the time axis at whole hours or days in loc: the
// shortest step giving at most 8 labelled ticks.
type timeTicks struct{ loc *time.Location }

var tickSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

// Ticks implements plot.Ticker.
func (tt timeTicks) Ticks(lo, hi float64) []plot.Tick {
	span := time.Duration((hi - lo) * float64(time.Second))
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 8 {
			step = s
			break
		}
	}
	from := time.Unix(int64(math.Floor(lo)), 0).In(tt.loc)
	var t time.Time
	if step >= 24*time.Hour {
		t = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, tt.loc)
	} else {
		t = time.Date(from.Year(), from.Month(), from.Day(), from.Hour(), 0, 0, 0, tt.loc)
		t = t.Add(from.Sub(t).Truncate(step))
	}
	var ticks []plot.Tick
	next := func(t time.Time) time.Time { return t.Add(step) }
	if step >= 24*time.Hour { // whole days in loc, across a change of its offset
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, int(step/(24*time.Hour))) }
	}
	for ; !t.After(time.Unix(int64(math.Ceil(hi)), 0)); t = next(t) {
		if x := float64(t.Unix()); x >= lo {
			ticks = append(ticks, plot.Tick{Value: x, Label: t.Format("Jan 2\n15:04")})
		}
	}
	return ticks
}
