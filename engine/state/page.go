package state

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Saving a listed page (ADR 0001, transition 1): the page's RPs are
// merged with their stored records and, where the caller asks, decided
// before the transaction opens (no Lua inside a Badger transaction);
// the transaction then writes them with the partition cursor.

// PageResult tells what SavePage did.
type PageResult struct{ New, Changed, Unchanged int }

// SavePage upserts one listed page of RPs and advances the partition
// cursor in a single transaction: after a crash, either both are saved
// or neither is, and the page is listed again.
func (s *Store) SavePage(part *Partition, rps []*RP, now time.Time) (PageResult, error) {
	return s.SavePageWith(part, rps, now, PageOptions{})
}

// PageOptions are the engine's hooks into SavePageWith.
type PageOptions struct {
	// Prepare is called on each record about to be written new or with
	// changed listed fields while its copy is still pending: the engine
	// joins the metadata and decides it there, so that a cold run writes
	// each RP once. It runs before the page's transaction opens (a policy
	// never runs inside a transaction), on the record as the state holds
	// it then; if another page writes the RP meanwhile, the RP is merged
	// and prepared again. lookedUp says whether the RP was looked up in
	// the state (MayExist): one that was not cannot have been written by
	// another page. An error from Prepare saves nothing.
	Prepare func(rp *RP, lookedUp bool) error
	// MayExist, when set and false for an RP, says the RP cannot be in
	// the state yet: it is saved as new without looking it up. The
	// inventory sets it for a vault that had no RP at all when the run
	// began (HasRPs), where only partitions that overlap can list an RP
	// twice.
	MayExist func(*RP) bool
}

// pageRP is one listed RP of a page on its way to the state.
type pageRP struct {
	rp       *RP
	key      []byte
	lookedUp bool
	merged   bool   // rec and kind are set, from the record at version
	found    bool   // a record was found
	version  uint64 // of the record merged; 0 when none
	rec      *RP    // what is written; nil: nothing (unchanged and seen)
	old      *RP    // the record merged (nil: none), for the counters
	kind     int    // pageNew, pageChanged or pageUnchanged
	prepared bool   // Prepare ran on rec as merged
}

const (
	pageNew = iota
	pageChanged
	pageUnchanged
)

// errPagePrepare ends a page's transaction without writing: some RPs
// must be prepared first, outside it.
var errPagePrepare = errors.New("state: page records to prepare")

// SavePageWith is SavePage with the engine's hooks. Prepare never runs
// inside a transaction: RPs that cannot be in the state are prepared
// first; the transaction then reads and merges the others, and if some
// need preparing it ends without writing, they are prepared, and a new
// transaction writes the page after checking that no record merged has
// changed meanwhile (one that has is merged again).
func (s *Store) SavePageWith(part *Partition, rps []*RP, now time.Time, o PageOptions) (PageResult, error) {
	page := make([]pageRP, len(rps))
	for i, rp := range rps {
		e := &page[i]
		*e = pageRP{rp: rp, key: rpKey(rp.Vault, rp.Arn), lookedUp: o.MayExist == nil || o.MayExist(rp)}
		if !e.lookedUp {
			e.merged = true
			e.rec, e.kind = mergeRP(part, rp, nil, now)
		}
	}
	for attempt := 0; ; attempt++ {
		if o.Prepare != nil {
			for i := range page {
				e := &page[i]
				if e.merged && !e.prepared && needsPrepare(e) {
					if err := o.Prepare(e.rp, e.lookedUp); err != nil {
						return PageResult{}, err
					}
					e.prepared = true
				}
			}
		}
		res, err := s.writePage(part, page, now, o.Prepare != nil)
		if (errors.Is(err, errPagePrepare) && attempt < 100) || (errors.Is(err, badger.ErrConflict) && attempt < 10) {
			continue
		}
		return res, err
	}
}

func needsPrepare(e *pageRP) bool { return e.rec == e.rp && e.rp.Copy == CopyPending }

// mergeRP is what to write for rp listed by part, given the record the
// state holds (nil for none).
func mergeRP(part *Partition, rp, old *RP, now time.Time) (*RP, int) {
	switch {
	case old == nil:
		rp.FirstSeen = now
		return rp, pageNew
	case SameInventory(old, rp) && !old.Gone:
		if old.Seen == part.Generation {
			return nil, pageUnchanged
		}
		old.Seen = part.Generation
		return old, pageUnchanged
	}
	// Listed fields changed: keep what shuffle learnt (metadata,
	// decision, copy state), refresh the rest. A changed RP that is
	// still pending is decided again.
	rp.FirstSeen, rp.Enriched, rp.MetaHash, rp.Meta, rp.Copy = old.FirstSeen, old.Enriched, old.MetaHash, old.Meta, old.Copy
	rp.Decision = nil
	if old.Copy != CopyPending {
		rp.Decision = old.Decision
	}
	return rp, pageChanged
}

// writePage merges the RPs looked up with their records (keeping a
// merge whose record has not changed), and writes the page and the
// cursor in one transaction. With prepare set, it writes nothing and
// returns errPagePrepare if a merge needs preparing.
func (s *Store) writePage(part *Partition, page []pageRP, now time.Time, prepare bool) (PageResult, error) {
	var res PageResult
	err := s.updateVault(part.Vault, func(txn *badger.Txn, t *tally) error {
		res = PageResult{}
		toPrepare := false
		for i := range page {
			e := &page[i]
			if !e.lookedUp {
				continue
			}
			item, err := txn.Get(e.key)
			var version uint64
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
			case err != nil:
				return err
			default:
				version = item.Version()
			}
			if e.merged && e.found == (version != 0) && e.version == version {
				continue
			}
			var old *RP
			if version != 0 {
				old = &RP{}
				if err := item.Value(func(b []byte) error { return DecodeRP(b, old) }); err != nil {
					return err
				}
			}
			e.merged, e.found, e.version, e.prepared = true, old != nil, version, false
			var kept *RP
			if old != nil {
				cp := *old // mergeRP may change old
				kept = &cp
			}
			e.rec, e.kind = mergeRP(part, e.rp, old, now)
			e.old = kept
			if prepare && needsPrepare(e) {
				toPrepare = true
			}
		}
		if toPrepare {
			return errPagePrepare
		}
		for i := range page {
			e := &page[i]
			switch e.kind {
			case pageNew:
				res.New++
			case pageChanged:
				res.Changed++
			default:
				res.Unchanged++
			}
			if e.rec == nil {
				continue
			}
			e.rec.V = schemaVersion
			e.rec.Seen = part.Generation
			e.rec.Gone, e.rec.GoneAt, e.rec.LastSeen = false, nil, nil
			if err := tallyRP(txn, t, e.old, e.rec, e.lookedUp); err != nil {
				return err
			}
			if err := txn.Set(e.key, EncodeRP(e.rec)); err != nil {
				return err
			}
		}
		if res.New+res.Changed > 0 {
			if err := txn.Set(epochKey(EpochInventory), newEpochValue()); err != nil {
				return err
			}
		}
		part.V = schemaVersion
		part.UpdatedAt = now
		return setJSON(txn, partKey(part.Vault, part.ID), part)
	})
	return res, err
}
