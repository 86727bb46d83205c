// Package state is shuffle's durable state in Badger: vaults, partition
// cursors, recovery points with their metadata and decisions, and run
// history. The key layout is docs/adr/0001-badger-state-layout.md and
// keys.go builds every key.
//
// The caller chooses how a Store runs (Options, for the page-out
// periods): state reads no environment variable. It must not run Lua,
// call AWS or know the pipeline's steps; keys are built in keys.go only.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

const schemaVersion = 1

// Store is an open state directory.
type Store struct {
	db      *badger.DB
	Dir     string
	stop    chan struct{} // stops the page-out loop
	done    chan struct{}
	closing chan struct{} // speeds the page-out loop up for Close
	// gcStop stops the value-log collector (vlog_gc.go).
	gcStop chan struct{}
	gcDone chan struct{}
	// fullScans counts reads of every RP record (FullScans).
	fullScans atomic.Int64
	// marker is state.json (marker.go); nil for a read-only open of a
	// state an older shuffle made.
	marker   *Marker
	readOnly bool
	// reads notices values Badger could not read (readfail.go).
	reads *readFailures
	// snapKeep: snapshots a clean Close keeps (SnapshotOnClose).
	snapKeep int
	snapPath string
	snapErr  error
	// sum keeps the counters (summary_store.go).
	sum counters
	// notice is Options.Notice (nil: nobody listens).
	notice func(string)
}

// FullScans is how many times this Store has read every RP record (for
// tests and performance work: a cold plan should need none after its
// listing).
func (s *Store) FullScans() int64 { return s.fullScans.Load() }

// ErrLocked means another shuffle process holds the state directory.
var ErrLocked = errors.New("state directory is in use by another shuffle process")

// ErrNotClean: a read-only open of a state whose last read-write user
// did not close it (it was killed, or it is running).
var ErrNotClean = errors.New("state was not closed cleanly")

// ErrNoState: a read-only open of a directory that holds no state.
var ErrNoState = errors.New("no shuffle state")

// Open opens (creating if needed) the state in dir, read-write, with
// the default Options. It checks the files against the marker first
// (integrity.go) and returns a *DamagedError, having changed nothing,
// when they do not match.
func Open(dir string) (*Store, error) { return open(dir, false, false, Options{}) }

// OpenWith is Open with the caller's Options.
func OpenWith(dir string, o Options) (*Store, error) { return open(dir, false, false, o) }

// OpenReadOnly opens an existing state and writes nothing, not even
// the marker. It needs a state that was closed cleanly (ErrNotClean).
func OpenReadOnly(dir string) (*Store, error) { return open(dir, true, false, Options{}) }

// OpenForCheck is OpenReadOnly that also opens a state a command
// already found damaged (the marker says so), for 'state check'.
func OpenForCheck(dir string) (*Store, error) { return open(dir, true, true, Options{}) }

func open(dir string, readOnly, evenDamaged bool, o Options) (*Store, error) {
	m, fresh, err := checkBeforeOpen(dir, readOnly, evenDamaged)
	if err != nil {
		return nil, err
	}
	wasClean := m != nil && m.Clean
	if !readOnly {
		if err := markOpen(dir, m); err != nil {
			return nil, err
		}
	}
	reads := &readFailures{}
	db, err := openBadger(badgerOptions(filepath.Join(dir, "badger"), readOnly).WithLogger(reads))
	if err != nil {
		return nil, badgerOpenError(dir, m, wasClean, readOnly, err)
	}
	s := &Store{db: db, Dir: dir, marker: m, readOnly: readOnly, reads: reads, notice: o.Notice}
	if err := s.checkStateID(fresh); err != nil {
		db.Close()
		return nil, err
	}
	if readOnly {
		return s, nil
	}
	if err := s.prepareWrites(fresh, wasClean); err != nil {
		db.Close()
		return nil, err
	}
	s.startPageOut(o)
	s.startValueLogGC()
	return s, nil
}

