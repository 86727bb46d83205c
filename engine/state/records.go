package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Vault is a vault as listed, with the settings shuffle replicates.
type Vault struct {
	V                      int               `json:"v"`
	Side                   Side              `json:"side"`
	Name                   string            `json:"name"`
	Arn                    string            `json:"arn"`
	VaultType              string            `json:"vault_type"`
	VaultState             string            `json:"vault_state,omitempty"`
	EncryptionKeyArn       string            `json:"encryption_key_arn,omitempty"`
	EncryptionKeyType      string            `json:"encryption_key_type,omitempty"`
	Locked                 bool              `json:"locked"`
	MinRetentionDays       *int64            `json:"min_retention_days,omitempty"`
	MaxRetentionDays       *int64            `json:"max_retention_days,omitempty"`
	LockDate               *time.Time        `json:"lock_date,omitempty"`
	AccessPolicy           string            `json:"access_policy,omitempty"`
	SNSTopicArn            string            `json:"sns_topic_arn,omitempty"`
	Events                 []string          `json:"events,omitempty"`
	Tags                   map[string]string `json:"tags,omitempty"`
	NumberOfRecoveryPoints int64             `json:"number_of_recovery_points"`
	ListedAt               time.Time         `json:"listed_at"`
	// Generation is bumped by 'shuffle reset vault NAME'; the vault's
	// effective inventory generation is the larger of it and the global one.
	Generation uint64 `json:"generation,omitempty"`
	// InventoryDone is the generation in which every partition of the
	// vault was listed to the end (0: not yet).
	InventoryDone uint64 `json:"inventory_done,omitempty"`

	// The listing marks of a source vault (ADR 0001, transitions 7 and
	// 8), carried from record to record by the inventory.
	Marks ListingMarks `json:"marks,omitzero"`
}

// ListingMarks are what the inventory remembers of a source vault's
// listings, to list only what changed next time.
type ListingMarks struct {
	// HighWater is the latest CreationDate a listing of the vault saw.
	HighWater time.Time `json:"high_water,omitzero"`
	// OpenFrom is the CreationDate of the oldest RP last listed in a
	// status that is not final (zero: none).
	OpenFrom time.Time `json:"open_from,omitzero"`
	// DeltaAt is when the last delta listing of the vault ended.
	DeltaAt time.Time `json:"delta_at,omitzero"`
	// CoveredAt is when the last listing that ended (delta or full)
	// began: every RP AWS listed by then and created before it is in the
	// state.
	CoveredAt time.Time `json:"covered_at,omitzero"`
	// ReconciledAt is when the last full listing of the vault ended.
	ReconciledAt time.Time `json:"reconciled_at,omitzero"`
	// CountOffset is NumberOfRecoveryPoints less the live RPs that full
	// listing found; CountUnreliable says the count has been found to
	// disagree with a listing that found nothing to change, so it no
	// longer asks for a reconciliation.
	CountOffset     int64 `json:"count_offset,omitempty"`
	CountUnreliable bool  `json:"count_unreliable,omitempty"`
	// Reconcile, when set, says why the next command lists the vault
	// whole.
	Reconcile string `json:"reconcile,omitempty"`
}

