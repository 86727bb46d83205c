package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
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

// check, backup, restore and run --snapshots, end to end: a damaged
// state is restored from a backup and from a snapshot, and the runs on
// the restored state start no copy again (the emulator never remembers
// a token, so a second StartCopyJob would be a second job).
func TestStateCheckBackupRestore(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 80, CopySpeed: 1e6, IdempotencyMemory: -1})
	script := fastCopyScript(t, "backup.lua")
	dir := filepath.Join(t.TempDir(), "state")
	for i := 0; i < 3; i++ {
		if code, out, errs := shuffle(t, "run", script, "--state", dir, "--skip-check", "--snapshots", "2"); code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", i, code, out, errs)
		}
	}
	snaps, err := state.Snapshots(dir)
	if err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots after 3 runs with --snapshots 2: %v (%v)", snaps, err)
	}
	code, out, errs := shuffle(t, "state", "check", "--state", dir)
	if code != 0 || !strings.Contains(out, "No problems found") {
		t.Fatalf("state check on a good state: exit %d\n%s%s", code, out, errs)
	}
	n := 0
	func() {
		st, err := state.OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_ = st.ScanRPs(func(*state.RP) error { n++; return nil })
	}()
	if want := fmt.Sprintf("%-8s %10d records", "rp", n); n == 0 || !strings.Contains(out, want) {
		t.Errorf("state check does not count %d RP records (%q):\n%s", n, want, out)
	}
	backup := filepath.Join(t.TempDir(), "state.backup")
	if code, out, errs := shuffle(t, "state", "backup", backup, "--state", dir); code != 0 || !strings.Contains(out, backup) {
		t.Fatalf("state backup: exit %d\n%s%s", code, out, errs)
	}

	damage := func() {
		if err := os.Truncate(filepath.Join(dir, "badger", "MANIFEST"), 8); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := shuffle(t, "status", "--state", dir); code != exitError || !strings.Contains(errs, "badger/MANIFEST") {
			t.Fatalf("status on a cut MANIFEST: exit %d: %s", code, errs)
		}
		if code, out, _ := shuffle(t, "state", "check", "--state", dir); code != exitError {
			t.Fatalf("state check on a cut MANIFEST: exit %d: %s", code, out)
		}
	}
	for _, from := range []string{backup, snaps[1]} {
		damage()
		if code, _, errs := shuffle(t, "state", "restore", from, "--state", dir); code != exitUsage || !strings.Contains(errs, "--force") {
			t.Fatalf("restore over a state without --force: exit %d: %s", code, errs)
		}
		code, out, errs := shuffle(t, "state", "restore", from, "--state", dir, "--force")
		if code != 0 || !strings.Contains(out, "before-restore") {
			t.Fatalf("restore --force from %s: exit %d\n%s%s", from, code, out, errs)
		}
		if code, out, errs := shuffle(t, "state", "check", "--state", dir); code != 0 {
			t.Fatalf("state check after restore: exit %d\n%s%s", code, out, errs)
		}
		if code, _, errs := shuffle(t, "run", script, "--state", dir, "--skip-check", "--snapshots", "2"); code != 0 || !strings.Contains(errs, "copy: 0 started") {
			t.Fatalf("run after restore from %s: exit %d\n%s", from, code, errs)
		}
	}
	if s, _ := state.Snapshots(dir); len(s) != 2 {
		t.Errorf("the restored state keeps %d snapshots, want 2 (moved over, then pruned)", len(s))
	}
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("%d copy jobs for %s, want 1", n, k)
		}
	}

	// A value garbled in place: check reads every record and says which.
	// Which bytes hold a live value depends on the order of the writes,
	// so it garbles 512 bytes at four places spread over the file.
	vlog, size := "", int64(0)
	ents, _ := os.ReadDir(filepath.Join(dir, "badger"))
	for _, e := range ents {
		if i, _ := e.Info(); strings.HasSuffix(e.Name(), ".vlog") && i.Size() > 4096 {
			vlog, size = filepath.Join(dir, "badger", e.Name()), i.Size()
		}
	}
	if vlog == "" {
		t.Fatal("no value log with data")
	}
	f, err := os.OpenFile(vlog, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int64{2048, size / 4, size / 2, size * 3 / 4} {
		f.WriteAt(make([]byte, 512), at)
	}
	f.Close()
	code, out, errs = shuffle(t, "state", "check", "--state", dir)
	if code != exitError || !strings.Contains(out, filepath.Base(vlog)) || !strings.Contains(errs, "is damaged") {
		t.Errorf("state check on a garbled value log: exit %d\n%s%s", code, out, errs)
	}
}

// A snapshot taken part way through a migration knows nothing of the
// copies started after it. Restored, the state must sweep AWS again
// before its first StartCopyJob, or it would copy those recovery
// points a second time (the emulator never remembers a token here).
func TestRestoredStateSweepsAWSAgain(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 80, CopySpeed: 1e6, IdempotencyMemory: -1})
	first := writeScript(t, "partial.lua", "shuffle.copy({ max_in_flight = 100 })",
		"shuffle.copy({ max_in_flight = 3, poll_min = 0.01, wait = false })")
	full := fastCopyScript(t, "full.lua")
	dir := filepath.Join(t.TempDir(), "state")
	if code, out, errs := shuffle(t, "run", first, "--state", dir, "--skip-check"); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	backup := filepath.Join(t.TempDir(), "part-way.backup")
	if code, out, errs := shuffle(t, "state", "backup", backup, "--state", dir); code != 0 {
		t.Fatalf("state backup: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs := shuffle(t, "run", full, "--state", dir, "--skip-check")
	if code != 0 || strings.Contains(errs, "copy: 0 started") {
		t.Fatalf("the second run should start the copies the first left: exit %d\n%s", code, errs)
	}
	if code, out, errs := shuffle(t, "state", "restore", backup, "--state", dir, "--force"); code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := shuffle(t, "run", full, "--state", dir, "--skip-check"); code != 0 || !strings.Contains(errs, "copy: 0 started") {
		t.Fatalf("run after restoring the part-way backup: exit %d\n%s", code, errs)
	}
	jobs := env.Counters().Snapshot().JobsCreated
	if len(jobs) == 0 {
		t.Fatal("no copy job was created at all")
	}
	for k, n := range jobs {
		if n != 1 {
			t.Errorf("%d copy jobs for %s, want 1", n, k)
		}
	}
}
