package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shuffle-migrate/shuffle/testenv"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// scrape GETs url and parses the text exposition format.
func scrape(t *testing.T, url string) families {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: not the text format: %v", url, err)
	}
	return fams
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// sum adds the samples of name whose labels include want (name=value
// pairs); ok is false when there is none.
func (f families) sum(name string, want ...string) (v float64, ok bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if match {
			v += metricValue(m)
			ok = true
		}
	}
	return v, ok
}

// must is sum, failing the test when there is no such sample.
func (f families) must(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	v, ok := f.sum(name, want...)
	if !ok {
		t.Fatalf("the scrape has no %s%v", name, want)
	}
	return v
}

// liveStatus is what `shuffle status --json` says of the running run.
type liveStatus struct {
	Included  int64 `json:"included"`
	Completed int64 `json:"completed"`
}

func readLiveStatus(t *testing.T, dir string) liveStatus {
	t.Helper()
	code, out, errs := shuffle(t, "status", "--state", dir, "--json")
	var s liveStatus
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	return s
}

var metricsURL = regexp.MustCompile(`metrics: (http://127\.0\.0\.1:\d+/metrics)\n`)

// The operator's view of a run through --metrics-addr: scraped and
// parsed while the run copies, the numbers agree with status, the AWS
// calls and the window it was given; the endpoint goes with the run.
func TestMetricsOfARunningRun(t *testing.T) {
	// Copies twice as slow as the other live tests': the run must still
	// be copying after the checks below, on a busy machine too.
	workspaceWith(t, testenv.Options{RecoveryPoints: 300, CopySpeed: slowCopySpeed / 2})
	dir := filepath.Join(t.TempDir(), "state")
	script := fastCopyScript(t, "metrics.lua")
	deadline := time.Now().Add(3 * time.Hour).Truncate(time.Second)
	_, errb, done := runAsync(t, strings.NewReader(""), "run", script, "--state", dir, "--skip-check",
		"--metrics-addr", "127.0.0.1:0", "--until", deadline.Format(time.RFC3339))
	var url string
	waitFor(t, "the metrics URL on stderr", 30*time.Second, func() bool {
		m := metricsURL.FindStringSubmatch(errb.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, done, errb)

	f := scrape(t, url)
	abs, _ := filepath.Abs(dir)
	if _, ok := f.sum("shuffle_run_info", "command", "run", "script", script, "state_dir", abs); !ok {
		t.Errorf("shuffle_run_info does not name the run, its script and state %s: %v", abs, f["shuffle_run_info"])
	}
	// Once the copy step runs and a copy completed, the state's counts are there.
	waitFor(t, "completed copies in the metrics", 60*time.Second, func() bool {
		f = scrape(t, url)
		phase, _ := f.sum("shuffle_phase", "phase", "copy")
		n, _ := f.sum("shuffle_recovery_points", "state", "completed")
		return phase == 1 && n > 0
	}, done, errb)
	if v := f.must(t, "shuffle_window_deadline_timestamp_seconds", "cutoff", "soft"); v != float64(deadline.Unix()) {
		t.Errorf("window deadline %v, want %d (--until %s)", v, deadline.Unix(), deadline.Format(time.RFC3339))
	}
	if v := f.must(t, "shuffle_paused"); v != 0 {
		t.Errorf("shuffle_paused %v while the run copies", v)
	}

	// Against status at about the same time: what status said before
	// the scrape is at most what the scrape says, at most what it says
	// after. A read of the counters serves the scrapes of the next second,
	// or of ten times as long as it took: wait for it to go stale.
	readTook := time.Duration(f.must(t, "shuffle_state_read_duration_seconds") * float64(time.Second))
	time.Sleep(max(countsMinTTL, countsTTLFactor*readTook) + 200*time.Millisecond)
	before := readLiveStatus(t, dir)
	f = scrape(t, url)
	after := readLiveStatus(t, dir)
	completed := int64(f.must(t, "shuffle_recovery_points", "state", "completed"))
	if completed < before.Completed || completed > after.Completed || completed == 0 {
		t.Errorf("the metrics count %d completed copies; status said %d before and %d after", completed, before.Completed, after.Completed)
	}
	if total := int64(f.must(t, "shuffle_recovery_points")); total != before.Included || total != after.Included {
		t.Errorf("recovery points by state sum to %d; status counts %d (then %d) included", total, before.Included, after.Included)
	}
	if n := f.must(t, "shuffle_copies_completed_total"); n < 1 || int64(n) > after.Included {
		t.Errorf("shuffle_copies_completed_total %v, want 1..%d", n, after.Included)
	}
	if b := f.must(t, "shuffle_copied_bytes_total"); b <= 0 {
		t.Errorf("shuffle_copied_bytes_total %v", b)
	}
	if n := f.must(t, "shuffle_copy_jobs_started_total"); n < f.must(t, "shuffle_copies_completed_total") {
		t.Errorf("%v jobs started, fewer than completed", n)
	}
	for _, op := range []string{"ListCopyJobs", "StartCopyJob"} {
		if n, _ := f.sum("shuffle_aws_calls_total", "operation", op); n < 1 {
			t.Errorf("no %s among the AWS calls: %v", op, f["shuffle_aws_calls_total"])
		}
	}
	in, limit, ceiling := f.must(t, "shuffle_copy_jobs_in_flight"), f.must(t, "shuffle_copy_jobs_in_flight_cap"), f.must(t, "shuffle_copy_jobs_in_flight_max")
	if in > limit || limit > ceiling || ceiling != 100 {
		t.Errorf("in flight %v, cap %v, max %v: want in flight <= cap <= max = 100 (the script's max_in_flight)", in, limit, ceiling)
	}
	if fam := f["shuffle_copy_vault_jobs_in_flight"]; fam == nil || len(fam.Metric) == 0 {
		t.Errorf("no jobs in flight by vault")
	}
	if _, ok := f.sum("shuffle_lag_recovery_points"); !ok {
		t.Errorf("no lag by vault")
	}
	if _, ok := f.sum("shuffle_last_progress_timestamp_seconds"); !ok {
		t.Errorf("no last progress")
	}
	// The forecast is made in the background after a scrape.
	waitFor(t, "the forecast in the metrics", 60*time.Second, func() bool {
		_, ok := scrape(t, url).sum("shuffle_forecast_remaining_seconds")
		return ok
	}, done, errb)

	waitRunOK(t, done, errb, "")
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("the metrics endpoint still answers after the run ended")
	}
}

// A malformed --metrics-addr is a usage error and one that cannot be
// listened on a run-time error, both before the run does anything.
func TestMetricsAddrErrors(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, tc := range []struct {
		addr string
		code int
		want string
	}{
		{"9464", exitUsage, "want HOST:PORT"},
		{"127.0.0.1:http-alt", exitUsage, "is not a number from 0 to 65535"},
		{"127.0.0.1:70000", exitUsage, "is not a number from 0 to 65535"},
		{held.Addr().String(), exitError, "cannot listen"},
	} {
		dir := filepath.Join(t.TempDir(), "state")
		code, _, errs := shuffle(t, "run", "nothing.lua", "--state", dir, "--metrics-addr", tc.addr)
		if code != tc.code || !strings.Contains(errs, "--metrics-addr") || !strings.Contains(errs, tc.want) {
			t.Errorf("--metrics-addr %s: exit %d (want %d)\n%s(want %q)", tc.addr, code, tc.code, errs, tc.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("--metrics-addr %s: the state directory was made before the address was refused", tc.addr)
		}
	}
	if code, out, _ := shuffle(t, "run", "--help"); code != 0 || !strings.Contains(out, "--metrics-addr") || !strings.Contains(out, "docs/monitoring.md") {
		t.Errorf("run --help: exit %d, want --metrics-addr and where it is documented\n%s", code, out)
	}
}