// Partition is the cursor of one NextToken chain.
type Partition struct {
	V            int       `json:"v"`
	Vault        string    `json:"vault"`
	ID           string    `json:"id"`
	ResourceType string    `json:"resource_type,omitempty"`
	After        int64     `json:"after,omitempty"`  // unix seconds; 0 = no bound
	Before       int64     `json:"before,omitempty"` // unix seconds; 0 = no bound
	NextToken    string    `json:"next_token,omitempty"`
	Pages        int       `json:"pages"`
	Seen         int64     `json:"seen"`
	Done         bool      `json:"done"`
	Generation   uint64    `json:"generation"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Delta marks a vault's delta cursor (DeltaPartitionID).
	Delta bool `json:"delta,omitempty"`
	// HighWater and OpenFrom (Unix seconds; 0: none) are the latest
	// CreationDate the partition's pages listed and the earliest of an
	// RP they listed in a status that is not final.
	HighWater int64 `json:"high_water,omitempty"`
	OpenFrom  int64 `json:"open_from,omitempty"`
}

// DeltaPartitionID is the id of a vault's delta cursor; no resource
// type is "~delta".
const DeltaPartitionID = "~delta"

// FinalStatus reports whether an RP in status s can no longer change
// but by going: COMPLETED, PARTIAL, EXPIRED, AVAILABLE, STOPPED and
// DELETING are final (an RP going is found by a full listing, never by
// a delta); CREATING and any status shuffle does not know are not, and
// a delta listing lists such an RP again.
func FinalStatus(s string) bool {
	switch s {
	case "COMPLETED", "PARTIAL", "EXPIRED", "AVAILABLE", "STOPPED", "DELETING":
		return true
	}
	return false
}

// Outcome of a decision.
const (
	Included   = "included"
	Excluded   = "excluded"
	Ineligible = "ineligible"
	Failed     = "failed" // the policy itself failed; the RP is excluded
)

// Decision is what the engine and the policies decided for one RP.
type Decision struct {
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason"`
	Rule       string    `json:"rule"` // "engine:<rule>" or "policy:<module>"
	PolicyHash string    `json:"policy_hash"`
	MetaHash   string    `json:"meta_hash,omitempty"`
	At         time.Time `json:"at"`
	// Priority is what the policy that included the RP asked for (0:
	// none): the copier starts higher ones first within the quotas,
	// after those about to expire.
	Priority int `json:"priority,omitempty"`
}

// Conflict is a disagreement between metadata rows for one resource.
type Conflict struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
	Lines  []int    `json:"lines"`
}

// Meta is the metadata row joined to an RP.
type Meta struct {
	Fields   map[string]string `json:"fields,omitempty"`
	Blank    map[string]bool   `json:"blank,omitempty"`
	Lines    []int             `json:"lines,omitempty"`
	Conflict *Conflict         `json:"conflict,omitempty"`

	// keys are the names of Fields, sorted (SortKeys), so that encoding
	// a snapshot shared by many RPs does not sort them for each.
	keys []string
}

// SortKeys records the sorted names of m.Fields for EncodeRP. Call it
// before sharing m; a later change to Fields makes EncodeRP sort again.
func (m *Meta) SortKeys() { m.keys = sortedKeys(m.Fields) }

func sortedKeys(fields map[string]string) []string { return slices.Sorted(maps.Keys(fields)) }

// Copy states of an RP (issue 4 moves them past pending).
const (
	CopyPending = "" // not queued; decisions may still change
)

// RP is one source recovery point.
type RP struct {
	V                 int        `json:"v"`
	Arn               string     `json:"arn"`
	Vault             string     `json:"vault"`
	ResourceArn       string     `json:"resource_arn"`
	ResourceType      string     `json:"resource_type"`
	ResourceName      string     `json:"resource_name,omitempty"`
	Status            string     `json:"status"`
	StatusMessage     string     `json:"status_message,omitempty"`
	CreationDate      time.Time  `json:"creation_date"`
	CompletionDate    *time.Time `json:"completion_date,omitempty"`
	Size              int64      `json:"size"`
	DeleteAfterDays   *int64     `json:"delete_after_days,omitempty"`
	ColdAfterDays     *int64     `json:"cold_after_days,omitempty"`
	DeleteAt          *time.Time `json:"delete_at,omitempty"`
	MoveToColdAt      *time.Time `json:"move_to_cold_at,omitempty"`
	EncryptionKeyArn  string     `json:"encryption_key_arn,omitempty"`
	EncryptionKeyType string     `json:"encryption_key_type,omitempty"`
	IsEncrypted       bool       `json:"is_encrypted"`
	ParentArn         string     `json:"parent_arn,omitempty"`
	BackupPlanID      string     `json:"backup_plan_id,omitempty"`
	IamRoleArn        string     `json:"iam_role_arn,omitempty"`

	Seen uint64 `json:"seen"`           // inventory generation that last listed it
	Gone bool   `json:"gone,omitempty"` // no longer listed by the source
	// GoneAt is when a full listing found the RP gone; LastSeen the
	// latest time shuffle knows it was still listed (both set with Gone).
	GoneAt    *time.Time `json:"gone_at,omitempty"`
	LastSeen  *time.Time `json:"last_seen,omitempty"`
	FirstSeen time.Time  `json:"first_seen"`

	// Enriched is set once a metadata join has run for the RP; Meta is
	// nil when the CSV had no row for its resource.
	Enriched bool   `json:"enriched,omitempty"`
	MetaHash string `json:"meta_hash,omitempty"`
	Meta     *Meta  `json:"meta,omitempty"`

	Decision *Decision `json:"decision,omitempty"`
	Copy     string    `json:"copy,omitempty"`
}

