package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

func TestChartIsDrawnFromTheForecastsSeries(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := forecast.Make(context.Background(), st, forecast.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"forecast.svg", "forecast.png", "forecast.pdf"} {
		path := filepath.Join(t.TempDir(), name)
		if err := writeChart(f, path, time.UTC); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || f.Chart != path {
			t.Errorf("%s: %v, chart %q", name, err, f.Chart)
		}
	}
}

// chartForecast is a forecast a third of the way through a copy of 900
// RPs, with 30 hours to go, and with window (0: none) its window plan.
func chartForecast(window time.Duration) *forecast.Forecast {
	now := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	remaining := 30 * time.Hour
	fin := now.Add(remaining)
	f := &forecast.Forecast{
		GeneratedAt: now,
		Status:      &forecast.Status{Completed: 300, Remaining: 600},
		Projection: forecast.Projection{
			MaxInFlight: 100, InFlight: 100, Queued: 500,
			RemainingSeconds: remaining.Seconds(), Remaining: forecast.HumanDuration(remaining), Finish: &fin,
		},
	}
	if window > 0 {
		n := int(math.Ceil(remaining.Seconds()/window.Seconds())) + 1
		f.Projection.Window = &forecast.WindowPlan{WindowSeconds: window.Seconds(), Window: forecast.HumanDuration(window), Windows: n}
	}
	var progress, projection []forecast.Point
	start := float64(now.Add(-12 * time.Hour).Unix())
	for i := 0; i <= 300; i++ {
		progress = append(progress, forecast.Point{X: start + float64(i)*144, Y: float64(i)})
	}
	for i := 0; i <= 600; i++ {
		projection = append(projection, forecast.Point{X: float64(now.Unix()) + float64(i)*180, Y: float64(300 + i)})
	}
	f.SetChartSeries(progress, projection)
	return f
}

