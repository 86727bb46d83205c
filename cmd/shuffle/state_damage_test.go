package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/state"
	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// damageCase is one seeded damage to one file of a state image.
type damageCase struct {
	seed   uint64
	image  string // "clean" (closed) or "crash" (copied while open)
	file   string // relative to the state directory
	damage string // truncate, zero or flip, with where
}

func (c damageCase) String() string {
	return fmt.Sprintf("seed%d/%s/%s/%s", c.seed, c.image, strings.ReplaceAll(c.file, "/", "_"), c.damage)
}

// TestDamagedStateNeverCopiesTwice damages the files of a real state at
// random, seeded (truncate, zero a range, flip bytes; every kind of file:
// MANIFEST, tables, value logs, memtables, KEYREGISTRY, DISCARD, the
// marker), and runs status and run on each copy against an emulator
// that never remembers idempotency tokens. Every case must end in a
// clear error (exit 1, naming the state, no panic, the files unchanged)
// or a correct resume (exit 0, nothing started again); no RP ever gets
// a second copy job. -short runs a sample of the cases.
func TestDamagedStateNeverCopiesTwice(t *testing.T) {
	env, _ := workspaceWith(t, testenv.Options{RecoveryPoints: 120, CopySpeed: 1e6, IdempotencyMemory: -1})
	script := fastCopyScript(t, "damage.lua")
	good := filepath.Join(t.TempDir(), "good")
	runArgs := func(dir string) []string {
		return []string{"run", script, "--state", dir, "--skip-check", "--snapshots", "0"}
	}
	if code, out, errs := shuffle(t, runArgs(good)...); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	jobs := env.Counters().Snapshot().JobsCreated
	if len(jobs) == 0 {
		t.Fatal("the first run created no copy job")
	}
	// An undamaged copy resumes: exit 0, nothing started.
	resumed := filepath.Join(t.TempDir(), "resumed")
	copyState(t, good, resumed)
	if code, out, errs := shuffle(t, runArgs(resumed)...); code != 0 || !strings.Contains(errs, "copy: 0 started") {
		t.Fatalf("run on an undamaged copy: exit %d\n%s%s", code, out, errs)
	}
	assertOneJobEach(t, env, "undamaged copy")

	images := map[string]string{"clean": good, "crash": crashImage(t, good)}
	n := 100
	if testing.Short() {
		n = 24
	}
	outcomes := map[string]int{}
	// The issue's cases first, then the seeded ones.
	cases := issueDamages(t, good)
	for i := 0; i < n; i++ {
		cases = append(cases, pickDamage(t, uint64(i+1), images))
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			copyState(t, images[c.image], dir)
			applyDamage(t, dir, c)
			before := stateDigest(t, dir, c)
			for _, args := range [][]string{{"status", "--state", dir}, runArgs(dir)} {
				code, out, errs := shuffle(t, args...)
				switch {
				case strings.Contains(out+errs, "panic") || strings.Contains(out+errs, "goroutine "):
					t.Errorf("%s: Go panic text:\n%s%s", args[0], out, errs)
				case code == exitError && strings.Contains(errs, "state "+dir+" is damaged"):
					outcomes[args[0]+" damaged"]++
					if after := stateDigest(t, dir, c); after != before {
						t.Errorf("%s refused the state but changed it:\nbefore %s\nafter  %s", args[0], before, after)
					}
				case code == exitOK:
					outcomes[args[0]+" resumed"]++
					if args[0] == "run" && !strings.Contains(errs, "copy: 0 started") {
						t.Errorf("run resumed but started copies:\n%s", errs)
					}
				default:
					t.Errorf("%s: exit %d, want 0 (resume) or 1 naming the damaged state %s:\n%s%s", args[0], code, dir, out, errs)
				}
			}
			assertOneJobEach(t, env, c.String())
		})
	}
	t.Logf("outcomes over %d cases: %v", len(cases), outcomes)
	if outcomes["run damaged"] == 0 {
		t.Errorf("no case was refused as damaged: the damage does not reach the state")
	}
}

// issueDamages are the cases the issue reported: the MANIFEST cut to 8
// bytes (taken for an empty state), half a table (a panic), an empty
// table (exit 2), half a value log (a misleading error, and the file
// rewritten).
func issueDamages(t *testing.T, good string) []damageCase {
	t.Helper()
	var sst, vlog string
	for _, f := range stateFiles(t, good) {
		switch {
		case strings.HasSuffix(f, ".sst") && sst == "":
			sst = f
		case strings.HasSuffix(f, ".vlog") && vlog == "":
			vlog = f
		}
	}
	half := func(f string) int64 { size, _ := fileExtent(t, filepath.Join(good, f)); return size / 2 }
	return []damageCase{
		{image: "clean", file: "badger/MANIFEST", damage: "truncate@8"},
		{image: "clean", file: sst, damage: fmt.Sprintf("truncate@%d", half(sst))},
		{image: "clean", file: sst, damage: "truncate@0"},
		{image: "clean", file: vlog, damage: fmt.Sprintf("truncate@%d", half(vlog))},
	}
}

