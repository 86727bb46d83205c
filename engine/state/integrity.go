package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"google.golang.org/protobuf/proto"
)

// ErrDamaged matches every *DamagedError (errors.Is).
var ErrDamaged = errors.New("state is damaged")

// DamagedError says a state directory's files are not what shuffle left
// there: which file, and what is wrong with it. shuffle has not changed
// the directory when it returns one.
type DamagedError struct {
	Dir     string
	File    string // relative to Dir, e.g. badger/000012.sst
	Problem string
	// Snapshot is the newest snapshot in Dir/snapshots, if any.
	Snapshot string
	// OnRead: Badger found it while opening or reading the state, after
	// the checks passed (so Badger may have recovered its logs first).
	OnRead bool
}

func (e *DamagedError) Error() string {
	what := e.Problem
	if e.File != "" {
		what = e.File + " " + e.Problem
	}
	snap := e.Snapshot
	if snap == "" {
		snap = "BACKUP-FILE"
	}
	touched := "shuffle changed nothing in it"
	if e.OnRead {
		touched = "Badger found it on a read; shuffle stopped there"
	}
	return fmt.Sprintf("state %s is damaged: %s. %s. "+
		"Keep a copy of the directory, then restore a good snapshot or backup: "+
		"'shuffle state restore %s --state %s --force' (snapshots are in %s); "+
		"'shuffle state check --state %s' lists every problem it finds",
		e.Dir, what, touched, snap, e.Dir, filepath.Join(e.Dir, snapshotsDir), e.Dir)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

func damaged(dir, file, format string, args ...any) error {
	return &DamagedError{Dir: dir, File: file, Problem: fmt.Sprintf(format, args...), Snapshot: latestSnapshot(dir)}
}

func latestSnapshot(dir string) string {
	snaps, _ := Snapshots(dir)
	if len(snaps) == 0 {
		return ""
	}
	return snaps[len(snaps)-1]
}

// badgerFileName finds the first Badger file a Badger error names.
var badgerFileName = regexp.MustCompile(`[0-9]{5,6}\.(sst|vlog|mem)|MANIFEST|KEYREGISTRY|DISCARD`)

// damagedByBadger turns an error Badger gave while opening or reading a
// state into a DamagedError naming the file, when Badger named one.
func damagedByBadger(dir string, err error) error {
	file := ""
	if m := badgerFileName.FindString(err.Error()); m != "" {
		file = "badger/" + m
	}
	d := damaged(dir, file, "cannot be read by Badger (%v)", err).(*DamagedError)
	d.OnRead = true
	return d
}

// inspect checks a state's files before Badger opens them, since a
// read-write open repairs what it takes for a crash: it truncates the
// last value log and the MANIFEST at the first bad record and deletes
// table files the MANIFEST does not list. It reads the MANIFEST, the
// KEYREGISTRY and each table's index, never the data: it stays cheap.
//
// A marker that says the state was closed cleanly must match the files
// exactly. After a crash (the marker says "not clean") the files that
// existed at the last clean close and still exist must keep their
// sizes: tables and closed value logs never change. Without a marker (a
// state from an older shuffle) only the structure is checked.
func inspect(dir string, m *Marker, files *badgerFiles, readOnly bool) error {
	bdir := filepath.Join(dir, "badger")
	if !files.manifest {
		return damaged(dir, "badger/MANIFEST", "is missing")
	}
	if !files.keyReg {
		return damaged(dir, "badger/KEYREGISTRY", "is missing")
	}
	if m != nil && m.LastClose != nil {
		if err := compareLastClose(dir, m, files); err != nil {
			return err
		}
	}
	for id, n := range files.valueLogs {
		if n < vlogHeaderSize {
			return damaged(dir, "badger/"+valueLogName(id), "is %d bytes, shorter than a value log header (%d)", n, vlogHeaderSize)
		}
	}
	// A read-write open cuts the last value log at its first bad entry.
	// One that was closed (Badger cuts it to its end on close; a killed
	// process leaves it at its preallocated size) must be whole.
	if !readOnly && len(files.valueLogs) > 0 {
		last := uint32(0)
		for id := range files.valueLogs {
			last = max(last, id)
		}
		if n := files.valueLogs[last]; n != 2*valueLogFileSize || (m != nil && m.Clean) {
			if err := verifyValueLog(filepath.Join(bdir, valueLogName(last)), n); err != nil {
				return damaged(dir, "badger/"+valueLogName(last), "%v", err)
			}
		}
	}
	mf, err := readManifest(bdir)
	if err != nil {
		return damaged(dir, "badger/MANIFEST", "cannot be read (%v)", err)
	}
	for id := range mf.Tables {
		n, ok := files.tables[id]
		if !ok {
			return damaged(dir, "badger/"+tableName(id), "is missing; the MANIFEST lists it")
		}
		if err := checkTableIndex(filepath.Join(bdir, tableName(id)), n); err != nil {
			return damaged(dir, "badger/"+tableName(id), "%v", err)
		}
		if err := verifyTable(filepath.Join(bdir, tableName(id))); err != nil {
			return damaged(dir, "badger/"+tableName(id), "%v", err)
		}
	}
	// A crash can leave tables the MANIFEST does not list yet, and
	// Badger deletes them at open: a flush's table (its data is still in
	// the memtable's log) or a compaction's outputs (its inputs are still
	// listed). Their ids need not be the newest: a compaction reserves
	// its ids when it starts and lists its tables when it ends, and a
	// flush or another compaction may list a newer table in between. So
	// only a MANIFEST that lists no table at all while tables are on
	// disk is taken for one that lost its records (the issue's
	// `truncate -s 8`); a cut inside a record is caught above, and a
	// MANIFEST changed since a clean close by its checksum.
	if len(mf.Tables) == 0 && len(files.tables) > 0 {
		id := sortedIDs(files.tables)[0]
		return damaged(dir, "badger/MANIFEST", "does not list %s (0 tables listed, %d on disk); Badger would delete it",
			tableName(id), len(files.tables))
	}
	return nil
}

const vlogHeaderSize = 20

// compareLastClose compares the files with the marker's record of the
// last clean close.
func compareLastClose(dir string, m *Marker, files *badgerFiles) error {
	lc, bdir := m.LastClose, filepath.Join(dir, "badger")
	at := "at the last clean close (" + lc.At.Format("2006-01-02 15:04:05 UTC") + ")"
	ks, err := fileSum(filepath.Join(bdir, "KEYREGISTRY"))
	if err != nil {
		return damaged(dir, "badger/KEYREGISTRY", "cannot be read: %v", err)
	}
	if ks != lc.KeyRegistry {
		return damaged(dir, "badger/KEYREGISTRY", "is %d bytes with SHA-256 %.12s…, expected %d bytes with %.12s… %s", ks.Size, ks.SHA256, lc.KeyRegistry.Size, lc.KeyRegistry.SHA256, at)
	}
	have := map[string]int64{}
	for id, n := range files.tables {
		have[tableName(id)] = n
	}
	for id, n := range files.valueLogs {
		have[valueLogName(id)] = n
	}
	for _, set := range []map[string]int64{lc.Tables, lc.ValueLogs} {
		for _, name := range sortedNames(set) {
			n, ok := have[name]
			switch {
			case !ok && m.Clean:
				return damaged(dir, "badger/"+name, "is missing; it was there %s", at)
			case ok && n != set[name]:
				return damaged(dir, "badger/"+name, "is %d bytes, expected %d %s", n, set[name], at)
			}
		}
	}
	if !m.Clean {
		return nil
	}
	ms, err := fileSum(filepath.Join(bdir, "MANIFEST"))
	if err != nil {
		return damaged(dir, "badger/MANIFEST", "cannot be read: %v", err)
	}
	if ms != lc.Manifest {
		return damaged(dir, "badger/MANIFEST", "is %d bytes with SHA-256 %.12s…, expected %d bytes with %.12s… %s", ms.Size, ms.SHA256, lc.Manifest.Size, lc.Manifest.SHA256, at)
	}
	for _, name := range sortedNames(have) {
		if _, ok := lc.Tables[name]; !ok {
			if _, ok := lc.ValueLogs[name]; !ok {
				return damaged(dir, "badger/"+name, "was not there %s, and nothing opened the state since", at)
			}
		}
	}
	if len(files.memtables) > 0 {
		return damaged(dir, "badger/"+files.memtables[0], "was not there %s, and nothing opened the state since", at)
	}
	return nil
}

func sortedIDs(m map[uint64]int64) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// readManifest replays the MANIFEST without changing it. A torn last
// record (a crash while Badger appended) is not an error, as in Badger.
func readManifest(bdir string) (badger.Manifest, error) {
	f, err := os.Open(filepath.Join(bdir, "MANIFEST"))
	if err != nil {
		return badger.Manifest{}, err
	}
	defer f.Close()
	mf, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(bdir))
	return mf, err
}

