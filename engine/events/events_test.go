package events

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// The JSON of each kind is what docs/events.md shows: the common
// fields, then only the kind's own.
func TestEventJSON(t *testing.T) {
	common := `"schema":"shuffle.event/v1","time":"2026-12-07T10:00:00Z",`
	for _, c := range []struct {
		name string
		e    Event
		want string
	}{
		{"started", func() Event {
			e := New(Started, t0.In(time.FixedZone("x", 3600)))
			e.RunID, e.StateDir, e.Script = "run-20261207T100000Z", "state", "migrate.lua"
			e.Window = &Window{Deadline: t0.Add(time.Hour), Cutoff: "soft"}
			return e
		}(), `{` + common + `"kind":"started","run_id":"run-20261207T100000Z","state_dir":"state","script":"migrate.lua","window":{"deadline":"2026-12-07T11:00:00Z","cutoff":"soft"}}`},
		{"progress", func() Event {
			e := New(Progress, t0)
			e.Phase = "copy"
			e.Counts = &Counts{Total: 10, Completed: 4, CompletedNow: 3, Failed: 1, InFlight: 2}
			return e
		}(), `{` + common + `"kind":"progress","phase":"copy","counts":{"total":10,"completed":4,"completed_now":3,"failed":1,"in_flight":2,"waiting_retry":0,"bytes_done":0,"bytes_total":0}}`},
		{"vault-created", func() Event {
			e := New(VaultCreated, t0)
			e.Vault = &Vault{SourceVault: "a", DestinationVault: "b", Arn: "arn:b"}
			return e
		}(), `{` + common + `"kind":"vault-created","vault":{"source_vault":"a","destination_vault":"b","arn":"arn:b"}}`},
		{"failure-burst", func() Event {
			e := New(FailureBurst, t0)
			e.Burst = &Burst{Failures: 3, Minutes: 10, First: t0.Add(-time.Minute), LastReason: "x", ByReason: map[string]int{"x": 3}}
			return e
		}(), `{` + common + `"kind":"failure-burst","burst":{"failures":3,"minutes":10,"first":"2026-12-07T09:59:00Z","last_reason":"x","by_reason":{"x":3}}}`},
		{"run-finished", func() Event {
			e := New(RunFinished, t0)
			e.Outcome = &Outcome{Result: WindowEnded, ExitCode: 10, Error: "the change window ended", ElapsedS: 12.5}
			return e
		}(), `{` + common + `"kind":"run-finished","outcome":{"result":"window-ended","exit_code":10,"error":"the change window ended","elapsed_s":12.5}}`},
	} {
		b, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, b, c.want)
		}
	}
}

func TestParseHookKind(t *testing.T) {
	if k, err := ParseHookKind("window-end"); err != nil || k != WindowEnd {
		t.Errorf("window-end: %q, %v", k, err)
	}
	if _, err := ParseHookKind("progress"); err == nil || !strings.Contains(err.Error(), "only to `shuffle run --json`") {
		t.Errorf("progress: %v", err)
	}
	if _, err := ParseHookKind("window_end"); err == nil || !strings.Contains(err.Error(), "window-end") {
		t.Errorf("window_end: %v; want the error to list the kinds", err)
	}
	for _, k := range HookKinds() {
		if k == Progress || k == Summary {
			t.Errorf("HookKinds has %s", k)
		}
	}
}

// N failures in M minutes fire once, not once per failure after; the
// detector re-arms once the failures within the window fall below N,
// and fires again at the next burst.
func TestBurstDetector(t *testing.T) {
	d := NewBurstDetector(3, 10*time.Minute)
	fires := 0
	add := func(at time.Duration, reason string) bool {
		b, ok := d.Add(t0.Add(at), reason)
		if ok {
			fires++
			if b.Failures != 3 || b.Minutes != 10 || b.LastReason != reason {
				t.Errorf("burst %+v", b)
			}
		}
		return ok
	}
	// Two failures, then a third 11 minutes after the first: no burst
	// (only two within any 10 minutes).
	add(0, "a")
	add(5*time.Minute, "a")
	if add(11*time.Minute, "b") {
		t.Fatal("fired for 3 failures over 11 minutes")
	}
	// A fourth within 10 minutes of the 2nd and 3rd: burst.
	if !add(12*time.Minute, "b") {
		t.Fatal("no burst for 3 failures within 10 minutes")
	}
	// More failures in the same burst: quiet.
	for i := range 10 {
		if add(12*time.Minute+time.Duration(i)*time.Second, "b") {
			t.Fatalf("fired again within the burst (failure %d)", i)
		}
	}
	// 30 minutes later the window has cleared: one failure re-arms,
	// the third fires again.
	add(50*time.Minute, "c")
	add(51*time.Minute, "c")
	if !add(52*time.Minute, "c") {
		t.Fatal("no second burst after the window cleared")
	}
	if fires != 2 {
		t.Errorf("fired %d times, want 2", fires)
	}
}

func TestBurstDetectorByReason(t *testing.T) {
	d := NewBurstDetector(0, 0)
	if d.String() != "20 failures in 10m0s" {
		t.Errorf("defaults: %s", d)
	}
	var b Burst
	var ok bool
	for i := range 20 {
		r := "a"
		if i%4 == 0 {
			r = "b"
		}
		b, ok = d.Add(t0.Add(time.Duration(i)*time.Second), r)
	}
	if !ok || b.ByReason["a"] != 15 || b.ByReason["b"] != 5 || !b.First.Equal(t0) {
		t.Errorf("burst %+v, %v", b, ok)
	}
}

// docs/events.md stays true to the code: every kind has its section,
// and every example line decodes into an Event with no field the code
// does not have, with the v1 schema and the kind of its section.
func TestEventsDocMatchesTheCode(t *testing.T) {
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	headed := map[string]bool{} // the kinds the sections' titles name
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "### ") {
			for _, k := range sectionKinds(line) {
				headed[k] = true
			}
		}
	}
	for _, k := range Kinds {
		if !headed[string(k)] {
			t.Errorf("docs/events.md has no section for the kind %s", k)
		}
	}
	var section []string
	examples := 0
	inJSON := false
	for i, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "### "):
			section = sectionKinds(line)
		case line == "```json":
			inJSON = true
		case line == "```":
			inJSON = false
		case inJSON && strings.HasPrefix(line, "{"):
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			var e Event
			if err := dec.Decode(&e); err != nil {
				t.Errorf("docs/events.md line %d: %v\n%s", i+1, err, line)
				continue
			}
			examples++
			if e.Schema != Schema || !slices.Contains(section, string(e.Kind)) {
				t.Errorf("docs/events.md line %d: schema %q, kind %q under the section of %q", i+1, e.Schema, e.Kind, section)
			}
		}
	}
	if examples < len(Kinds) {
		t.Errorf("docs/events.md has %d example events for %d kinds", examples, len(Kinds))
	}
}

// sectionKinds is the kinds a section title names in backquotes:
// "### `paused`, `resumed`" names two.
func sectionKinds(title string) []string {
	var kinds []string
	parts := strings.Split(title, "`")
	for i := 1; i < len(parts); i += 2 {
		kinds = append(kinds, parts[i])
	}
	return kinds
}
