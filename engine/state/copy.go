package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Copy states of a copy record (docs/adr/0002-copy-queue.md).
const (
	CopyIntent    = "intent"    // token saved; StartCopyJob may or may not have reached AWS
	CopyRunning   = "running"   // AWS accepted the attempt as JobID
	CopyRetry     = "retry"     // waiting for NextAt before the next attempt
	CopyCompleted = "completed" // the destination RP exists
	CopyFailed    = "failed"    // permanent, or out of attempts
	// CopyHeld: AWS may hold a copy of the RP already (a destination RP
	// that matches it ambiguously, or an intent whose outcome no listing
	// can tell), so shuffle starts none; each run looks again, and the
	// operator may release it with a requeue (ADR 0002, adoption).
	CopyHeld = "held"
)

// CopyingRP is the RP record's copy field once its first intent is
// written: the decide pass leaves such RPs alone.
const CopyingRP = "copying"

// Attempt is one StartCopyJob attempt and how it ended.
type Attempt struct {
	N         int        `json:"n"`
	JobID     string     `json:"job_id,omitempty"`
	State     string     `json:"state"` // the job's last known AWS state, or ERROR for a call that failed
	Message   string     `json:"message,omitempty"`
	Category  string     `json:"category,omitempty"`
	Retryable bool       `json:"retryable,omitempty"`
	At        time.Time  `json:"at"`
	End       *time.Time `json:"end,omitempty"`
}