// checkTableIndex reads a table's footer and verifies its index
// checksum, as Badger does when it opens the table, but returns what is
// wrong instead of panicking on a short file.
func checkTableIndex(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot be opened: %v", err)
	}
	defer f.Close()
	short := func(what string) error {
		return fmt.Errorf("is %d bytes, too short for the %s its footer describes (cut short?)", size, what)
	}
	read := func(off, n int64) ([]byte, error) {
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return b, nil
	}
	if size < 8 {
		return fmt.Errorf("is %d bytes, too short for a table", size)
	}
	b, err := read(size-4, 4)
	if err != nil {
		return err
	}
	chkLen := int64(y.BytesToU32(b))
	if chkLen <= 0 || chkLen > size-8 {
		return short("checksum")
	}
	b, err = read(size-4-chkLen, chkLen)
	if err != nil {
		return err
	}
	var chk pb.Checksum
	if err := proto.Unmarshal(b, &chk); err != nil {
		return fmt.Errorf("has a damaged footer (%v)", err)
	}
	pos := size - 4 - chkLen - 4
	b, err = read(pos, 4)
	if err != nil {
		return err
	}
	idxLen := int64(y.BytesToU32(b))
	if idxLen <= 0 || idxLen > pos {
		return short("index")
	}
	idx, err := read(pos-idxLen, idxLen)
	if err != nil {
		return err
	}
	if err := y.VerifyChecksum(idx, &chk); err != nil {
		return fmt.Errorf("has a damaged index (%v)", err)
	}
	return nil
}
