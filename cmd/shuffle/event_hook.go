package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/events"
)

// The on_event hook's limits: how long one delivery may take before it
// is killed, and how many events may wait for the hook before new ones
// are dropped (with a warning).
const (
	hookTimeout = 30 * time.Second
	hookQueue   = 256
)

// hookRunner runs the script's on_event command once per event, with
// the event's JSON on stdin, one at a time and in order, in its own
// goroutine: the run never waits for it. A delivery that fails is
// reported on stderr; one that runs past the timeout is killed and
// reported.
type hookRunner struct {
	cmd     []string
	kinds   map[events.Kind]bool // nil: every kind a hook may get
	timeout time.Duration
	stderr  io.Writer

	queue  chan events.Event
	done   chan struct{}
	ctx    context.Context // cancelled by close to kill a delivery still running
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	dropped int
}

// startHook starts the runner of cmd for kinds (all when empty), each
// delivery bounded by timeout.
func startHook(cmd, kinds []string, timeout time.Duration, stderr io.Writer) *hookRunner {
	h := &hookRunner{cmd: cmd, timeout: timeout, stderr: stderr,
		queue: make(chan events.Event, hookQueue), done: make(chan struct{})}
	if len(kinds) > 0 {
		h.kinds = map[events.Kind]bool{}
		for _, k := range kinds {
			h.kinds[events.Kind(k)] = true
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.loop()
	return h
}

// wants says whether the hook gets events of kind k.
func (h *hookRunner) wants(k events.Kind) bool {
	for _, s := range events.StreamOnly {
		if k == s {
			return false
		}
	}
	return h.kinds == nil || h.kinds[k]
}

// send queues e for the hook, if it wants it; it never blocks.
func (h *hookRunner) send(e events.Event) {
	if !h.wants(e.Kind) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	select {
	case h.queue <- e:
	default:
		h.dropped++
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event: %d events wait for %s already; the %s event of %s is dropped\n",
			hookQueue, h.name(), e.Kind, e.Time.Format(time.RFC3339))
	}
}

func (h *hookRunner) loop() {
	defer close(h.done)
	for e := range h.queue {
		if h.ctx.Err() == nil { // killed by close: the rest are dropped
			h.deliver(e)
		}
	}
}

func (h *hookRunner) name() string { return strings.Join(h.cmd, " ") }

// deliver runs the command once for e.
func (h *hookRunner) deliver(e events.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event: the %s event does not encode: %v\n", e.Kind, err)
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	c := exec.CommandContext(ctx, h.cmd[0], h.cmd[1:]...)
	c.Stdin = bytes.NewReader(append(b, '\n'))
	// Written only when the hook prints (not a ReaderFrom, which
	// touches the writer even for a silent hook).
	out := struct{ io.Writer }{h.stderr}
	c.Stdout, c.Stderr = out, out
	c.Env = append(os.Environ(), "SHUFFLE_EVENT_KIND="+string(e.Kind))
	// A killed hook's children may hold its output open: stop waiting
	// for them soon after.
	c.WaitDelay = 2 * time.Second
	err = c.Run()
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event %s: still running after %s for the %s event; killed (the run goes on)\n",
			h.name(), h.timeout, e.Kind)
	case h.ctx.Err() != nil:
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event %s: killed for the %s event as the run ended\n", h.name(), e.Kind)
	default:
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event %s failed for the %s event: %v (the run goes on)\n", h.name(), e.Kind, err)
	}
}

// close stops taking events and waits up to wait for those queued to
// be delivered; then it kills the delivery still running and drops the
// rest, saying so.
func (h *hookRunner) close(wait time.Duration) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.queue)
	h.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-h.done:
		return
	case <-t.C:
	}
	left := len(h.queue)
	h.cancel()
	<-h.done
	if left > 0 {
		fmt.Fprintf(h.stderr, "shuffle: warning: on_event %s: %d events not delivered: the hook took longer than %s after the run ended\n", h.name(), left, wait)
	}
}
