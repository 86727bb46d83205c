package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/copier"
)

// `shuffle run --metrics-addr`: a Prometheus endpoint for the run
// (docs/monitoring.md). It listens before the run does anything else,
// so that a bad address fails the command at once, and serves until the
// run ends; the collector (metrics_collector.go) reads the engine's
// snapshots at scrape time.

// metricsFlags is the --metrics-addr flag.
type metricsFlags struct{ addr string }

func (f *metricsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics while the run runs, e.g. 127.0.0.1:9464 (:9464 listens on every interface; port 0 picks a free port); see docs/monitoring.md")
	complete(cmd, "metrics-addr", cobra.NoFileCompletions) // an address, not a file
}

// metricsServer serves a run's /metrics. A nil *metricsServer (no
// --metrics-addr) does nothing.
type metricsServer struct {
	srv  *http.Server
	col  *metricsCollector
	done chan struct{}
}

// checkMetricsAddr says what is wrong with a --metrics-addr value: it
// must be HOST:PORT with a numeric port (HOST may be empty).
func checkMetricsAddr(addr string) error {
	want := "want HOST:PORT, e.g. 127.0.0.1:9464, or :9464 for every interface (port 0 picks a free port)"
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--metrics-addr %q: %v; %s", addr, err, want)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usagef("--metrics-addr %q: the port %q is not a number from 0 to 65535; %s", addr, port, want)
	}
	return nil
}

// listen checks --metrics-addr, listens on it and starts serving; it
// says the URL on w (with the port the system chose for port 0). A
// malformed address is a usage error (exit 2); one that cannot be
// listened on, a run-time error (exit 1).
func (f *metricsFlags) listen(w io.Writer, info metricsRunInfo) (*metricsServer, error) {
	if f.addr == "" {
		return nil, nil
	}
	if err := checkMetricsAddr(f.addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: cannot listen: %w; choose another address or port (another program or shuffle run may hold it), or leave --metrics-addr out", f.addr, err)
	}
	col := newMetricsCollector(info)
	reg := newMetricsRegistry(col)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "shuffle run: Prometheus metrics at /metrics (docs/monitoring.md)")
	})
	m := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, col: col, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(w, "warning: the metrics endpoint stopped: %v\n", err)
		}
	}()
	fmt.Fprintf(w, "metrics: http://%s/metrics\n", ln.Addr())
	return m, nil
}

// newMetricsRegistry is what /metrics serves: col, and the Go runtime's
// and the process's metrics.
func newMetricsRegistry(col prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// attach has the metrics read the session (its progress, AWS calls,
// pause state and, once the script opened it, its state) and the run's
// change window. The function it returns stops reading them: call it
// before the session's state is closed.
func (m *metricsServer) attach(s *engine.Session, window copier.Window) (detach func()) {
	if m == nil {
		return func() {}
	}
	m.col.attach(sessionSource{s: s, window: window})
	return m.col.detach
}

// Close stops serving (a scrape in progress gets a few seconds to end).
func (m *metricsServer) Close() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	<-m.done
}

// metricsInfo describes this command for shuffle_run_info.
func metricsInfo(command, script, stateDir string) metricsRunInfo {
	info, _ := debug.ReadBuildInfo()
	ver := version
	if ver == "" && info != nil {
		ver = info.Main.Version
	}
	if ver == "" {
		ver = "(devel)"
	}
	rev := commit
	if rev == "" {
		rev = vcsRevision(info)
	}
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	return metricsRunInfo{version: ver, commit: rev, command: command, script: script, stateDir: stateDir, start: time.Now()}
}
