package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// newTestState makes a closed state holding n RP-sized records, with
// at least one table and one value log.
func newTestState(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fillTestState(t, s, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fillTestState(t *testing.T, s *Store, n int) {
	t.Helper()
	if err := s.db.Update(func(txn *badger.Txn) error {
		for i := 0; i < n; i++ {
			if err := txn.Set(rpKey("v", fmt.Sprintf("arn:%05d", i)), EncodeRP(&RP{Vault: "v", Arn: fmt.Sprintf("arn:%05d", i), ResourceArn: strings.Repeat("r", 400)})); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func badgerFile(t *testing.T, dir, suffix string) string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dir, "badger"))
	for _, e := range ents {
		if i, _ := e.Info(); strings.HasSuffix(e.Name(), suffix) && i.Size() > vlogHeaderSize {
			return filepath.Join(dir, "badger", e.Name())
		}
	}
	t.Fatalf("no %s file with data in %s", suffix, dir)
	return ""
}

func countRPs(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.ScanRPs(func(*RP) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// The cases: each damage is a DamagedError naming the file,
// and the files are left as they were.
func TestOpenRefusesDamagedState(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns the file named
	}{
		{"manifest cut to 8 bytes", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "badger", "MANIFEST")
			if err := os.Truncate(p, 8); err != nil {
				t.Fatal(err)
			}
			return "badger/MANIFEST"
		}},
		{"manifest missing", func(t *testing.T, dir string) string {
			os.Remove(filepath.Join(dir, "badger", "MANIFEST"))
			return "badger/MANIFEST"
		}},
		{"half a table", func(t *testing.T, dir string) string { return truncHalf(t, badgerFile(t, dir, ".sst")) }},
		{"empty table", func(t *testing.T, dir string) string {
			p := badgerFile(t, dir, ".sst")
			os.Truncate(p, 0)
			return "badger/" + filepath.Base(p)
		}},
		{"half a value log", func(t *testing.T, dir string) string { return truncHalf(t, badgerFile(t, dir, ".vlog")) }},
		{"marker garbled", func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, MarkerName), []byte("{"), 0o600)
			return MarkerName
		}},
		{"badger dir gone", func(t *testing.T, dir string) string {
			os.RemoveAll(filepath.Join(dir, "badger"))
			return "badger/"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := newTestState(t, 300)
			file := c.damage(t, dir)
			before := dirDigest(t, dir)
			for _, ro := range []bool{false, true} {
				var err error
				if ro {
					_, err = OpenReadOnly(dir)
				} else {
					_, err = Open(dir)
				}
				var de *DamagedError
				if !errors.As(err, &de) || !errors.Is(err, ErrDamaged) {
					t.Fatalf("read-only %v: got %v, want a DamagedError", ro, err)
				}
				if de.File != file || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), file) {
					t.Errorf("error names %q, want %q and the directory: %v", de.File, file, err)
				}
				if after := dirDigest(t, dir); after != before {
					t.Errorf("the damaged state was changed:\nbefore %s\nafter  %s", before, after)
				}
			}
		})
	}
}

func truncHalf(t *testing.T, p string) string {
	t.Helper()
	i, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, i.Size()/2); err != nil {
		t.Fatal(err)
	}
	return "badger/" + filepath.Base(p)
}

// dirDigest is every file's name, size and content hash.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		s, err := fileSum(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%d:%.8s ", strings.TrimPrefix(p, dir), s.Size, s.SHA256)
		return nil
	})
	return b.String()
}

// Clean reopens, a crash image (files copied while open) and an older
// shuffle's state without a marker all open with their records.
func TestOpenAcceptsIntactStates(t *testing.T) {
	dir := newTestState(t, 300)
	for i := 0; i < 3; i++ {
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if n := countRPs(t, s); n != 300 {
			t.Fatalf("reopen %d: %d records, want 300", i, n)
		}
		fillTestState(t, s, 300)
		s.Close()
	}
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()

	// A crash image: the files as a SIGKILL leaves them.
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fillTestState(t, s, 500)
	if err := s.db.Sync(); err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.CopyFS(crash, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(filepath.Join(crash, "badger", "LOCK"))
	if _, err := OpenReadOnly(crash); !errors.Is(err, ErrNotClean) {
		t.Errorf("read-only open of a crash image: %v, want ErrNotClean", err)
	}
	s, err = Open(crash)
	if err != nil {
		t.Fatalf("crash image: %v", err)
	}
	if n := countRPs(t, s); n != 500 {
		t.Errorf("crash image: %d records, want 500", n)
	}
	s.Close()

	// An older shuffle's state: no marker. It gets one, with the id.
	legacy := newTestState(t, 100)
	os.Remove(filepath.Join(legacy, MarkerName))
	s, err = Open(legacy)
	if err != nil {
		t.Fatalf("state without a marker: %v", err)
	}
	id := s.StateID()
	s.Close()
	m, err := readMarker(legacy)
	if err != nil || m == nil || m.StateID != id || !m.Clean {
		t.Fatalf("marker after adopting an older state: %+v, %v", m, err)
	}
	// ... but obvious damage is refused even there, and left as it is.
	for _, cut := range []string{"MANIFEST", valueLogName(1)} {
		old := newTestState(t, 100)
		os.Remove(filepath.Join(old, MarkerName))
		truncHalf(t, filepath.Join(old, "badger", cut))
		before := dirDigest(t, old)
		if _, err := Open(old); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), cut) {
			t.Errorf("older state with half its %s: %v, want damaged naming it", cut, err)
		}
		if dirDigest(t, old) != before {
			t.Errorf("older state with half its %s was changed", cut)
		}
	}
}

