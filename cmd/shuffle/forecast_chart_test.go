package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	for _, name := range []string{"forecast.svg", "forecast.png"} {
		path := filepath.Join(t.TempDir(), name)
		if err := writeChart(f, path, time.UTC); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || f.Chart != path {
			t.Errorf("%s: %v, chart %q", name, err, f.Chart)
		}
	}
}