// checkBeforeOpen checks a state's files before Badger opens them: that
// no process holds them, that the marker and badger/ agree and, for a
// state that exists, that the files match the marker. It returns the
// marker (nil for a state no marker describes) and whether the state
// is new (fresh).
func checkBeforeOpen(dir string, readOnly, evenDamaged bool) (m *Marker, fresh bool, err error) {
	bdir := filepath.Join(dir, "badger")
	if lockHeld(bdir) {
		// A live state's files change under the checks; Badger would
		// refuse it anyway.
		return nil, false, fmt.Errorf("open state %s: %w (is another 'shuffle run' using it? stop it or use its REPL)", dir, ErrLocked)
	}
	m, err = readMarker(dir)
	if err != nil {
		return nil, false, lockedOr(dir, err)
	}
	files, exists, err := listBadger(bdir)
	if err != nil {
		return nil, false, fmt.Errorf("read state %s: %w", dir, err)
	}
	fresh = !exists || files.empty()
	switch {
	case fresh && m != nil:
		return nil, false, damaged(dir, "badger/", "is missing or empty, but %s says shuffle made this state on %s", MarkerName, m.Created.Format(time.DateOnly))
	case fresh && readOnly:
		return nil, false, fmt.Errorf("%w in %s", ErrNoState, dir)
	case m != nil && m.Damaged != nil && !evenDamaged:
		return nil, false, damaged(dir, m.Damaged.File, "%s (found %s)", m.Damaged.Problem, m.Damaged.At.Format("2006-01-02 15:04:05 UTC"))
	case !fresh:
		if err := inspect(dir, m, files, readOnly); err != nil {
			return nil, false, lockedOr(dir, err)
		}
	}
	return m, fresh, nil
}

// markOpen prepares a read-write open: it creates the directory and, for
// a state closed cleanly, marks it not clean before Badger writes, so
// that a crash from here on does not leave a marker that expects the
// files as they were.
func markOpen(dir string, m *Marker) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	if m == nil || !m.Clean {
		return nil
	}
	m.Clean = false
	return writeMarker(dir, m)
}

// badgerOpenError is the error for Badger's refusal to open a state. A
// state that was clean is marked clean again (markOpen unmarked it): what
// Badger refused is judged as before.
func badgerOpenError(dir string, m *Marker, wasClean, readOnly bool, err error) error {
	if wasClean && !readOnly && !isLockErr(err) {
		m.Clean = true
		_ = writeMarker(dir, m)
	}
	switch {
	case isLockErr(err):
		return fmt.Errorf("open state %s: %w (is another 'shuffle run' using it? stop it or use its REPL)", dir, ErrLocked)
	case readOnly && strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error()): // Badger wraps errors as text
		return fmt.Errorf("%w: state %s was left by a shuffle command that was killed, or one is running; "+
			"any read-write command (status, run) lets Badger recover it", ErrNotClean, dir)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("open state %s: %w", dir, err)
	}
	return damagedByBadger(dir, err)
}

// prepareWrites readies a read-write open: the schema version, and for
// a state its last process did not close, a new sweep of AWS.
func (s *Store) prepareWrites(fresh, wasClean bool) error {
	if err := s.initSchema(); err != nil {
		return err
	}
	if err := s.ensureSummary(); err != nil {
		return fmt.Errorf("open state %s: counters: %w", s.Dir, err)
	}
	if !fresh && !wasClean {
		// The last process did not close the state (killed, or an older
		// shuffle). Badger cut whatever tail of its logs it could not
		// replay, and damage there looks just like a torn write, so a
		// copy intent may be gone. The next copy step sweeps AWS again
		// (ADR 0002, "Adoption") rather than trust that none is.
		if err := s.ForgetAdoption(); err != nil {
			return fmt.Errorf("open state %s: %w", s.Dir, err)
		}
	}
	return nil
}

// openBadger opens Badger, turning a panic on damaged files into an
// error.
func openBadger(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("badger panicked while opening: %v", r)
		}
	}()
	return badger.Open(opts)
}