// A value log garbled in place where the open does not read it (a
// closed value log that is not the last): the read that meets it is
// reported as damage naming the file, not as an empty record, and the
// marker then makes every open refuse the state; state check still
// opens it.
func TestUnreadableValueIsDamage(t *testing.T) {
	dir := newTestState(t, 300)
	s, err := Open(dir) // a second value log: the first is now closed
	if err != nil {
		t.Fatal(err)
	}
	fillTestState(t, s, 10)
	s.Close()
	vlog := filepath.Join(dir, "badger", valueLogName(1))
	f, err := os.OpenFile(vlog, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, 4096), 8192)
	f.Close()

	s, err = Open(dir)
	if err != nil {
		t.Fatalf("open: %v (the damage is in a closed value log, found on read)", err)
	}
	scanErr := s.ScanRPs(func(*RP) error { return nil })
	if scanErr == nil {
		t.Error("the scan read garbled records without an error")
	}
	d := s.Damage()
	if !errors.Is(d, ErrDamaged) || !strings.Contains(d.Error(), "badger/000001.vlog") {
		t.Fatalf("Damage() = %v, want a DamagedError naming badger/000001.vlog", d)
	}
	if err := s.Close(); !errors.Is(err, ErrDamaged) {
		t.Errorf("Close: %v, want the damage", err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "000001.vlog") {
		t.Errorf("open after the damage was found: %v", err)
	}
	ro, err := OpenForCheck(dir)
	if err != nil {
		t.Fatalf("OpenForCheck: %v", err)
	}
	defer ro.Close()
	r, err := ro.Check(t.Context())
	if err != nil || len(r.Problems) == 0 {
		t.Errorf("check found no problem (%v): %+v", err, r)
	}
}

// A state its last process did not close may have lost the tail of a
// log with a copy intent in it, so opening it forgets the adoption mark
// (the next copy step sweeps AWS again); a clean reopen keeps it.
func TestUncleanOpenForgetsAdoption(t *testing.T) {
	dir := newTestState(t, 50)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAdopted(AdoptionMark{}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Sync(); err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.CopyFS(crash, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(filepath.Join(crash, "badger", "LOCK"))
	for _, tc := range []struct {
		dir, name string
		keep      bool
	}{{dir, "after a clean close", true}, {crash, "after a crash", false}} {
		s, err := Open(tc.dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, ok, err := s.Adoption()
		s.Close()
		if err != nil || ok != tc.keep {
			t.Errorf("%s: adoption mark kept = %v (%v), want %v", tc.name, ok, err, tc.keep)
		}
	}
}

// A crash in the middle of a compaction leaves its output tables on
// disk and not yet in the MANIFEST, while a flush (or another
// compaction) that ended meanwhile listed a table with a newer id. That
// is no damage: Badger deletes the unlisted tables at open and every
// record is still there. (Seen as a run that exited 1 after a SIGKILL.)
func TestCrashDuringCompactionIsNotDamage(t *testing.T) {
	dir := newTestState(t, 300)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		fillTestState(t, s, 300)
		if err := s.db.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	// Flatten compacts every table into new ones, so the lowest ids are
	// free: the ids a compaction that started earlier would have held.
	if err := s.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	fillTestState(t, s, 500)
	if err := s.db.Sync(); err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.CopyFS(crash, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(filepath.Join(crash, "badger", "LOCK"))
	bdir := filepath.Join(crash, "badger")
	mf, err := readManifest(bdir)
	if err != nil {
		t.Fatal(err)
	}
	var listed, gap uint64
	for id := range mf.Tables {
		listed = max(listed, id)
	}
	for id := uint64(1); id < listed; id++ {
		if _, ok := mf.Tables[id]; !ok {
			gap = id
			break
		}
	}
	if gap == 0 {
		t.Fatalf("no free table id below the newest listed one (%d): the test proves nothing", listed)
	}
	// The unfinished compaction's output: a whole table, not listed.
	b, err := os.ReadFile(filepath.Join(bdir, tableName(listed)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bdir, tableName(gap)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(crash)
	if err != nil {
		t.Fatalf("a crash image with an unfinished compaction's table (%s unlisted, %s listed): %v", tableName(gap), tableName(listed), err)
	}
	defer s.Close()
	if n := countRPs(t, s); n != 500 {
		t.Errorf("%d records after the crash, want 500", n)
	}
}
