package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/events"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// hookedScript is fastCopyScript with script fields added to
// shuffle.config (on_event, failure_burst, ...).
func hookedScript(t *testing.T, name, fields string) string {
	t.Helper()
	script := fastCopyScript(t, name)
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	hooked := strings.Replace(string(b), "copy_role =", fields+"\n  copy_role =", 1)
	if hooked == string(b) {
		t.Fatal("could not add the fields to the script")
	}
	if err := os.WriteFile(script, []byte(hooked), 0o644); err != nil {
		t.Fatal(err)
	}
	return script
}

// recorder is an on_event command that appends what it gets on stdin
// to path, and the events it recorded.
func recorder(path string) string {
	return `on_event = { "sh", "-c", "cat >> ` + path + `" },`
}

// parseEvents parses one event a line; every line must be one.
func parseEvents(t *testing.T, what, text string) []events.Event {
	t.Helper()
	var out []events.Event
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		var e events.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Schema != events.Schema || e.Kind == "" || e.Time.IsZero() {
			t.Fatalf("%s line %d is not an event (%v): %q", what, i+1, err, line)
		}
		out = append(out, e)
	}
	return out
}

func kindsOf(es []events.Event) []events.Kind {
	var ks []events.Kind
	for _, e := range es {
		ks = append(ks, e.Kind)
	}
	return ks
}

