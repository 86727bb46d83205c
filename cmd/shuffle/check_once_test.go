package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine"
	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// TestCheckCLIPrintsEachFindingOnce: the text output of `shuffle check`
// names every finding of its --json output exactly once, warnings and
// blocking findings (with their why and fix) as well as info ones, and
// no line of the findings is printed twice.
func TestCheckCLIPrintsEachFindingOnce(t *testing.T) {
	workspace(t, 50)
	for _, args := range [][]string{
		{"check", "examples/migrate.lua"},
		{"check", "examples/migrate.lua", "--source-profile", "source-readonly"},
	} {
		code, out, errs := shuffle(t, append(args, "--json")...)
		if code != exitOK && code != exitBlocking {
			t.Fatalf("%v --json exited %d:\n%s", args, code, errs)
		}
		var r engine.CheckReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("--json is not JSON: %v\n%s", err, out)
		}
		code, out, errs = shuffle(t, args...)
		if code != exitOK && code != exitBlocking {
			t.Fatalf("%v exited %d:\n%s", args, code, errs)
		}
		nonInfo, want := 0, map[string]int{} // what -> findings that say it (one per account, say)
		for _, f := range r.Findings {
			if f.Severity != finding.Info {
				nonInfo++
			}
			want[f.What]++
		}
		for what, w := range want {
			if n := strings.Count(out, what); n != w {
				t.Errorf("%v: %q is printed %d times, want %d (once per finding):\n%s", args, what, n, w, out)
			}
		}
		if nonInfo == 0 {
			t.Fatalf("%v: no warning or blocking finding to print; the test needs one:\n%s", args, out)
		}
		findings, _, _ := strings.Cut(out, "\nCOMPLIANCE (")
		seen := map[string]bool{}
		for _, line := range strings.Split(findings, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "why: ") || strings.HasPrefix(line, "fix: ") {
				continue // several findings may share the same why or fix
			}
			if seen[line] {
				t.Errorf("%v: line printed twice: %q", args, line)
			}
			seen[line] = true
		}
	}
}