// CopyRecord is the copy state of one RP.
type CopyRecord struct {
	V            int        `json:"v"`
	Vault        string     `json:"vault"`
	Arn          string     `json:"arn"`
	State        string     `json:"state"`
	Attempt      int        `json:"attempt"`
	Token        string     `json:"token"`
	DestVaultArn string     `json:"dest_vault_arn"`
	JobID        string     `json:"job_id,omitempty"`
	ResourceArn  string     `json:"resource_arn"`
	ResourceType string     `json:"resource_type"`
	Size         int64      `json:"size"`
	Created      time.Time  `json:"created"` // the source RP's creation date (chain order)
	IntentAt     time.Time  `json:"intent_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`   // the job's CreationDate
	CompletedAt  *time.Time `json:"completed_at,omitempty"` // the job's CompletionDate
	DestRPArn    string     `json:"dest_rp_arn,omitempty"`
	DestSize     int64      `json:"dest_size,omitempty"`
	TagState     string     `json:"tag_state,omitempty"` // "" (not yet), applied, none, unsupported, error
	TagError     string     `json:"tag_error,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	Category     string     `json:"category,omitempty"`
	NextAt       *time.Time `json:"next_at,omitempty"`
	Attempts     []Attempt  `json:"attempts,omitempty"`
	// Requeues counts the operator's requeues of this record (REPL
	// requeue{}: failed -> retry); RequeuedAt is the last one.
	Requeues   int        `json:"requeues,omitempty"`
	RequeuedAt *time.Time `json:"requeued_at,omitempty"`
}

// FailureKey is the class a failed or retried copy is counted under (in
// the copy summary, the run report, status and the forecast): its
// category, or the part of its reason before the first colon.
func (c *CopyRecord) FailureKey() string {
	if c.Category != "" {
		return c.Category
	}
	if i := strings.IndexByte(c.Reason, ':'); i > 0 {
		return c.Reason[:i]
	}
	return c.Reason
}

// Last returns the current attempt's entry, adding it if missing.
func (c *CopyRecord) Last() *Attempt {
	if n := len(c.Attempts); n > 0 && c.Attempts[n-1].N == c.Attempt {
		return &c.Attempts[n-1]
	}
	c.Attempts = append(c.Attempts, Attempt{N: c.Attempt})
	return &c.Attempts[len(c.Attempts)-1]
}

// CopyToken is the deterministic IdempotencyToken of one attempt to
// copy rpArn into destVaultArn (ADR 0002).
func CopyToken(rpArn, destVaultArn string, attempt int) string {
	h := sha256.New()
	h.Write([]byte(rpArn))
	h.Write([]byte{sep})
	h.Write([]byte(destVaultArn))
	h.Write([]byte{sep})
	h.Write([]byte(strconv.Itoa(attempt)))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// PutIntents commits the intents of a batch of copies, marks their RP
// records as copying (so no later decision touches them), and syncs the
// state to disk before returning: the StartCopyJob calls that depend on
// them may be made only after this returns.
func (s *Store) PutIntents(recs []*CopyRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.update(func(txn *badger.Txn, t *tally) error {
		if err := txn.Set(epochKey(EpochCopy), newEpochValue()); err != nil {
			return err
		}
		for _, c := range recs {
			if c.State != CopyIntent || c.Token == "" {
				return fmt.Errorf("copy %s: intent record in state %q without a token", c.Arn, c.State)
			}
			if ok, err := putCopy(txn, t, c, true); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("copy %s: no RP record in vault %s", c.Arn, c.Vault)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.db.Sync()
}

// PutAdopted commits the records of copies found in AWS before this
// state started them (completed, running, or held), marks their RP
// records as copying, and syncs, like PutIntents: no StartCopyJob may
// depend on them until it returns. Batches of 2,000 records keep each
// transaction under Badger's size limit; a crash between two leaves the
// rest unadopted, which the next run finds again.
func (s *Store) PutAdopted(recs []*CopyRecord) error {
	for start := 0; start < len(recs); start += 2000 {
		end := min(start+2000, len(recs))
		err := s.update(func(txn *badger.Txn, t *tally) error {
			if err := txn.Set(epochKey(EpochCopy), newEpochValue()); err != nil {
				return err
			}
			for _, c := range recs[start:end] {
				switch c.State {
				case CopyCompleted, CopyRunning, CopyHeld:
				default:
					return fmt.Errorf("copy %s: adopted record in state %q", c.Arn, c.State)
				}
				if _, err := putCopy(txn, t, c, true); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(recs) == 0 {
		return nil
	}
	return s.db.Sync()
}

// AdoptionMark records that this state has looked in AWS for copies it
// did not start (ADR 0002, adoption): written once the whole sweep is
// committed, so a crash inside the sweep leaves no mark and the next
// run sweeps again.
type AdoptionMark struct {
	// At is when the last sweep began: an RP decided since then was not
	// a candidate of any sweep.
	At time.Time `json:"at"`
	// Vaults are the destination vault ARNs swept so far.
	Vaults  []string `json:"vaults"`
	Jobs    int64    `json:"jobs"`     // copy jobs ListCopyJobs listed
	DestRPs int64    `json:"dest_rps"` // destination RPs listed
	Adopted int64    `json:"adopted"`
	Held    int64    `json:"held"`
	// InvEpoch and DecEpoch are the listings' and the decisions'
	// epochs when the sweep began: while both still are, no RP has been
	// listed or decided since (a listing decides the RPs it adds), so no
	// new candidate can exist in the vaults swept.
	InvEpoch string `json:"inv_epoch,omitempty"`
	DecEpoch string `json:"dec_epoch,omitempty"`
}

// Adoption returns the adoption mark (ok false: never swept).
func (s *Store) Adoption() (m AdoptionMark, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = getJSON(txn, keyCopyAdopted, &m)
		return err
	})
	return m, ok, err
}

// MarkAdopted writes the adoption mark and syncs.
func (s *Store) MarkAdopted(m AdoptionMark) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return setJSON(txn, keyCopyAdopted, m) }); err != nil {
		return err
	}
	return s.db.Sync()
}

// ForgetAdoption deletes the adoption mark, so the next run sweeps AWS
// again before its first StartCopyJob. A state restored from an older
// snapshot needs this: copies started after the snapshot have no record.
func (s *Store) ForgetAdoption() error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyCopyAdopted) })
}

// putCopy writes copy record c and, with mark, marks its RP record as
// copying (so that no later decision touches it), tallying the change
// of cells from the records it replaces. ok is false when the RP has no
// record (c is written all the same).
func putCopy(txn *badger.Txn, t *tally, c *CopyRecord, mark bool) (ok bool, err error) {
	var old CopyRecord
	hadOld, err := getJSON(txn, copyKey(c.Vault, c.Arn), &old)
	if err != nil {
		return false, err
	}
	var rp RP
	if ok, err = getRP(txn, rpKey(c.Vault, c.Arn), &rp); err != nil {
		return false, err
	}
	var oldRP, newRP *RP
	if ok {
		oldRP, newRP = &rp, &rp
		if mark && rp.Copy != CopyingRP {
			marked := rp
			marked.Copy, marked.V = CopyingRP, schemaVersion
			if err := txn.Set(rpKey(rp.Vault, rp.Arn), EncodeRP(&marked)); err != nil {
				return false, err
			}
			newRP = &marked
		}
	}
	var oldRec *CopyRecord
	if hadOld {
		oldRec = &old
	}
	c.V = 1
	b, err := json.Marshal(c)
	if err != nil {
		return false, err
	}
	t.change(oldRP, oldRec, newRP, c)
	return ok, txn.Set(copyKey(c.Vault, c.Arn), b)
}

// PutCopies commits copy records, and the poll watermark when not nil,
// in one transaction (split into several only past Badger's size limit).
func (s *Store) PutCopies(recs []*CopyRecord, watermark *time.Time) error {
	if len(recs) == 0 && watermark == nil {
		return nil
	}
	for start := 0; start < len(recs) || start == 0; start += 2000 {
		end := min(start+2000, len(recs))
		last := end >= len(recs)
		err := s.update(func(txn *badger.Txn, t *tally) error {
			if err := txn.Set(epochKey(EpochCopy), newEpochValue()); err != nil {
				return err
			}
			for _, c := range recs[start:end] {
				if _, err := putCopy(txn, t, c, false); err != nil {
					return err
				}
			}
			if last && watermark != nil {
				return setJSON(txn, keyCopyWatermark, watermark.UTC())
			}
			return nil
		})
		if err != nil {
			return err
		}
		if last {
			break
		}
	}
	return nil
}

// GetCopy reads one copy record.
func (s *Store) GetCopy(vault, arn string) (*CopyRecord, bool, error) {
	var c CopyRecord
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, copyKey(vault, arn), &c)
		return err
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	return &c, true, nil
}

// ScanCopies calls fn for every copy record, in vault and ARN order.
func (s *Store) ScanCopies(fn func(*CopyRecord) error) error {
	return s.scanValues(prefixCopy, func(key, val []byte) error {
		c := &CopyRecord{}
		if err := json.Unmarshal(val, c); err != nil {
			return fmt.Errorf("copy record %q: %w", key, err)
		}
		return fn(c)
	})
}

// ScanVaultCopies calls fn for every copy record of one vault.
func (s *Store) ScanVaultCopies(vault string, fn func(*CopyRecord) error) error {
	return s.scanValues(copyVaultPrefix(vault), func(key, val []byte) error {
		c := &CopyRecord{}
		if err := json.Unmarshal(val, c); err != nil {
			return fmt.Errorf("copy record %q: %w", key, err)
		}
		return fn(c)
	})
}

// CopyWatermark is the completion time up to which finished jobs have
// been applied (zero: never polled).
func (s *Store) CopyWatermark() (time.Time, error) {
	var t time.Time
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := getJSON(txn, keyCopyWatermark, &t)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		err = nil
	}
	return t, err
}

// CopyKey names one copy record: the source vault and the RP ARN.
type CopyKey struct{ Vault, Arn string }

// Requeue moves c from failed (or held: the operator has checked that
// AWS holds no copy of it) back to retry, due at once, keeping its
// attempt history. It reports false (and changes nothing) for a record
// in any other state: a completed copy is never requeued.
func (c *CopyRecord) Requeue(now time.Time) bool {
	if c.State != CopyFailed && c.State != CopyHeld {
		return false
	}
	c.State, c.NextAt = CopyRetry, nil
	c.Requeues++
	t := now.UTC()
	c.RequeuedAt = &t
	return true
}

// RequeueCopies moves the failed copy records among keys back to retry
// (ADR 0002: the next attempt gets a new token when the failed one had
// a job) in one transaction per 2,000 records, and returns those it
// moved. Records in any other state are left alone.
func (s *Store) RequeueCopies(keys []CopyKey, now time.Time) ([]*CopyRecord, error) {
	var out []*CopyRecord
	for start := 0; start < len(keys); start += 2000 {
		end := min(start+2000, len(keys))
		var moved []*CopyRecord
		err := s.update(func(txn *badger.Txn, t *tally) error {
			moved = moved[:0]
			for _, k := range keys[start:end] {
				var c CopyRecord
				ok, err := getJSON(txn, copyKey(k.Vault, k.Arn), &c)
				if err != nil {
					return err
				}
				if !ok || !c.Requeue(now) {
					continue
				}
				if len(moved) == 0 {
					if err := txn.Set(epochKey(EpochCopy), newEpochValue()); err != nil {
						return err
					}
				}
				if _, err := putCopy(txn, t, &c, false); err != nil {
					return err
				}
				moved = append(moved, &c)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, moved...)
	}
	return out, nil
}