// lockedOr is err, or ErrLocked when a process holds the state: the
// files of a live state may look inconsistent from outside.
func lockedOr(dir string, err error) error {
	if errors.Is(err, ErrDamaged) && lockHeld(filepath.Join(dir, "badger")) {
		return fmt.Errorf("open state %s: %w (is another 'shuffle run' using it? stop it or use its REPL)", dir, ErrLocked)
	}
	return err
}

func badgerOptions(bdir string, readOnly bool) badger.Options {
	return badger.DefaultOptions(bdir).
		WithLogger(nil).
		WithReadOnly(readOnly).
		// Every value read from the value log is checked (tables are
		// checked before Badger opens them, in inspect).
		WithVerifyValueChecksum(true).
		WithNumVersionsToKeep(1).
		WithCompactL0OnClose(true).
		// Memory, not disk, is the scarce resource: no compression (its
		// table builders buffer whole tables), small tables and caches.
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(16 << 20).
		WithMemTableSize(16 << 20).
		WithBaseTableSize(1 << 20).
		// A first level of 128 MB (default 10 MB) takes a million-RP cold
		// run through fewer levels: less rewriting in compaction, which
		// at that scale was the largest single CPU cost.
		WithBaseLevelSize(128 << 20).
		// Badger's expvar metrics cost about 1% of a cold run; shuffle
		// does not publish them.
		WithMetricsEnabled(false).
		WithNumMemtables(2).
		WithNumCompactors(2).
		// Writers never race on one key in a way SSI must catch (pages
		// upsert by ARN, batches are single-writer), so skip its bookkeeping.
		WithDetectConflicts(false).
		WithValueLogFileSize(valueLogFileSize).
		// RP records (about 700 bytes) live in the value log, written
		// once, and the LSM tree holds only keys and value pointers:
		// flushes and compactions then move a seventh of the bytes. On a
		// million-RP cold plan this halved the CPU (docs/performance.md).
		// Small records (vaults, cursors, caches) stay in the tree.
		WithValueThreshold(200)
}

func isLockErr(err error) bool {
	return err != nil && (errors.Is(err, os.ErrExist) || strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "resource temporarily unavailable"))
}

// Close flushes and closes the database.
func (s *Store) Close() error {
	// The page-out loop runs on through Close: Badger flushes its
	// memtables and compacts the first level there, which maps every
	// table it reads and writes.
	s.stopValueLogGC()
	var ferr error
	if !s.readOnly {
		ferr = s.foldSummary()
	}
	if s.closing != nil {
		close(s.closing)
	}
	err := s.db.Close()
	if err == nil {
		err = ferr
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	if s.readOnly || s.marker == nil {
		return err
	}
	if d := s.reads.damage(s.Dir); d != nil {
		if merr := s.recordDamage(d); merr != nil {
			return merr
		}
		return d
	}
	if err == nil {
		err = s.markClean()
	}
	if err == nil && s.snapKeep > 0 {
		s.snapPath, s.snapErr = s.snapshot()
	}
	return err
}

// DB exposes Badger for packages that build their own transactions.
func (s *Store) DB() *badger.DB { return s.db }

func (s *Store) initSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keySchema)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return setJSON(txn, keySchema, map[string]int{"v": schemaVersion})
		}
		if err != nil {
			return err
		}
		var v struct{ V int }
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
			return err
		}
		if v.V > schemaVersion {
			return fmt.Errorf("state schema %d is newer than this shuffle understands (%d); use a newer shuffle", v.V, schemaVersion)
		}
		return nil
	})
}

// prefixIterator iterates the records under p, prefetching their values.
// The prefix bounds the prefetch as well as the tables read: without it
// the iterator also prefetches up to 100 values past the last key under
// p, and after "part/" come the RP records, whose values sit in the
// value log.
func prefixIterator(txn *badger.Txn, p []byte) *badger.Iterator {
	o := badger.DefaultIteratorOptions
	o.Prefix = p
	return txn.NewIterator(o)
}