func TestChartSVGAndPNGTextInsideAndWindowLines(t *testing.T) {
	for _, window := range []time.Duration{0, 8 * time.Hour} {
		t.Run(fmt.Sprint("window ", window), func(t *testing.T) {
			f := chartForecast(window)
			dir := t.TempDir()
			svgPath := filepath.Join(dir, "forecast.svg")
			if err := writeChart(f, svgPath, time.UTC); err != nil {
				t.Fatal(err)
			}
			if os.Getenv("SHUFFLE_CHART_DEBUG") != "" {
				for _, n := range []string{"forecast.svg", "forecast.png"} {
					b, _ := os.ReadFile(filepath.Join(dir, n))
					os.WriteFile(filepath.Join(os.Getenv("SHUFFLE_CHART_DEBUG"), fmt.Sprintf("%d-%s", int(window.Hours()), n)), b, 0o644)
				}
			}
			pf, err := os.Open(filepath.Join(dir, "forecast.png"))
			if err != nil {
				t.Fatalf("no PNG next to the SVG: %v", err)
			}
			defer pf.Close()
			img, err := png.Decode(pf)
			if err != nil {
				t.Fatalf("the PNG does not decode: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 1296 || b.Dy() != 792 {
				t.Errorf("PNG is %v, want 1296×792", b)
			}
			svg, err := os.ReadFile(svgPath)
			if err != nil {
				t.Fatal(err)
			}
			texts, lines := checkSVG(t, svg)
			if texts < 10 {
				t.Errorf("only %d texts in the SVG", texts)
			}
			want := 0
			if window > 0 {
				want = f.Projection.Window.Windows
			}
			if lines != want {
				t.Errorf("%d window boundaries drawn, want %d", lines, want)
			}
		})
	}
}

// checkSVG parses a chart's SVG: every text must lie inside the canvas
// (its box measured with the chart's font, through the transforms of
// the groups around it). It returns the number of texts and of window
// boundaries (vertical lines in the window colour).
func checkSVG(t *testing.T, svg []byte) (texts, windowLines int) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	var width, height float64
	type matrix [6]float64 // a b c d e f, as SVG's matrix()
	id := matrix{1, 0, 0, 1, 0, 0}
	mul := func(m, n matrix) matrix {
		return matrix{
			m[0]*n[0] + m[2]*n[1], m[1]*n[0] + m[3]*n[1],
			m[0]*n[2] + m[2]*n[3], m[1]*n[2] + m[3]*n[3],
			m[0]*n[4] + m[2]*n[5] + m[4], m[1]*n[4] + m[3]*n[5] + m[5],
		}
	}
	apply := func(m matrix, x, y float64) (float64, float64) {
		return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
	}
	fn := regexp.MustCompile(`(\w+)\(([^)]*)\)`)
	parse := func(tr string) matrix {
		m := id
		for _, g := range fn.FindAllStringSubmatch(tr, -1) {
			var a []float64
			for _, s := range strings.FieldsFunc(g[2], func(r rune) bool { return r == ',' || r == ' ' }) {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("transform %q: %v", tr, err)
				}
				a = append(a, v)
			}
			switch {
			case g[1] == "translate" && len(a) == 2:
				m = mul(m, matrix{1, 0, 0, 1, a[0], a[1]})
			case g[1] == "scale" && len(a) == 2:
				m = mul(m, matrix{a[0], 0, 0, a[1], 0, 0})
			case g[1] == "rotate" && len(a) == 1:
				s, c := math.Sincos(a[0] * math.Pi / 180)
				m = mul(m, matrix{c, s, -s, c, 0, 0})
			default:
				t.Fatalf("transform %q not understood", tr)
			}
		}
		return m
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "pt"), 64)
		if err != nil {
			t.Fatalf("number %q: %v", s, err)
		}
		return v
	}
	face := font.DefaultCache.Lookup(chartFont, vg.Points(10))
	sizeRE := regexp.MustCompile(`font-size:([0-9.]+)px`)
	pathRE := regexp.MustCompile(`^M([-0-9.e]+),([-0-9.e]+)L([-0-9.e]+),([-0-9.e]+)$`)
	stack := []matrix{id}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			m := mul(stack[len(stack)-1], parse(attr["transform"]))
			stack = append(stack, m)
			switch e.Name.Local {
			case "svg":
				width, height = num(attr["width"]), num(attr["height"])
			case "path":
				d := pathRE.FindStringSubmatch(strings.ReplaceAll(attr["d"], "\n", ""))
				if d != nil && d[1] == d[3] && strings.Contains(attr["style"], "stroke:"+fmt.Sprintf("#%02X%02X%02X", windowColor.R, windowColor.G, windowColor.B)) {
					windowLines++
				}
			case "text":
				var body string
				if err := dec.DecodeElement(&body, &e); err != nil {
					t.Fatal(err)
				}
				stack = stack[:len(stack)-1]
				texts++
				sz := sizeRE.FindStringSubmatch(attr["style"])
				if sz == nil {
					t.Fatalf("text %q has no font size: %q", body, attr["style"])
				}
				fc := face
				fc.Font.Size = vg.Points(num(sz[1]))
				ext := fc.Extents()
				x, y, w := num(attr["x"]), num(attr["y"]), fc.Width(body).Points()
				for _, c := range [][2]float64{{x, y - ext.Ascent.Points()}, {x + w, y - ext.Ascent.Points()}, {x, y + ext.Descent.Points()}, {x + w, y + ext.Descent.Points()}} {
					px, py := apply(m, c[0], c[1])
					if px < -0.5 || px > width+0.5 || py < -0.5 || py > height+0.5 {
						t.Errorf("text %q reaches (%.1f, %.1f), outside the %gx%g canvas", body, px, py, width, height)
						break
					}
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if width == 0 || height == 0 {
		t.Fatalf("no SVG size")
	}
	return texts, windowLines
}
