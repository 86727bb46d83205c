package state

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// summaryVersion is sum/ok's "v": 2 adds the forecast entries (fw/,
// fd/) to the counters, 3 the delete date and the priority to the work
// entries; a state at an older one is recounted.
const summaryVersion = 3

// summaryOK is sum/ok's value.
type summaryOK struct {
	V int `json:"v"`
}

// foldAfter is how many delta records a writer lets pile up before it
// folds them into the base.
const foldAfter = 2048

// summaryChunk is how many cells one base record holds.
const summaryChunk = 4096

// counters is a Store's part in keeping the counters.
type counters struct {
	// wmu and vmu serialise the writes that carry a delta: each reads
	// the records it replaces inside its transaction, and conflict
	// detection is off, so two must not replace one record at once. A
	// writer confined to one vault's records (a listed page) holds wmu
	// shared and that vault's mutex, so the vaults listed side by side
	// write side by side; any other writer holds wmu alone.
	wmu sync.RWMutex
	vmu sync.Map // vault name -> *sync.Mutex
	// fmu: one fold at a time.
	fmu sync.Mutex
	// deltas counts delta records since the last fold (approximately:
	// only this process's).
	deltas atomic.Int64
	seq    atomic.Uint32
	// off: the state keeps no counters (read-only open of an older
	// state).
	off bool
}

// update runs fn in a read-write transaction that commits, with what fn
// wrote, the counters' delta fn tallied. fn may run more than once.
func (s *Store) update(fn func(txn *badger.Txn, t *tally) error) error {
	s.sum.wmu.Lock()
	defer s.sum.wmu.Unlock()
	return s.updateLocked(fn)
}

// updateVault is update for a writer that reads and writes only the
// records of one vault (and blind sets, such as epochs).
func (s *Store) updateVault(vault string, fn func(txn *badger.Txn, t *tally) error) error {
	s.sum.wmu.RLock()
	defer s.sum.wmu.RUnlock()
	m, _ := s.sum.vmu.LoadOrStore(vault, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	return s.updateLocked(fn)
}

func (s *Store) updateLocked(fn func(txn *badger.Txn, t *tally) error) error {
	var wrote bool
	err := s.db.Update(func(txn *badger.Txn) error {
		t := &tally{}
		if err := fn(txn, t); err != nil {
			return err
		}
		wrote = false
		if err := t.applyOps(txn); err != nil {
			return err
		}
		if t.empty() {
			return nil
		}
		wrote = true
		key := summaryDeltaKey(time.Now().UnixNano(), s.sum.seq.Add(1))
		return txn.Set(key, encodeSummary(&summaryRecord{cells: t.cells, minStart: t.minStart, maxEnd: t.maxEnd}))
	})
	if err == nil && wrote && s.sum.deltas.Add(1) >= foldAfter {
		err = s.foldSummary()
	}
	return err
}

// readSummary sums the base and the deltas of one read transaction,
// for the cubes named (none: all).
func readSummary(txn *badger.Txn, cubes ...Cube) (*Summary, error) {
	if _, err := txn.Get(keySummaryOK); errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNoSummary
	} else if err != nil {
		return nil, err
	}
	sum := &Summary{Cells: map[Cell]Measure{}}
	var minStart, maxEnd int64
	want := func(c Cube) bool { return len(cubes) == 0 || containsCubeOf(cubes, c) }
	add := func(c Cell, m Measure) {
		if !want(c.Cube) {
			return
		}
		v := sum.Cells[c]
		v.add(m, 1)
		if v.zero() {
			delete(sum.Cells, c)
		} else {
			sum.Cells[c] = v
		}
	}
	times := func(a, b int64) {
		if a != 0 && (minStart == 0 || a < minStart) {
			minStart = a
		}
		if b > maxEnd {
			maxEnd = b
		}
	}
	it := prefixIterator(txn, prefixSummary)
	defer it.Close()
	for it.Seek(prefixSummary); it.ValidForPrefix(prefixSummary); it.Next() {
		item := it.Item()
		k := item.Key()
		base := bytes.HasPrefix(k, prefixSummaryBase)
		if !base && !bytes.HasPrefix(k, prefixSumDelta) {
			continue
		}
		if base {
			if len(k) != len(prefixSummaryBase)+5 || !knownCube(Cube(k[len(prefixSummaryBase)])) {
				return nil, ErrNoSummary // a layout this shuffle does not know: recount
			}
			if !want(Cube(k[len(prefixSummaryBase)])) {
				continue
			}
		}
		if bytes.HasPrefix(k, prefixSumDelta) {
			sum.Deltas++
		}
		if err := item.Value(func(b []byte) error { return decodeSummary(b, add, times) }); err != nil {
			return nil, fmt.Errorf("state: counters %q: %w (run `shuffle state check`; the counters are rebuilt by `shuffle state recount`)", k, err)
		}
	}
	if minStart != 0 {
		sum.FirstStart = time.Unix(0, minStart).UTC()
	}
	if maxEnd != 0 {
		sum.LastCompletion = time.Unix(0, maxEnd).UTC()
	}
	return sum, nil
}

