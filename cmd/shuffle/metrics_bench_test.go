//go:build unix

package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/progress"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// What one scrape of --metrics-addr costs on a real state: the
// collector over a state opened read-only, gathered through a registry
// as the HTTP handler does. SHUFFLE_BENCH_STATE names the state
// directory (make bench-approval-e2e with KEEP=1 leaves one of 1M RPs);
// the benchmark skips without it.
//
//	SHUFFLE_BENCH_STATE=/tmp/.../state go test -run '^$' -bench BenchmarkMetricsScrape -benchtime 1x ./cmd/shuffle/
//
// Three figures, each in wall and CPU seconds (the process's user and
// system time, every goroutine's): a cold scrape (the state's counters
// read), a cached scrape (within the counters' time to live), and the
// forecast a scrape has made in the background at most once a minute.

// storeSource is a metricsSource over a state opened outside a run.
type storeSource struct {
	st *state.Store
	p  *progress.Progress
}

func (s storeSource) Counts(ctx context.Context, now time.Time) (*forecast.Status, []forecast.StateCount, error) {
	return forecast.ReadCounts(ctx, s.st, now)
}

func (s storeSource) Forecast(ctx context.Context, o forecast.Options) (*forecast.Forecast, error) {
	return forecast.Make(ctx, s.st, o)
}

func (s storeSource) Progress() *progress.Progress { return s.p }
func (s storeSource) Calls() (map[string]awsclient.OpStats, []awsclient.OpErrorCount) {
	return nil, nil
}
func (s storeSource) Paused() (bool, time.Time, time.Duration) { return false, time.Time{}, 0 }
func (s storeSource) Window() copier.Window                    { return copier.Window{} }
func (s storeSource) MaxInFlight() int                         { return 0 }

// cpuTime is the process's user and system time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn and returns its wall and CPU time.
func measure(b *testing.B, fn func()) (wall, cpu time.Duration) {
	c0, t0 := cpuTime(b), time.Now()
	fn()
	return time.Since(t0), cpuTime(b) - c0
}

func BenchmarkMetricsScrape(b *testing.B) {
	dir := os.Getenv("SHUFFLE_BENCH_STATE")
	if dir == "" {
		b.Skip("SHUFFLE_BENCH_STATE is not set: the state directory to scrape (make bench-approval-e2e with KEEP=1 leaves one)")
	}
	st, err := state.OpenReadOnly(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rps, err := st.CountLive()
	if err != nil {
		b.Fatal(err)
	}
	const cachedScrapes = 100
	var coldWall, coldCPU, cachedWall, cachedCPU, fcWall, fcCPU time.Duration
	var samples int
	b.ResetTimer()
	for range b.N {
		c := newMetricsCollector(metricsRunInfo{version: "bench", command: "run", script: "migrate.lua", stateDir: dir, start: time.Now()})
		c.attach(storeSource{st: st, p: progress.New()})
		// The forecast is timed on its own below: no scrape starts one.
		c.fc.tried = time.Now()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		gather := func() {
			fams, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			samples = 0
			for _, f := range fams {
				samples += len(f.GetMetric())
			}
		}
		w, u := measure(b, gather)
		coldWall, coldCPU = coldWall+w, coldCPU+u
		readAt := c.counts.readAt
		if readAt.IsZero() {
			b.Fatal("the counters were not read")
		}
		w, u = measure(b, func() {
			for range cachedScrapes {
				gather()
			}
		})
		cachedWall, cachedCPU = cachedWall+w/cachedScrapes, cachedCPU+u/cachedScrapes
		if !c.counts.readAt.Equal(readAt) {
			b.Fatal("a cached scrape read the counters again")
		}
		w, u = measure(b, func() {
			c.fc.wg.Add(1)
			c.refreshForecast(forecast.Options{MaxInFlight: 100})
		})
		fcWall, fcCPU = fcWall+w, fcCPU+u
		if c.fc.f == nil {
			b.Fatal("no forecast made")
		}
		c.detach()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(rps), "rps")
	b.ReportMetric(float64(samples), "samples/scrape")
	b.ReportMetric(coldWall.Seconds()/n, "cold-wall-s")
	b.ReportMetric(coldCPU.Seconds()/n, "cold-cpu-s")
	b.ReportMetric(cachedWall.Seconds()*1e3/n, "cached-wall-ms")
	b.ReportMetric(cachedCPU.Seconds()*1e3/n, "cached-cpu-ms")
	b.ReportMetric(fcWall.Seconds()/n, "forecast-wall-s")
	b.ReportMetric(fcCPU.Seconds()/n, "forecast-cpu-s")
}
