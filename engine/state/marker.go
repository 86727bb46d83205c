package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The marker is a small JSON file beside badger/ that says "shuffle made
// this state": its format, a random state id that Badger holds too, the
// accounts once known, and what the Badger files looked like at the last
// clean close. Open compares the files with it before Badger touches
// them (integrity.go), so a damaged state is never taken for an empty
// one. ADR 0001 describes it.

// MarkerName is the marker's file name in the state directory.
const MarkerName = "state.json"

// markerFormat is the marker's format version.
const markerFormat = 1

// Marker is the content of state.json.
type Marker struct {
	Format             int       `json:"format"`
	StateID            string    `json:"state_id"`
	Created            time.Time `json:"created"`
	SourceAccount      string    `json:"source_account,omitempty"`
	DestinationAccount string    `json:"destination_account,omitempty"`
	Region             string    `json:"region,omitempty"`
	// Clean is true from a clean close until the next read-write open.
	Clean bool `json:"clean"`
	// LastClose is what the Badger files were at the last clean close.
	LastClose *FileSet `json:"last_close,omitempty"`
	// Damaged is set when a command found values Badger cannot read;
	// every open refuses the state from then on (state check still
	// reads it).
	Damaged *DamageNote `json:"damaged,omitempty"`
}

// DamageNote is damage a command found while reading the state.
type DamageNote struct {
	At      time.Time `json:"at"`
	File    string    `json:"file,omitempty"`
	Problem string    `json:"problem"`
}

// FileSet records the Badger files at a clean close. Table files and
// value log files are immutable once Badger closes them (every
// read-write open starts a new value log), so their sizes hold until
// compaction or value log GC deletes them; MANIFEST and KEYREGISTRY are
// fixed until the next read-write open.
type FileSet struct {
	At          time.Time        `json:"at"`
	Manifest    FileSum          `json:"manifest"`
	KeyRegistry FileSum          `json:"key_registry"`
	Tables      map[string]int64 `json:"tables"`
	ValueLogs   map[string]int64 `json:"value_logs"`
}

// FileSum is a file's size and SHA-256.
type FileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// readMarker reads dir's marker; nil without error when there is none.
func readMarker(dir string) (*Marker, error) {
	b, err := os.ReadFile(filepath.Join(dir, MarkerName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, damaged(dir, MarkerName, "cannot be read: %v", err)
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, damaged(dir, MarkerName, "is not valid JSON (%v)", err)
	}
	if m.Format > markerFormat {
		return nil, fmt.Errorf("state %s has format %d, newer than this shuffle understands (%d); use a newer shuffle", dir, m.Format, markerFormat)
	}
	if m.Format < 1 || len(m.StateID) != 32 {
		return nil, damaged(dir, MarkerName, "has no format or state id")
	}
	return &m, nil
}

// writeMarker replaces dir's marker atomically: a temporary file,
// fsynced, renamed over it, and the directory fsynced.
func writeMarker(dir string, m *Marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, MarkerName), append(b, '\n'))
}

// writeFileAtomic writes path through a fsynced temporary file renamed
// over it, then fsyncs the directory (writeThroughTemp).
func writeFileAtomic(path string, b []byte) error {
	if err := writeThroughTemp(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// fileSum hashes a file.
func fileSum(path string) (FileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileSum{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// badgerFiles is what a badger/ directory holds, by kind.
type badgerFiles struct {
	tables    map[uint64]int64 // table id -> size
	valueLogs map[uint32]int64 // value log id -> size
	memtables []string
	manifest  bool
	keyReg    bool
	other     int // any other file (LOCK, DISCARD, ...)
}

func (f *badgerFiles) empty() bool {
	return len(f.tables) == 0 && len(f.valueLogs) == 0 && len(f.memtables) == 0 && !f.manifest && !f.keyReg && f.other == 0
}

// listBadger lists badger/; ok is false when the directory does not exist.
func listBadger(bdir string) (files *badgerFiles, ok bool, err error) {
	ents, err := os.ReadDir(bdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	files = &badgerFiles{tables: map[uint64]int64{}, valueLogs: map[uint32]int64{}}
	for _, e := range ents {
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			return nil, true, err
		}
		switch {
		case strings.HasSuffix(name, ".sst"):
			id, err := strconv.ParseUint(strings.TrimSuffix(name, ".sst"), 10, 64)
			if err != nil {
				files.other++
				continue
			}
			files.tables[id] = info.Size()
		case strings.HasSuffix(name, ".vlog"):
			id, err := strconv.ParseUint(strings.TrimSuffix(name, ".vlog"), 10, 32)
			if err != nil {
				files.other++
				continue
			}
			files.valueLogs[uint32(id)] = info.Size()
		case strings.HasSuffix(name, ".mem"):
			files.memtables = append(files.memtables, name)
		case name == "MANIFEST":
			files.manifest = true
		case name == "KEYREGISTRY":
			files.keyReg = true
		default:
			files.other++
		}
	}
	return files, true, nil
}

func tableName(id uint64) string    { return fmt.Sprintf("%06d.sst", id) }
func valueLogName(id uint32) string { return fmt.Sprintf("%06d.vlog", id) }

// snapshotFiles records badger/ as it is after a clean close.
func snapshotFiles(bdir string) (*FileSet, error) {
	files, ok, err := listBadger(bdir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is missing", bdir)
	}
	fs := &FileSet{At: time.Now().UTC(), Tables: map[string]int64{}, ValueLogs: map[string]int64{}}
	if fs.Manifest, err = fileSum(filepath.Join(bdir, "MANIFEST")); err != nil {
		return nil, err
	}
	if fs.KeyRegistry, err = fileSum(filepath.Join(bdir, "KEYREGISTRY")); err != nil {
		return nil, err
	}
	for id, n := range files.tables {
		fs.Tables[tableName(id)] = n
	}
	for id, n := range files.valueLogs {
		fs.ValueLogs[valueLogName(id)] = n
	}
	return fs, nil
}

func sortedNames(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