// SameInventory reports whether the listed fields of a and b agree.
func SameInventory(a, b *RP) bool {
	return a.Arn == b.Arn && a.Vault == b.Vault && a.ResourceArn == b.ResourceArn && a.ResourceType == b.ResourceType &&
		a.ResourceName == b.ResourceName && a.Status == b.Status && a.StatusMessage == b.StatusMessage &&
		a.CreationDate.Equal(b.CreationDate) && sameTime(a.CompletionDate, b.CompletionDate) && a.Size == b.Size &&
		sameInt(a.DeleteAfterDays, b.DeleteAfterDays) && sameInt(a.ColdAfterDays, b.ColdAfterDays) &&
		sameTime(a.DeleteAt, b.DeleteAt) && sameTime(a.MoveToColdAt, b.MoveToColdAt) &&
		a.EncryptionKeyArn == b.EncryptionKeyArn && a.EncryptionKeyType == b.EncryptionKeyType && a.IsEncrypted == b.IsEncrypted &&
		a.ParentArn == b.ParentArn && a.BackupPlanID == b.BackupPlanID && a.IamRoleArn == b.IamRoleArn
}

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
func sameInt(a, b *int64) bool      { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// PutVault writes a vault record.
func (s *Store) PutVault(v *Vault) error {
	v.V = schemaVersion
	return s.db.Update(func(txn *badger.Txn) error { return setJSON(txn, vaultKey(v.Side, v.Name), v) })
}

// GetVault reads one vault; ok is false when it is not known.
func (s *Store) GetVault(side Side, name string) (v *Vault, ok bool, err error) {
	v = &Vault{}
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = getJSON(txn, vaultKey(side, name), v)
		return err
	})
	return v, ok, err
}