func assertOneJobEach(t *testing.T, env *testenvtest.Env, when string) {
	t.Helper()
	for k, n := range env.Counters().Snapshot().JobsCreated {
		if n != 1 {
			t.Errorf("after %s: %d copy jobs for %s, want 1", when, n, k)
		}
	}
}

// crashImage copies a state while a process holds it open, as a SIGKILL
// leaves it: a memtable log, a value log being written, no clean close.
func crashImage(t *testing.T, good string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "open")
	copyState(t, good, src)
	st, err := state.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutRun(state.Run{Command: "crash-image"}); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().Sync(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "crash")
	copyState(t, src, dst)
	st.Close()
	os.Remove(filepath.Join(dst, "badger", "LOCK"))
	return dst
}

// stateFiles lists the files of a state a damage may hit.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "badger") && d.Name() != "LOCK" || rel == state.MarkerName {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func pickDamage(t *testing.T, seed uint64, images map[string]string) damageCase {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 14))
	c := damageCase{seed: seed, image: "clean"}
	if r.IntN(3) == 0 {
		c.image = "crash"
	}
	files := stateFiles(t, images[c.image])
	c.file = files[r.IntN(len(files))]
	size, data := fileExtent(t, filepath.Join(images[c.image], c.file))
	switch k := r.IntN(3); {
	case k == 0 || data == 0:
		c.damage = fmt.Sprintf("truncate@%d", r.Int64N(max(data, 1)))
	case k == 1:
		off := r.Int64N(data)
		c.damage = fmt.Sprintf("zero@%d+%d", off, 1+r.Int64N(min(4096, size-off)))
	default:
		c.damage = fmt.Sprintf("flip@%d+%d", r.Int64N(data), 1+r.IntN(8))
	}
	return c
}

// fileExtent is a file's size and where its data ends (the start of
// the trailing hole of a preallocated Badger file).
func fileExtent(t *testing.T, path string) (size, data int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	size, data = info.Size(), info.Size()
	buf := make([]byte, 1<<16)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n, _ := f.ReadAt(buf, off)
		if n > 0 && bytes.Count(buf[:n], []byte{0}) == n {
			return size, max(off, 1)
		}
	}
	return size, data
}

func applyDamage(t *testing.T, dir string, c damageCase) {
	t.Helper()
	path := filepath.Join(dir, c.file)
	var off, n int64
	kind, where, _ := strings.Cut(c.damage, "@")
	fmt.Sscanf(strings.Replace(where, "+", " ", 1), "%d %d", &off, &n)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch kind {
	case "truncate":
		err = f.Truncate(off)
	case "zero":
		_, err = f.WriteAt(make([]byte, n), off)
	case "flip":
		b := make([]byte, n)
		f.ReadAt(b, off)
		r := rand.New(rand.NewPCG(c.seed, 41))
		for i := range b {
			b[i] ^= byte(1 + r.IntN(255))
		}
		_, err = f.WriteAt(b, off)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// copyState copies a state directory, keeping Badger's preallocated
// files sparse (a value log is 512 MiB of mostly hole while open).
func copyState(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer out.Close()
		info, _ := in.Stat()
		buf := make([]byte, 1<<16)
		for off := int64(0); ; off += int64(len(buf)) {
			n, rerr := in.ReadAt(buf, off)
			if n > 0 && bytes.Count(buf[:n], []byte{0}) != n {
				if _, err := out.WriteAt(buf[:n], off); err != nil {
					return err
				}
			}
			if rerr == io.EOF || n == 0 {
				break
			}
			if rerr != nil {
				return rerr
			}
		}
		return out.Truncate(info.Size())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stateDigest is each file's name, size and a hash of its first 4 MiB.
// For a crash image it is the damaged file's alone: Badger's recovery
// from the crash (replaying its memtable log, starting a new value log)
// rightly runs before damage in a closed value log shows on a read, and
// the marker then records the damage.
func stateDigest(t *testing.T, dir string, c damageCase) string {
	t.Helper()
	var b strings.Builder
	files := stateFiles(t, dir)
	if c.image == "crash" {
		files = []string{c.file}
	}
	for _, rel := range files {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := f.Stat()
		h := make([]byte, 4<<20)
		n, _ := io.ReadFull(f, h)
		f.Close()
		fmt.Fprintf(&b, "%s:%d:%x ", rel, info.Size(), fnv64(h[:n]))
	}
	return b.String()
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
