package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

// A script that fails right after shuffle.config leaves no state
// directory behind (plan and run); one that fails after the inventory
// keeps the state, whose listing the next run resumes from.
func TestScriptErrorLeavesNoStateDir(t *testing.T) {
	workspace(t, 50)
	early := writeScript(t, "early.lua", "local inv = shuffle.inventory()", "error(\"stop here\")\nlocal inv = shuffle.inventory()")
	late := writeScript(t, "late.lua", "local en = shuffle.enrich()", "error(\"stop here\")\nlocal en = shuffle.enrich()")
	for _, cmd := range []string{"plan", "run"} {
		t.Run(cmd, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			args := []string{cmd, early, "--state", dir}
			if cmd == "run" {
				args = append(args, "--skip-check")
			}
			code, _, errs := shuffle(t, args...)
			if code != exitUsage || !strings.Contains(errs, "early.lua:") || !strings.Contains(errs, "stop here") {
				t.Fatalf("exit %d, want %d naming the script line: %s", code, exitUsage, errs)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the failed %s left the state directory %s (stat: %v)", cmd, dir, err)
			}
			// An existing state directory is never removed.
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if code, _, _ := shuffle(t, args...); code != exitUsage {
				t.Fatalf("second attempt: exit %d", code)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("a state directory that existed before was removed: %v", err)
			}
			os.RemoveAll(dir)
			args[1] = late
			code, _, errs = shuffle(t, args...)
			if code != exitUsage {
				t.Fatalf("late error: exit %d: %s", code, errs)
			}
			st, err := state.Open(dir)
			if err != nil {
				t.Fatalf("a state with a listing was not kept: %v", err)
			}
			defer st.Close()
			if has, err := st.HasRecords(); !has || err != nil {
				t.Errorf("the kept state has no records (%v)", err)
			}
		})
	}
}