// Vaults lists the vaults of one side, by name.
func (s *Store) Vaults(side Side) ([]*Vault, error) {
	var out []*Vault
	p := vaultPrefix(side)
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIterator(txn, p)
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			v := &Vault{}
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, v) }); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Partitions lists the cursors of one vault.
func (s *Store) Partitions(vault string) ([]*Partition, error) {
	var out []*Partition
	p := partPrefix(vault)
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIterator(txn, p)
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			c := &Partition{}
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, c) }); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// PutPartitions writes cursors (used to lay out a vault's partitions).
func (s *Store) PutPartitions(parts []*Partition) error {
	return s.db.Update(func(txn *badger.Txn) error {
		for _, p := range parts {
			p.V = schemaVersion
			if err := setJSON(txn, partKey(p.Vault, p.ID), p); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkGone flags RPs of a vault that generation g did not list, as
// gone at now and last seen at the later of lastFull (the vault's previous
// full listing) and the RP's first sighting. It returns how many it
// flagged. Nothing is deleted.
func (s *Store) MarkGone(vault string, g uint64, now, lastFull time.Time) (int, error) {
	n := 0
	b := s.NewBatch(EpochInventory)
	defer b.Cancel()
	// Most records were listed by g: read only their generation and gone
	// flag, and decode in full only the ones to flag.
	err := s.scanValues(rpVaultPrefix(vault), func(key, val []byte) error {
		seen, gone, err := peekSeen(val)
		if err != nil {
			return fmt.Errorf("state: %s: %w", key, err)
		}
		if seen >= g || gone {
			return nil
		}
		rp := &RP{}
		if err := DecodeRP(val, rp); err != nil {
			return fmt.Errorf("state: %s: %w", key, err)
		}
		rp.Gone = true
		at, last := now.UTC(), lastFull.UTC()
		if rp.FirstSeen.After(last) {
			last = rp.FirstSeen
		}
		rp.GoneAt, rp.LastSeen = &at, &last
		n++
		return b.Put(rp)
	})
	if err != nil {
		return 0, err
	}
	return n, b.Flush()
}

// tallyRP tallies the change of cells when the record old (nil: none)
// is replaced by rp. The copy record is read only when the cells move;
// lookedUp false says the caller knows no record of the RP exists.
func tallyRP(txn *badger.Txn, t *tally, old, rp *RP, lookedUp bool) error {
	if old != nil && sameRow(old, rp) {
		return nil
	}
	var rec *CopyRecord
	if lookedUp {
		var c CopyRecord
		ok, err := getJSON(txn, copyKey(rp.Vault, rp.Arn), &c)
		if err != nil {
			return err
		}
		if ok {
			rec = &c
		}
	}
	t.change(old, rec, rp, rec)
	return nil
}

func getRP(txn *badger.Txn, key []byte, rp *RP) (bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(func(b []byte) error { return DecodeRP(b, rp) })
}

// HasRPs reports whether the state holds any RP of vault.
func (s *Store) HasRPs(vault string) (bool, error) { return s.hasPrefix(rpVaultPrefix(vault)) }

// HasAnyRP reports whether the state holds any RP, of any vault.
func (s *Store) HasAnyRP() (bool, error) { return s.hasPrefix(prefixRP) }

func (s *Store) hasPrefix(p []byte) (bool, error) {
	var has bool
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		it.Seek(p)
		has = it.ValidForPrefix(p)
		return nil
	})
	return has, err
}

// ScanVault calls fn for every RP of one vault, in ARN order.
func (s *Store) ScanVault(vault string, fn func(*RP) error) error {
	return s.scan(rpVaultPrefix(vault), fn)
}

// ScanRPs calls fn for every RP of every vault.
func (s *Store) ScanRPs(fn func(*RP) error) error { return s.scan(prefixRP, fn) }

// scanChunk is how many records one read transaction visits. Scans run
// in chunks because an open Badger iterator pins every memtable written
// while it is open: a single long scan that feeds a WriteBatch (enrich,
// decide) would keep a million writes in memory.
const scanChunk = 4096

func (s *Store) scan(prefix []byte, fn func(*RP) error) error {
	x := NewDecoder()
	return s.scanValues(prefix, func(key, val []byte) error {
		rp := &RP{}
		if err := x.Decode(val, rp); err != nil {
			return fmt.Errorf("state: %s: %w", key, err)
		}
		return fn(rp)
	})
}

// scanValues calls fn with each key and value under prefix, in chunks
// of scanChunk records per read transaction. The slices are valid only
// during the call.
func (s *Store) scanValues(prefix []byte, fn func(key, val []byte) error) error {
	if bytes.Equal(prefix, prefixRP) {
		s.fullScans.Add(1)
	}
	from := prefix
	for {
		var last []byte
		n := 0
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: prefix})
			defer it.Close()
			for it.Seek(from); it.ValidForPrefix(prefix) && n < scanChunk; it.Next() {
				item := it.Item()
				last = item.KeyCopy(last[:0])
				n++
				if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n < scanChunk {
			return err
		}
		from = append(append([]byte(nil), last...), 0) // the next key after last
	}
}

// ScanResourceArns calls fn with the resource ARN of every RP, reading
// only the start of each record.
func (s *Store) ScanResourceArns(fn func(resourceArn string) error) error {
	return s.scanValues(prefixRP, func(key, val []byte) error {
		arn, err := peekResourceArn(val)
		if err != nil {
			return fmt.Errorf("state: %s: %w", key, err)
		}
		return fn(arn)
	})
}

// CountLive counts the RPs not marked gone. It reads only each record's
// flag byte, not the whole record.
func (s *Store) CountLive() (int64, error) {
	s.fullScans.Add(1)
	var n int64
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIterator(txn, prefixRP)
		defer it.Close()
		for it.Seek(prefixRP); it.ValidForPrefix(prefixRP); it.Next() {
			err := it.Item().Value(func(b []byte) error {
				if len(b) >= 2 && b[0] == rpCodecV1 {
					if b[1]&flagGone == 0 {
						n++
					}
					return nil
				}
				var rp RP
				if err := DecodeRP(b, &rp); err != nil {
					return err
				}
				if !rp.Gone {
					n++
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// GetRP reads one RP by vault and ARN.
func (s *Store) GetRP(vault, arn string) (rp *RP, ok bool, err error) {
	rp = &RP{}
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = getRP(txn, rpKey(vault, arn), rp)
		return err
	})
	return rp, ok, err
}

// Batch writes RP updates in bulk (enrich, decide, gone). It commits
// a transaction per batchSize records, each with its counters' delta
// (a WriteBatch may split one group over several commits). A crash
// loses only the uncommitted part, which the next run recomputes. The
// batch marks its epoch dirty before its first record.
type Batch struct {
	s       *Store
	kind    EpochKind
	n       int
	pending []*RP
}

// batchSize is how many RPs one Batch transaction writes.
const batchSize = 1000

// NewBatch starts a bulk write of records of one kind.
func (s *Store) NewBatch(kind EpochKind) *Batch { return &Batch{s: s, kind: kind} }

// Put queues one RP record. The Batch keeps rp until it is written.
func (b *Batch) Put(rp *RP) error {
	if b.n == 0 {
		if err := b.s.MarkDirty(b.kind); err != nil {
			return err
		}
	}
	b.n++
	b.pending = append(b.pending, rp)
	if len(b.pending) >= batchSize {
		return b.Flush()
	}
	return nil
}

// Flush writes everything queued.
func (b *Batch) Flush() error {
	if len(b.pending) == 0 {
		return nil
	}
	recs := b.pending
	b.pending = nil
	return b.s.update(func(txn *badger.Txn, t *tally) error {
		for _, rp := range recs {
			rp.V = schemaVersion
			key := rpKey(rp.Vault, rp.Arn)
			var old RP
			found, err := getRP(txn, key, &old)
			if err != nil {
				return err
			}
			var oldP *RP
			if found {
				oldP = &old
			}
			if err := tallyRP(txn, t, oldP, rp, true); err != nil {
				return err
			}
			if err := txn.Set(key, EncodeRP(rp)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Cancel drops everything queued.
func (b *Batch) Cancel() { b.pending = nil }

// ResetDecisions clears decisions of RPs not yet copied (all vaults, or
// one) and returns how many it cleared.
func (s *Store) ResetDecisions(vault string) (int, error) {
	prefix := prefixRP
	if vault != "" {
		prefix = rpVaultPrefix(vault)
	}
	n := 0
	b := s.NewBatch(EpochDecision)
	defer b.Cancel()
	err := s.scan(prefix, func(rp *RP) error {
		if rp.Decision != nil && rp.Copy == CopyPending {
			rp.Decision = nil
			n++
			return b.Put(rp)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, b.Flush()
}

// ResetVaultInventory deletes one vault's cursors so its next inventory
// lists it again from the start. RP records stay.
func (s *Store) ResetVaultInventory(vault string) error {
	if err := s.MarkDirty(EpochInventory); err != nil {
		return err
	}
	if err := s.deletePrefix(partPrefix(vault)); err != nil {
		return err
	}
	v, ok, err := s.GetVault(Source, vault)
	if err != nil || !ok {
		return err
	}
	g, err := s.Generation()
	if err != nil {
		return err
	}
	v.Generation = max(v.Generation, g) + 1
	v.InventoryDone = 0
	return s.PutVault(v)
}
