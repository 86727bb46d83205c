package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

func newForecastCmd(e *env) *cobra.Command {
	var (
		dir         string
		jsonOut     bool
		maxInFlight int
		window      time.Duration
		chart       string
	)
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Project how long the rest of the copy takes, from the rates observed so far (reads the state only)",
		Long: `Read the state directory as 'shuffle status' does, then:

- fit a duration model per resource type to the completed copies
  (seconds ≈ setup + size / throughput, by least squares), and report the
  observed rates by type and by size, the overhead between one copy and
  the next of the same resource, and the completions per hour;
- simulate the remaining copies under shuffle's scheduling rules: at most
  --max-in-flight jobs at once, one per resource (each resource's
  recovery points in sequence, the longest chains first), the jobs still
  running in AWS counted with what is left of them;
- print the projected remaining time and finish, and with --window the
  number of change windows of that length the work needs;
- draw the progress so far, the projection (dashed) with a ±15% band
  and, with --window, the start of each window into <state>/forecast.svg
  and <state>/forecast.png (--chart to choose another file; .png and .pdf
  work too, and an .svg gets a .png next to it).

Nothing is asked of AWS; while a run holds the state, forecast asks the
run (through its REPL socket) for its live state's forecast.
--json prints the forecast as JSON (schema shuffle.forecast/v1, see
docs/forecast.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxInFlight < 1 {
				return usagef("--max-in-flight must be at least 1, got %d", maxInFlight)
			}
			if window < 0 {
				return usagef("--window must not be negative, got %s", window)
			}
			f, err := makeForecast(cmd.Context(), e, dir, forecast.Options{MaxInFlight: maxInFlight, Window: window})
			if err != nil {
				return err
			}
			if chart == "" {
				chart = filepath.Join(dir, "forecast.svg")
			}
			if err := writeChart(f, chart, time.Local); err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(f)
			}
			printForecast(e.stdout, dir, f)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "state", "./.shuffle", "state directory (Badger)")
	complete(cmd, "state", completeDirs)
	fl.BoolVar(&jsonOut, "json", false, "print the forecast as JSON")
	fl.IntVar(&maxInFlight, "max-in-flight", 100, "copy jobs in flight at once, as the run will use")
	fl.DurationVar(&window, "window", 0, "change-window length (e.g. 8h): also count the windows the work needs")
	fl.StringVar(&chart, "chart", "", "where to draw the chart (default <state>/forecast.svg, and forecast.png next to it)")
	return cmd
}

// makeForecast forecasts from the state in dir; while a run serves its
// REPL socket there, the run makes it from its live state.
func makeForecast(ctx context.Context, e *env, dir string, o forecast.Options) (*forecast.Forecast, error) {
	var lf liveForecast
	if ok, err := liveReport(ctx, dir, replRequest{Forecast: &o}, &lf); ok {
		if err == nil && lf.Forecast == nil {
			err = errors.New("the run's REPL socket answered no forecast")
		}
		if err != nil {
			return nil, err
		}
		lf.Forecast.SetChartSeries(lf.Progress, lf.Projection)
		return lf.Forecast, nil
	}
	st, err := openStateReadOnly(e, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return forecast.Make(ctx, st, o)
}

func secs(s float64) string { return forecast.HumanDuration(time.Duration(s * float64(time.Second))) }

func perSecond(bps float64) string {
	if bps <= 0 {
		return "-"
	}
	return humanBytes(int64(bps)) + "/s"
}

func printForecast(w io.Writer, dir string, f *forecast.Forecast) {
	s := f.Status
	todo := s.Completed + s.Remaining
	fmt.Fprintf(w, "State %s, read %s\n", dir, localTime(f.GeneratedAt))
	fmt.Fprintf(w, "Copied %d of %d recovery points (%s), %s of %s; %d failed\n\n",
		s.Completed, todo, pctOrDash(s.Completed, todo), humanBytes(s.CompletedBytes), humanBytes(s.CompletedBytes+s.RemainingBytes), s.Failed)

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TYPE\tREMAINING\tREM. SIZE\tCOPIED\tMEAN\tOBSERVED\tMODEL\tSETUP\tTHROUGHPUT\tRMSE\t")
	rem := map[string]forecast.TypeStatus{}
	for _, t := range s.ByType {
		rem[t.ResourceType] = t
	}
	for _, r := range f.Rates.ByType {
		t := rem[r.ResourceType]
		mean, rmse := "-", "-"
		if r.Samples > 0 {
			mean, rmse = secs(r.MeanSeconds), secs(r.RMSESeconds)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.ResourceType, t.Remaining, humanBytes(t.RemainingBytes),
			r.Samples, mean, perSecond(r.ObservedBytesPerSecond), r.Method, secs(r.SetupSeconds), perSecond(r.BytesPerSecond), rmse)
	}
	tw.Flush()
	fmt.Fprintln(w, "(MODEL: how a type's duration is predicted, seconds = SETUP + size / THROUGHPUT; see docs/forecast.md)")

	if len(f.Rates.BySize) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "SIZE\tCOPIED\tMEAN\tOBSERVED\t")
		for _, r := range f.Rates.BySize {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", r.Label, r.Samples, secs(r.MeanSeconds), perSecond(r.ObservedBytesPerSecond))
		}
		tw.Flush()
	}

	r := f.Rates
	fmt.Fprintln(w)
	if r.BusyHours > 0 {
		fmt.Fprintf(w, "Observed: %.0f copies/hour, %s/hour, over %s with jobs in flight", r.CompletedPerHour, humanBytes(int64(r.BytesPerHour)), secs(r.BusyHours*3600))
		if r.RunHours > 0 {
			fmt.Fprintf(w, " (%s of 'shuffle run' in the run history)", secs(r.RunHours*3600))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Overhead between copies of one resource: %s (median of %d)\n", secs(r.OverheadSeconds), r.OverheadSamples)

	p := f.Projection
	fmt.Fprintf(w, "\nProjection, at most %d jobs in flight: %d in flight now, %d queued, over %d resources\n", p.MaxInFlight, p.InFlight, p.Queued, p.Resources)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if p.Finish != nil {
		fmt.Fprintf(tw, "  remaining time\t%s\tfinish %s\n", p.Remaining, localTime(*p.Finish))
	} else {
		fmt.Fprintf(tw, "  remaining time\tnone\tnothing left to copy\n")
	}
	fmt.Fprintf(tw, "  predicted work\t%s\tthe sum of every remaining job\n", secs(p.PredictedWorkSeconds))
	fmt.Fprintf(tw, "  longest chain\t%s\tone resource's jobs, one after another (a lower bound)\n", secs(p.LongestChainSeconds))
	fmt.Fprintf(tw, "  longest job\t%s\t\n", secs(p.LongestJobSeconds))
	if wp := p.Window; wp != nil {
		fmt.Fprintf(tw, "  %s windows\t%d\tthe last busy for %s\n", wp.Window, wp.Windows, secs(wp.LastWindowSeconds))
	}
	tw.Flush()
	if wp := p.Window; wp != nil {
		if wp.TooShort {
			fmt.Fprintf(w, "  Warning: %s\n", wp.Note)
		} else {
			fmt.Fprintf(w, "  Note: %s\n", wp.Note)
		}
	}
	if l := atRiskLine(p.AtRisk); l != "" {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if f.Chart != "" {
		fmt.Fprintf(w, "\nChart: %s\n", strings.Join(chartFiles(f.Chart), ", "))
	}
}

// atRiskLine says how many RPs the projection copies too late, or ""
// when none.
func atRiskLine(a *forecast.AtRisk) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("At risk: %d recovery points would start copying after their source's lifecycle deletes them (the earliest on %s); "+
		"a run starts those due within %s before the others", a.RecoveryPoints, localTime(a.EarliestDeleteAt), forecast.HumanDuration(copier.UrgentWithin))
}

// noteAtRisk projects the copy from st (forecast.Make) for its at-risk
// count, keeps it for status (forecast.AtRiskCache) and says it on w
// when there is one. A projection that fails is said, not returned: it
// never fails the command that asked.
func noteAtRisk(ctx context.Context, w io.Writer, st *state.Store) *forecast.AtRisk {
	now := time.Now().UTC()
	f, err := forecast.Make(ctx, st, forecast.Options{Now: now})
	if err != nil {
		fmt.Fprintf(w, "at risk: not projected: %v\n", err)
		return nil
	}
	ar := f.Projection.AtRisk
	rec := forecast.AtRisk{AsOf: &now}
	if ar != nil {
		rec = *ar
		rec.AsOf = &now
	}
	if err := st.PutCache(forecast.AtRiskCache, rec); err != nil {
		fmt.Fprintf(w, "at risk: not kept for status: %v\n", err)
	}
	if l := atRiskLine(ar); l != "" {
		fmt.Fprintln(w, l)
	}
	return ar
}
