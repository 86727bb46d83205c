package state

import (
	"encoding/json"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// KMSKey is what the source account's KMS said of one key
// (kms:DescribeKey), kept so that each distinct key is asked once.
type KMSKey struct {
	// Manager is KMS's KeyManager ("AWS" or "CUSTOMER"); empty when
	// the key could not be described.
	Manager string `json:"manager,omitempty"`
	// Why says why the key could not be described (the error).
	Why string    `json:"why,omitempty"`
	At  time.Time `json:"at"`
}

// GetKMSKey reads what KMS said of key arn.
func (s *Store) GetKMSKey(arn string) (KMSKey, bool, error) {
	var k KMSKey
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, kmsKeyKey(arn), &k)
		return err
	})
	return k, ok, err
}

// PutKMSKey records what KMS said of key arn, committed before it
// returns (and so before any decision that depends on it).
func (s *Store) PutKMSKey(arn string, k KMSKey) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(kmsKeyKey(arn), b) })
}
