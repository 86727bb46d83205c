package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/query"
	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// backgroundRun runs the CLI in-process in a goroutine; cancel stops it
// as SIGINT would, and the exit code arrives on the channel.
func backgroundRun(t *testing.T, args ...string) (cancel context.CancelFunc, done <-chan int, out *bytes.Buffer) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv,
		notify: func(parent context.Context) (context.Context, context.CancelFunc) {
			c, cf := context.WithCancel(parent)
			go func() {
				select {
				case <-ctx.Done():
					cf()
				case <-c.Done():
				}
			}()
			return c, cf
		}}
	ch := make(chan int, 1)
	go func() { ch <- run(args, e) }()
	t.Cleanup(stop)
	return stop, ch, &stdout
}

// completedJobs counts the emulator's COMPLETED copy jobs.
func completedJobs(t *testing.T, client *backup.Client) int {
	t.Helper()
	n := 0
	p := backup.NewListCopyJobsPaginator(client, &backup.ListCopyJobsInput{ByState: types.CopyJobStateCompleted, MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.CopyJobs)
	}
	return n
}

func forecastJSON(t *testing.T, args ...string) *forecast.Forecast {
	t.Helper()
	code, out, errs := shuffle(t, append([]string{"forecast", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("shuffle forecast exited %d: %s", code, errs)
	}
	var f forecast.Forecast
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("forecast --json is not JSON: %v\n%s", err, out)
	}
	return &f
}

// Forecast accuracy: on a simulated run with deterministic durations,
// the forecast made at 20% done is within ±15% of the actual remaining
// time. The run is stopped (as by Ctrl-C) once 20% of the included RPs
// are copied; the jobs still in AWS go on meanwhile. The forecast reads
// the state, and the resumed run copies the rest.
func TestForecastAt20PercentIsWithin15Percent(t *testing.T) {
	speed := 45000.0
	if s := os.Getenv("SHUFFLE_FORECAST_SPEED"); s != "" {
		speed, _ = strconv.ParseFloat(s, 64)
	}
	env, dir := workspaceWith(t, testenv.Options{RecoveryPoints: 400, CopySpeed: speed})
	stateDir := filepath.Join(t.TempDir(), "state")
	plan := planJSON(t, "--state", stateDir)
	included := int(plan.Totals.Included)
	script := fastCopyScript(t, "forecast.lua")
	client := backup.NewFromConfig(env.Config(t, testenv.ProfileSource))

	// Refused politely while a run holds the state.
	cancel, done, _ := backgroundRun(t, "run", script, "--state", stateDir)
	runStart := time.Now()
	var cut int
	for {
		select {
		case code := <-done:
			t.Fatalf("the run ended (exit %d) before 20%% was copied; slow the emulator down", code)
		case <-time.After(20 * time.Millisecond):
		}
		if cut = completedJobs(t, client); cut*5 >= included {
			break
		}
		if time.Since(runStart) > 2*time.Minute {
			t.Fatal("20% not copied within 2 minutes")
		}
	}
	// The run holds the state: status asks it for its live numbers.
	code, out, errs := shuffle(t, "status", "--state", stateDir)
	if code != 0 || !strings.Contains(out, "(live: asked of the shuffle command running on this state)") {
		t.Errorf("status on a state a run holds: exit %d, stderr %q; want the run's live status\n%s", code, errs, out)
	}
	cancel()
	if code := <-done; code == 0 {
		t.Logf("the interrupted run exited 0")
	}
	t.Logf("stopped after %s with %d of %d included RPs copied in AWS", time.Since(runStart).Round(time.Millisecond), cut, included)

	fargs := []string{"--state", stateDir}
	if d := os.Getenv("SHUFFLE_FORECAST_DEBUG"); d != "" {
		fargs = append(fargs, "--chart", filepath.Join(d, "forecast-at-20.png"))
	}
	f := forecastJSON(t, fargs...)
	st := f.Status
	t.Logf("forecast at %.1f%% done (state): %d completed, %d running, %d queued; overhead %.3fs; projected remaining %.2fs",
		st.PercentDone, st.Completed, st.States[state.CopyRunning]+st.States[state.CopyIntent], st.States[query.Queued],
		f.Projection.OverheadSeconds, f.Projection.RemainingSeconds)
	for _, r := range f.Rates.ByType {
		t.Logf("  %-9s n=%-3d %-7s setup %.3fs, %.3g B/s, rmse %.4fs", r.ResourceType, r.Samples, r.Method, r.SetupSeconds, r.BytesPerSecond, r.RMSESeconds)
	}
	if _, err := os.Stat(f.Chart); err != nil || f.Chart == "" {
		t.Errorf("no chart written: %v (chart %q)", err, f.Chart)
	}

	// Resume to the end.
	code, out, errs = shuffle(t, "run", script, "--state", stateDir)
	runEnd := time.Now()
	if code != 0 {
		t.Fatalf("resumed run exited %d\n%s%s", code, out, errs)
	}
	var last time.Time
	s, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ScanCopies(func(c *state.CopyRecord) error {
		if c.State != state.CopyCompleted {
			t.Errorf("%s ended %s", c.Arn, c.State)
		}
		if c.CompletedAt != nil && c.CompletedAt.After(last) {
			last = *c.CompletedAt
		}
		return nil
	})
	if os.Getenv("SHUFFLE_FORECAST_DEBUG") != "" {
		models := map[string]forecast.TypeRate{}
		for _, r := range f.Rates.ByType {
			models[r.ResourceType] = r
		}
		byRes := map[string][]*state.CopyRecord{}
		_ = s.ScanCopies(func(c *state.CopyRecord) error { byRes[c.ResourceArn] = append(byRes[c.ResourceArn], c); return nil })
		for res, cs := range byRes {
			var end time.Time
			for _, c := range cs {
				if c.CompletedAt.After(end) {
					end = *c.CompletedAt
				}
			}
			if end.Sub(f.GeneratedAt) < time.Duration(0.7*float64(last.Sub(f.GeneratedAt))) {
				continue
			}
			t.Logf("chain %s ends at %.2fs", res, end.Sub(f.GeneratedAt).Seconds())
			for _, c := range cs {
				m := models[c.ResourceType]
				pred := m.SetupSeconds
				if m.BytesPerSecond > 0 {
					pred += float64(c.Size) / m.BytesPerSecond
				}
				t.Logf("   %s %.3g B start %.2f end %.2f dur %.2f pred %.2f", c.ResourceType, float64(c.Size), c.StartedAt.Sub(f.GeneratedAt).Seconds(), c.CompletedAt.Sub(f.GeneratedAt).Seconds(), c.CompletedAt.Sub(*c.StartedAt).Seconds(), pred)
			}
		}
	}
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	actual := last.Sub(f.GeneratedAt).Seconds()
	wall := runEnd.Sub(f.GeneratedAt).Seconds()
	predicted := f.Projection.RemainingSeconds
	errPct := 100 * (predicted - actual) / actual
	t.Logf("remaining: forecast %.2fs, actual %.2fs to the last completion (%.2fs to the end of the resumed run); error %+.1f%%; whole copy %.1fs",
		predicted, actual, wall, errPct, last.Sub(runStart).Seconds())
	if math.Abs(predicted-actual) > 0.15*actual {
		t.Errorf("forecast %.2fs is off the actual remaining %.2fs by %+.1f%%; want within ±15%%", predicted, actual, errPct)
	}

	// On the finished state: status and forecast, human and JSON.
	code, out, errs = shuffle(t, "status", "--state", stateDir)
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errs)
	}
	for _, want := range []string{"COPY STATE", "completed", "queued", "TYPE", "REMAINING", "Last command: run"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = shuffle(t, "status", "--state", stateDir, "--json")
	var ss forecast.Status
	if code != 0 || json.Unmarshal([]byte(out), &ss) != nil || ss.Schema != forecast.StatusSchema || ss.Completed != int64(included) || ss.Remaining != 0 {
		t.Errorf("status --json: exit %d, %s\n%s", code, errs, out)
	}
	chart := filepath.Join(dir, "chart.png")
	code, out, errs = shuffle(t, "forecast", "--state", stateDir, "--window", "8h", "--chart", chart)
	if code != 0 {
		t.Fatalf("forecast exited %d: %s", code, errs)
	}
	for _, want := range []string{"MODEL", "THROUGHPUT", "remaining time", "none", "Chart: " + chart} {
		if !strings.Contains(out, want) {
			t.Errorf("forecast output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(chart); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("--chart %s did not write a PNG: %v", chart, err)
	}
	t.Logf("forecast on the finished state:\n%s", out)
}

func TestStatusAndForecastRefuseAMissingState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing")
	for _, cmd := range []string{"status", "forecast"} {
		code, _, errs := shuffle(t, cmd, "--state", dir)
		if code != exitUsage || !strings.Contains(errs, "no shuffle state in") {
			t.Errorf("%s on a missing state: exit %d, %q", cmd, code, errs)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s created %s", cmd, dir)
		}
	}
	if code, _, errs := shuffle(t, "forecast", "--state", dir, "--max-in-flight", "0"); code != exitUsage {
		t.Errorf("--max-in-flight 0: exit %d, %q", code, errs)
	}
}
