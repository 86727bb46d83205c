package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// Epochs let a resumed command skip work whose inputs did not change.
// Each kind of RP write has an epoch key; a writer sets it to a fresh
// unique value *before* (or in the same transaction as) the records it
// changes, so a crash can only leave an epoch newer than the data, which
// costs a recomputation, never a skipped one. A derived step (enrich,
// decide, the plan report) stores the epochs it computed from in a cache
// record; when they still match, its result still holds.
type EpochKind string

const (
	EpochInventory EpochKind = "inv"  // RPs listed: new, changed, gone
	EpochMeta      EpochKind = "meta" // metadata joined to RPs
	EpochDecision  EpochKind = "dec"  // decisions
	// EpochCopy: copy records, and the copying mark they put on RP
	// records. No decision depends on them (a copying RP is never
	// decided again), so the decide step's result stands across copies.
	EpochCopy EpochKind = "copy"
)

// Epochs is a snapshot of every epoch.
type Epochs struct {
	Inv  string `json:"inv"`
	Meta string `json:"meta"`
	Dec  string `json:"dec"`
	Copy string `json:"copy,omitempty"`
}

func newEpochValue() []byte {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}

// MarkDirty gives an epoch a new value, committed before returning.
func (s *Store) MarkDirty(k EpochKind) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(epochKey(k), newEpochValue()) })
}

// Epochs reads the current epochs.
func (s *Store) Epochs() (Epochs, error) {
	var e Epochs
	err := s.db.View(func(txn *badger.Txn) error {
		for k, dst := range map[EpochKind]*string{EpochInventory: &e.Inv, EpochMeta: &e.Meta, EpochDecision: &e.Dec, EpochCopy: &e.Copy} {
			item, err := txn.Get(epochKey(k))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			*dst = string(v)
		}
		return nil
	})
	return e, err
}

// GetCache reads a derived step's cache record into v.
func (s *Store) GetCache(name string, v any) (bool, error) {
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, cacheKey(name), v)
		return err
	})
	return ok, err
}

// PutCache writes a derived step's cache record.
func (s *Store) PutCache(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(cacheKey(name), b) })
}
