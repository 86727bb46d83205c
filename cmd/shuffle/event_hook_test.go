package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/events"
)

// The hook gets each event it asked for as one JSON line on stdin, in
// order, with SHUFFLE_EVENT_KIND set; progress never reaches it.
func TestHookGetsEventsOnStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	var errb syncBuffer
	h := startHook([]string{"sh", "-c", `cat >> "$1"; echo "kind=$SHUFFLE_EVENT_KIND" >> "$1"`, "hook", out},
		[]string{"window-end", "run-finished"}, 20*time.Second, &errb)
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, k := range []events.Kind{events.Started, events.Progress, events.WindowEnd, events.Summary, events.RunFinished} {
		e := events.New(k, at)
		e.RunID = "run-x"
		h.send(e)
	}
	h.close(time.Minute)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the hook wrote nothing: %v; stderr:\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[1] != "kind=window-end" || lines[3] != "kind=run-finished" {
		t.Fatalf("the hook got:\n%s", b)
	}
	for i, want := range []events.Kind{events.WindowEnd, events.RunFinished} {
		var e events.Event
		if err := json.Unmarshal([]byte(lines[2*i]), &e); err != nil || e.Kind != want || e.Schema != events.Schema || e.RunID != "run-x" || !e.Time.Equal(at) {
			t.Errorf("line %d: %s (%v); want the %s event", 2*i+1, lines[2*i], err, want)
		}
	}
	if errb.String() != "" {
		t.Errorf("stderr: %s", errb.String())
	}
}

// A hook that fails is reported on stderr and the next event is still
// delivered; one that hangs is killed after the timeout, reported, and
// the events after it are delivered.
func TestHookFailingAndHanging(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	var errb syncBuffer
	script := `kind=$SHUFFLE_EVENT_KIND
case $kind in
paused) exit 3 ;;
resumed) exec sleep 60 ;;
esac
echo "$kind" >> "$1"`
	h := startHook([]string{"sh", "-c", script, "hook", out}, nil, 500*time.Millisecond, &errb)
	start := time.Now()
	for _, k := range []events.Kind{events.Paused, events.Resumed, events.RunFinished} {
		h.send(events.New(k, start))
	}
	h.close(time.Minute)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the hanging hook held the runner for %s; the timeout is 500ms", took)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "run-finished\n" {
		t.Errorf("the hook recorded %q; want only run-finished", b)
	}
	errs := errb.String()
	if !strings.Contains(errs, "on_event sh -c") || !strings.Contains(errs, "failed for the paused event: exit status 3 (the run goes on)") {
		t.Errorf("stderr does not report the failing hook:\n%s", errs)
	}
	if !strings.Contains(errs, "still running after 500ms for the resumed event; killed (the run goes on)") {
		t.Errorf("stderr does not report the hung hook killed:\n%s", errs)
	}
}

// Closing waits only so long: a hook still running then is killed and
// what is still queued is reported as not delivered.
func TestHookCloseKillsWhatIsLeft(t *testing.T) {
	var errb syncBuffer
	h := startHook([]string{"sleep", "60"}, nil, time.Minute, &errb)
	for range 3 {
		h.send(events.New(events.Paused, time.Now()))
	}
	start := time.Now()
	h.close(300 * time.Millisecond)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("close took %s", took)
	}
	if errs := errb.String(); !strings.Contains(errs, "killed for the paused event as the run ended") || !strings.Contains(errs, "2 events not delivered") {
		t.Errorf("stderr:\n%s", errs)
	}
	h.send(events.New(events.Paused, time.Now())) // after close: ignored, no panic
}
