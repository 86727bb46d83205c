package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// checkStateID compares the state id Badger holds with the marker's. A
// state without a marker gets both: a new one (fresh) or one an older
// shuffle made, which must at least hold shuffle's schema record.
func (s *Store) checkStateID(fresh bool) error {
	var id string
	var hasSchema bool
	err := s.db.View(func(txn *badger.Txn) error {
		if item, err := txn.Get(keyStateID); err == nil {
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			id = string(v)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		_, err := txn.Get(keySchema)
		if err == nil {
			hasSchema = true
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return damagedByBadger(s.Dir, err)
	}
	m := s.marker
	switch {
	case m != nil && id == "":
		return damaged(s.Dir, "badger/", "holds no state id, but %s names state %s: Badger lost its records (a damaged MANIFEST or table?)", MarkerName, m.StateID)
	case m != nil && id != m.StateID:
		return damaged(s.Dir, "badger/", "holds state %s, but %s names state %s: the Badger files come from another state", id, MarkerName, m.StateID)
	case m != nil:
		return nil
	case !fresh && !hasSchema:
		return damaged(s.Dir, "badger/", "holds Badger files but no shuffle records (a damaged MANIFEST?)")
	case s.readOnly:
		return nil // an older shuffle's state, read as it is
	}
	// A new state, or an older shuffle's: give it an id and a marker.
	if id == "" {
		id = newStateID()
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyStateID, []byte(id)) }); err != nil {
			return err
		}
	}
	s.marker = &Marker{Format: markerFormat, StateID: id, Created: time.Now().UTC()}
	var have Identity
	if err := s.db.View(func(txn *badger.Txn) error { _, err := getJSON(txn, keyIdentity, &have); return err }); err != nil {
		return damagedByBadger(s.Dir, err)
	}
	s.marker.SourceAccount, s.marker.DestinationAccount, s.marker.Region = have.SourceAccount, have.DestinationAccount, have.Region
	return writeMarker(s.Dir, s.marker)
}

func newStateID() string {
	return string(newEpochValue()) + string(newEpochValue())[:8]
}

// noteAccounts records the accounts in the marker once they are known.
func (s *Store) noteAccounts(id Identity) error {
	m := s.marker
	if m == nil || s.readOnly || (m.SourceAccount == id.SourceAccount && m.DestinationAccount == id.DestinationAccount && m.Region == id.Region) {
		return nil
	}
	m.SourceAccount, m.DestinationAccount, m.Region = id.SourceAccount, id.DestinationAccount, id.Region
	return writeMarker(s.Dir, m)
}

// markClean records the files after a clean close.
func (s *Store) markClean() error {
	fs, err := snapshotFiles(filepath.Join(s.Dir, "badger"))
	if err != nil {
		return fmt.Errorf("record the state's files in %s: %w", MarkerName, err)
	}
	s.marker.Clean, s.marker.LastClose = true, fs
	return writeMarker(s.Dir, s.marker)
}

// StateID is the state's random id (empty for an older shuffle's state
// opened read-only).
func (s *Store) StateID() string {
	if s.marker == nil {
		return ""
	}
	return s.marker.StateID
}