func knownCube(c Cube) bool { return c == CubeReasons || c == CubeTime || c == CubeAPMID }

func containsCubeOf(list []Cube, c Cube) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// Summary returns the counters as they stand, of the cubes named (none:
// all), or ErrNoSummary when the state keeps none.
func (s *Store) Summary(cubes ...Cube) (*Summary, error) {
	if s.sum.off {
		return nil, ErrNoSummary
	}
	var sum *Summary
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		sum, err = readSummary(txn, cubes...)
		return err
	})
	return sum, err
}

// hasDeltas reports whether any delta waits to be folded (keys only).
func (s *Store) hasDeltas() (bool, error) { return s.hasPrefix(prefixSumDelta) }

// foldSummary writes base + deltas as the new base and deletes the
// deltas it read, in one transaction. Deltas committed meanwhile are not
// read, and stay.
func (s *Store) foldSummary() error {
	s.sum.fmu.Lock()
	defer s.sum.fmu.Unlock()
	s.sum.deltas.Store(0)
	if s.sum.off {
		return nil
	}
	if ok, err := s.hasDeltas(); err != nil || !ok {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		sum, err := readSummary(txn)
		if errors.Is(err, ErrNoSummary) {
			return nil
		}
		if err != nil {
			return err
		}
		if sum.Deltas == 0 {
			return nil
		}
		if err := deletePrefixIn(txn, prefixSumDelta); err != nil {
			return err
		}
		return writeSummaryBase(txn, sum)
	})
}