func countKind(es []events.Event, k events.Kind) int {
	n := 0
	for _, e := range es {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// `shuffle run --json` writes only events to stdout: started first,
// progress, a vault-created per vault it creates, run-finished, and the
// summary last with the run report's counts. The script's on_event
// hook gets the same events but progress and summary, in the same
// order.
func TestRunJSONEventStream(t *testing.T) {
	workspace(t, 200)
	stateDir := filepath.Join(t.TempDir(), "state")
	hookOut := filepath.Join(t.TempDir(), "hook.jsonl")
	script := hookedScript(t, "json.lua", recorder(hookOut))
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check", "--json", "--progress-interval", "100ms")
	if code != 0 {
		t.Fatalf("run exited %d\n%s%s", code, out, errs)
	}
	es := parseEvents(t, "stdout", out)
	kinds := kindsOf(es)
	if kinds[0] != events.Started || kinds[len(kinds)-1] != events.Summary || kinds[len(kinds)-2] != events.RunFinished {
		t.Fatalf("stdout kinds %v: want started first, run-finished then summary last", kinds)
	}
	if countKind(es, events.Started) != 1 || countKind(es, events.Progress) == 0 || countKind(es, events.VaultCreated) == 0 {
		t.Errorf("stdout kinds %v: want one started, progress and vault-created", kinds)
	}
	if m := es[0].Migration; m == nil || m.SourceAccount != "111111111111" || m.DestinationAccount != "222222222222" || m.Region != "us-east-1" {
		t.Errorf("started: migration %+v", es[0].Migration)
	}
	for _, e := range es {
		if e.Script != script || e.StateDir != stateDir || !strings.HasPrefix(e.RunID, "run-") || e.Counts == nil {
			t.Fatalf("event %s lacks the run's script, state, id or counts: %+v", e.Kind, e)
		}
		if e.Kind == events.VaultCreated && (e.Vault == nil || e.Vault.SourceVault == "" || e.Vault.Arn == "") {
			t.Errorf("vault-created without its vault: %+v", e.Vault)
		}
	}
	// The summary's counts are the run report's.
	sum := es[len(es)-1]
	reports, _ := filepath.Glob(filepath.Join(stateDir, "reports", sum.RunID+".json"))
	if len(reports) != 1 {
		t.Fatalf("no run report named by the run id %s", sum.RunID)
	}
	rep := readRunReport(t, reports[0])
	c := sum.Copy
	if c == nil || sum.Outcome == nil || sum.Outcome.Result != events.Done || sum.Outcome.ExitCode != 0 {
		t.Fatalf("summary: outcome %+v, copy %+v", sum.Outcome, c)
	}
	if c.Completed != rep.Copy.Completed || c.Started != rep.Copy.Started || c.Failed != rep.Copy.Failed || c.Queued != rep.Copy.Queued ||
		c.Bytes != rep.Copy.Bytes || c.Completed != rep.States["completed"] || c.Completed == 0 {
		t.Errorf("summary copy %+v; the run report says %+v (states %v)", c, rep.Copy, rep.States)
	}
	if last := es[len(es)-2]; last.Counts.Completed != c.Completed {
		t.Errorf("the counts of run-finished say %d completed, its summary %d", last.Counts.Completed, c.Completed)
	}
	// The script's own output went to stderr.
	if !strings.Contains(errs, "inventory: ") || !strings.Contains(errs, "copy: ") {
		t.Errorf("stderr lacks the script's and the summary's lines:\n%s", errs)
	}

	// The hook: the same events, but progress and summary.
	hb, err := os.ReadFile(hookOut)
	if err != nil {
		t.Fatalf("the hook recorded nothing: %v\n%s", err, errs)
	}
	var want []events.Kind
	for _, k := range kinds {
		if k != events.Progress && k != events.Summary {
			want = append(want, k)
		}
	}
	if got := kindsOf(parseEvents(t, "hook", string(hb))); !slices.Equal(got, want) {
		t.Errorf("the hook got %v; want %v", got, want)
	}
}

// A run whose change window ends, with copy jobs failing, runs the
// on_event hook for the kinds it asked for: one failure-burst however
// many fail, window-end, and run-finished with exit 10; stdout keeps the
// text output without --json.
func TestEventHookWindowEndAndFailureBurst(t *testing.T) {
	workspaceWith(t, testenv.Options{RecoveryPoints: 600, CopySpeed: 5e3, Faults: &testenv.Faults{CopyFailRate: 0.5}})
	stateDir := filepath.Join(t.TempDir(), "state")
	hookOut := filepath.Join(t.TempDir(), "hook.jsonl")
	script := hookedScript(t, "hook.lua", recorder(hookOut)+`
  on_event_kinds = { "failure-burst", "window-end", "run-finished" },
  failure_burst = { failures = 3, minutes = 10 },`)
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check", "--window", "8s", "--progress-interval", "0")
	if code != exitWindow {
		t.Fatalf("run exited %d, want %d (window ended)\n%s%s", code, exitWindow, out, errs)
	}
	if !strings.Contains(out, "inventory: ") || strings.Contains(out, `"schema"`) {
		t.Errorf("stdout without --json is not the usual text:\n%s", out)
	}
	hb, err := os.ReadFile(hookOut)
	if err != nil {
		t.Fatalf("the hook recorded nothing: %v\n%s", err, errs)
	}
	es := parseEvents(t, "hook", string(hb))
	if got := kindsOf(es); !slices.Equal(got, []events.Kind{events.FailureBurst, events.WindowEnd, events.RunFinished}) {
		t.Fatalf("the hook got %v; want one failure-burst, window-end, run-finished\n%s", got, errs)
	}
	if b := es[0].Burst; b == nil || b.Failures != 3 || b.Minutes != 10 || b.LastReason == "" || b.First.IsZero() {
		t.Errorf("failure-burst: %+v", es[0].Burst)
	}
	t.Logf("failure-burst: %+v; run-finished copy %+v", es[0].Burst, es[2].Copy)
	if w := es[1].Window; w == nil || w.Deadline.IsZero() || w.Cutoff != "soft" || w.Left == nil {
		t.Errorf("window-end: %+v", es[1].Window)
	}
	if o := es[2].Outcome; o == nil || o.Result != events.WindowEnded || o.ExitCode != exitWindow || !strings.Contains(o.Error, "change window ended") {
		t.Errorf("run-finished: %+v", es[2].Outcome)
	}
	if es[2].Copy == nil || es[2].Copy.Stopped != "deadline" {
		t.Errorf("run-finished: copy %+v", es[2].Copy)
	}
}

// Bad on_event values stop `shuffle run` before anything is written,
// naming the script and the field.
func TestRunRefusesBadOnEvent(t *testing.T) {
	workspace(t, 50)
	stateDir := filepath.Join(t.TempDir(), "state")
	script := hookedScript(t, "badhook.lua", `on_event = { "notify" }, on_event_kinds = { "progress" },`)
	code, out, errs := shuffle(t, "run", script, "--state", stateDir, "--skip-check", "--json")
	if code != exitUsage {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(errs, script+":") || !strings.Contains(errs, `on_event_kinds[1] "progress" goes only to `+"`shuffle run --json`") {
		t.Errorf("stderr does not name the script and the field:\n%s", errs)
	}
	if _, err := os.Stat(stateDir); err == nil {
		t.Errorf("the state directory was created")
	}
	t.Logf("stdout: %s", out)
}

// Paused and resumed reach --json when the credentials lapse and come
// back.
func TestRunJSONPausedAndResumed(t *testing.T) {
	_, _, out, errb, done := pauseRun(t, strings.NewReader(""), "--auto-resume", "--json", "--progress-interval", "0")
	waitExit(t, done, out, errb)
	es := parseEvents(t, "stdout", out.String())
	kinds := kindsOf(es)
	pi, ri := slices.Index(kinds, events.Paused), slices.Index(kinds, events.Resumed)
	if pi < 0 || ri < pi {
		t.Fatalf("stdout kinds %v: want paused, then resumed", kinds)
	}
	p, r := es[pi].Pause, es[ri].Pause
	if p == nil || (p.Profile != "source" && p.Profile != "destination") || p.Code == "" || p.TokenExpires == nil {
		t.Errorf("paused: %+v", p)
	}
	if r == nil || r.Profile != p.Profile || r.ResumedBy != "auto-resume" || r.PausedS < 0.5 {
		t.Errorf("resumed: %+v", r)
	}
	if o := es[len(es)-1].Outcome; o == nil || o.PausedS < 0.5 {
		t.Errorf("summary outcome %+v: want the time paused", o)
	}
}