func setJSON(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

func getJSON(txn *badger.Txn, key []byte, v any) (bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

// Identity pins a state to the accounts and region it was made for.
type Identity struct {
	V                  int    `json:"v"`
	SourceAccount      string `json:"source_account"`
	DestinationAccount string `json:"destination_account"`
	Region             string `json:"region"`
}

// CheckIdentity records id on first use and refuses a state made for
// other accounts or another region.
func (s *Store) CheckIdentity(id Identity) error {
	id.V = schemaVersion
	err := s.db.Update(func(txn *badger.Txn) error {
		var have Identity
		ok, err := getJSON(txn, keyIdentity, &have)
		if err != nil {
			return err
		}
		if !ok {
			return setJSON(txn, keyIdentity, id)
		}
		if have.SourceAccount != id.SourceAccount || have.DestinationAccount != id.DestinationAccount || have.Region != id.Region {
			return fmt.Errorf("state %s was made for source %s, destination %s in %s, but the script names source %s, destination %s in %s; use another --state directory",
				s.Dir, have.SourceAccount, have.DestinationAccount, have.Region, id.SourceAccount, id.DestinationAccount, id.Region)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.noteAccounts(id)
}

// Generation returns the current inventory generation (starting at 1).
func (s *Store) Generation() (uint64, error) {
	var g uint64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyGeneration)
		if errors.Is(err, badger.ErrKeyNotFound) {
			g = 1
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			g, err = strconv.ParseUint(string(b), 10, 64)
			return err
		})
	})
	return g, err
}

// NewGeneration starts a fresh inventory: it bumps the generation and
// deletes every partition cursor, so every vault is listed again. RP
// records are kept and updated in place by the next listing.
func (s *Store) NewGeneration() (uint64, error) {
	g, err := s.Generation()
	if err != nil {
		return 0, err
	}
	g++
	if err := s.MarkDirty(EpochInventory); err != nil {
		return 0, err
	}
	if err := s.deletePrefix(prefixPart); err != nil {
		return 0, err
	}
	return g, s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyGeneration, uint64Bytes(g)) })
}

func (s *Store) deletePrefix(prefix []byte) error {
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix) && len(keys) < 10000; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		wb := s.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
	}
}

// RunCommand is the command a run-history entry records.
type RunCommand string

// The commands that record a run-history entry.
const (
	CommandPlan   RunCommand = "plan"
	CommandRun    RunCommand = "run"
	CommandVerify RunCommand = "verify"
)

// Run is one entry of the run history.
type Run struct {
	V       int               `json:"v"`
	Command RunCommand        `json:"command"`
	Script  string            `json:"script,omitempty"`
	Start   time.Time         `json:"start"`
	End     time.Time         `json:"end,omitempty"`
	Exit    int               `json:"exit"`
	Error   string            `json:"error,omitempty"`
	Counts  map[string]int64  `json:"counts,omitempty"`
	Flags   map[string]string `json:"flags,omitempty"`

	// Waiting are the source vaults whose included RPs waited for their
	// destination vault when the run ended, for status.
	Waiting []RunWaiting `json:"waiting,omitempty"`
}

// RunWaiting is one source vault whose RPs wait for its destination.
type RunWaiting struct {
	Vault          string `json:"vault"`
	RecoveryPoints int64  `json:"recovery_points"`
	Wait           string `json:"wait"`    // the reason's kind (replicate.WaitReason)
	Blocked        bool   `json:"blocked"` // the operator must act
	Reason         string `json:"reason"`
}

// PutRun writes (or rewrites) the run record keyed by its start time.
func (s *Store) PutRun(r Run) error {
	r.V = schemaVersion
	return s.db.Update(func(txn *badger.Txn) error { return setJSON(txn, runKey(r.Start.UnixNano()), r) })
}

// Runs returns the run history, oldest first.
func (s *Store) Runs() ([]Run, error) {
	var out []Run
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIterator(txn, prefixRun)
		defer it.Close()
		for it.Seek(prefixRun); it.ValidForPrefix(prefixRun); it.Next() {
			var r Run
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) }); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