// writeSummaryBase replaces the base with sum's cells.
func writeSummaryBase(txn *badger.Txn, sum *Summary) error {
	if err := deletePrefixIn(txn, prefixSummaryBase); err != nil {
		return err
	}
	var minStart, maxEnd int64
	if !sum.FirstStart.IsZero() {
		minStart = sum.FirstStart.UnixNano()
	}
	if !sum.LastCompletion.IsZero() {
		maxEnd = sum.LastCompletion.UnixNano()
	}
	byCube := map[Cube][]Cell{}
	for c := range sum.Cells {
		byCube[c.Cube] = append(byCube[c.Cube], c)
	}
	// The job times ride in the reasons cube's first chunk, which is
	// written even when empty.
	if byCube[CubeReasons] == nil {
		byCube[CubeReasons] = []Cell{}
	}
	for cube, cells := range byCube {
		for chunk := 0; chunk == 0 || chunk*summaryChunk < len(cells); chunk++ {
			rec := &summaryRecord{cells: map[Cell]Measure{}}
			if cube == CubeReasons && chunk == 0 {
				rec.minStart, rec.maxEnd = minStart, maxEnd
			}
			for _, c := range cells[chunk*summaryChunk : min(len(cells), (chunk+1)*summaryChunk)] {
				rec.cells[c] = sum.Cells[c]
			}
			if err := txn.Set(summaryBaseKey(cube, chunk), encodeSummary(rec)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureSummary readies the counters on a read-write open: a state that
// keeps them folds what deltas it has; one that does not (new, or made
// by an earlier shuffle) gets them, built from one full scan.
func (s *Store) ensureSummary() error {
	var mark summaryOK
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, keySummaryOK, &mark)
		return err
	})
	if err != nil {
		return err
	}
	if ok && mark.V >= summaryVersion {
		// The reasons cube is small: reading it checks the base's layout.
		if _, err := s.Summary(CubeReasons); !errors.Is(err, ErrNoSummary) {
			if err != nil {
				return err
			}
			return s.foldSummary()
		}
	}
	rps, err := s.hasPrefix(prefixRP)
	if err != nil {
		return err
	}
	copies, err := s.hasPrefix(prefixCopy)
	if err != nil {
		return err
	}
	if !rps && !copies { // nothing to count yet
		return s.db.Update(func(txn *badger.Txn) error { return setJSON(txn, keySummaryOK, summaryOK{V: summaryVersion}) })
	}
	if s.notice != nil {
		s.notice(fmt.Sprintf("building the counters of %s from its records: once, for a state an earlier shuffle made (about 30 s per million recovery points)", s.Dir))
	}
	return s.Recount()
}

// CountByScan computes the counters from a full scan of every RP and
// copy record (what they must equal).
func (s *Store) CountByScan() (*Summary, error) { return s.countByScan(nil) }

// countByScan is CountByScan; with wb, it also writes every forecast
// entry there.
func (s *Store) countByScan(wb *badger.WriteBatch) (*Summary, error) {
	t := &tally{}
	err := s.JoinCopies("", func(rp *RP, rec *CopyRecord) error {
		t.add(rp, rec, 1)
		if rec != nil {
			t.times(rec)
		}
		if wb == nil || rp == nil {
			return nil
		}
		w, d := forecastEntries(rp, rec)
		if w != nil {
			if err := wb.Set(fcKey(prefixFcWork, rp.Vault, rp.Arn), w.encode()); err != nil {
				return err
			}
		}
		if d != nil {
			return wb.Set(fcKey(prefixFcDone, rp.Vault, rp.Arn), d.encode())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.flush()
	sum := &Summary{Cells: map[Cell]Measure{}}
	for c, m := range t.cells {
		if !m.zero() {
			sum.Cells[c] = m
		}
	}
	if t.minStart != 0 {
		sum.FirstStart = time.Unix(0, t.minStart).UTC()
	}
	if t.maxEnd != 0 {
		sum.LastCompletion = time.Unix(0, t.maxEnd).UTC()
	}
	return sum, nil
}

// Recount rebuilds the counters from a full scan. It holds the write
// mutex throughout, so no write of this process lands between the scan
// and the new base.
func (s *Store) Recount() error {
	if s.readOnly {
		return fmt.Errorf("state: recount needs a read-write open")
	}
	s.sum.wmu.Lock()
	defer s.sum.wmu.Unlock()
	s.sum.fmu.Lock()
	defer s.sum.fmu.Unlock()
	// Without sum/ok until the end, a crash leaves a state that is
	// recounted at its next open.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keySummaryOK) }); err != nil {
		return err
	}
	for _, p := range [][]byte{prefixFcWork, prefixFcDone} {
		if err := s.deletePrefix(p); err != nil {
			return err
		}
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	sum, err := s.countByScan(wb)
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return err
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := deletePrefixIn(txn, prefixSumDelta); err != nil {
			return err
		}
		if err := writeSummaryBase(txn, sum); err != nil {
			return err
		}
		return setJSON(txn, keySummaryOK, summaryOK{V: summaryVersion})
	})
	s.sum.deltas.Store(0)
	s.sum.off = false
	return err
}

// SummaryDiff lists how the counters differ from want (a CountByScan),
// one line per cell; none when they agree.
func SummaryDiff(got, want *Summary) []string {
	var out []string
	for c, w := range want.Cells {
		if g := got.Cells[c]; g != w {
			out = append(out, fmt.Sprintf("%s: counted %+v, scan %+v", c, g, w))
		}
	}
	for c, g := range got.Cells {
		if _, ok := want.Cells[c]; !ok {
			out = append(out, fmt.Sprintf("%s: counted %+v, scan has none", c, g))
		}
	}
	return out
}

// String names a cell for messages.
func (c Cell) String() string {
	return fmt.Sprintf("%c[vault=%s type=%s/%s status=%s outcome=%s rule=%q reason=%q copy=%q/%q apmid=%q(%v) copying=%v orphan=%v hour=%d]",
		c.Cube, c.Vault, c.Type, c.SType, c.Status, c.Outcome, c.Rule, c.DReason, c.CReason, c.FailKey, c.APMID, c.HasAPMID, c.Copying, c.Orphan, c.Hour)
}

// deletePrefixIn deletes, in txn, every key under p that txn sees (the
// counters' keys: a few thousand at most).
func deletePrefixIn(txn *badger.Txn, p []byte) error {
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
