package state

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The forecast's inputs, kept like the counters: every write of an RP
// or a copy record sets or deletes, in the same transaction, the RP's
// work entry (fw/: it is left to copy) and its done entry (fd/: its copy
// job completed), so that a forecast reads two short ranges of the LSM
// tree instead of every record. The entries follow what
// engine/forecast's scan takes from a record; a test holds the two
// equal.

// Kinds of remaining work.
const (
	WorkQueued   byte = iota // no copy record, or retry without a time
	WorkRetry                // retry, not before At
	WorkInFlight             // running or intent, since At
)

// WorkEntry is one RP left to copy.
type WorkEntry struct {
	ResHash uint64 // FNV-1a 64 of the resource ARN
	Vault   string
	Type    string
	Kind    byte
	Created int64 // unix ns
	Size    int64
	At      int64 // unix ns: an in-flight job's start, a retry's not-before
	// DeleteAt (unix ns; 0: none) is when the source RP's lifecycle
	// deletes it: a copy not started by then is lost.
	DeleteAt int64
	// Priority is the decision's (0: none).
	Priority int64
}

// DoneEntry is one completed copy job with both its times.
type DoneEntry struct {
	ResHash    uint64
	Type       string
	Size       int64
	Start, End int64 // unix ns
}

// ResourceHash is the FNV-1a 64 hash entries key a resource by (the
// forecast's chains are keyed by it too).
func ResourceHash(arn string) uint64 { return fnv64(arn) }

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// forecastEntries is what the forecast takes from an RP and its copy
// record (either nil).
func forecastEntries(rp *RP, rec *CopyRecord) (work *WorkEntry, done *DoneEntry) {
	if rp == nil {
		return nil, nil
	}
	if rec == nil {
		if rp.Copy != CopyPending || rp.Decision == nil || rp.Decision.Outcome != Included {
			return nil, nil
		}
		return &WorkEntry{ResHash: fnv64(rp.ResourceArn), Vault: rp.Vault, Type: rp.ResourceType, Kind: WorkQueued,
			Created: rp.CreationDate.UnixNano(), Size: rp.Size, DeleteAt: unixNanos(rp.DeleteAt), Priority: int64(rp.Decision.Priority)}, nil
	}
	typ := rec.ResourceType
	if typ == "" {
		typ = rp.ResourceType
	}
	switch rec.State {
	case CopyCompleted:
		if rec.StartedAt == nil || rec.CompletedAt == nil {
			return nil, nil
		}
		res := rec.ResourceArn
		if res == "" {
			res = rp.ResourceArn
		}
		return nil, &DoneEntry{ResHash: fnv64(res), Type: typ, Size: rec.Size, Start: rec.StartedAt.UnixNano(), End: rec.CompletedAt.UnixNano()}
	case CopyRunning, CopyIntent, CopyRetry:
		w := &WorkEntry{ResHash: fnv64(rp.ResourceArn), Vault: rp.Vault, Type: typ, Created: rp.CreationDate.UnixNano(), Size: rec.Size, DeleteAt: unixNanos(rp.DeleteAt)}
		if rp.Decision != nil {
			w.Priority = int64(rp.Decision.Priority)
		}
		switch rec.State {
		case CopyRunning, CopyIntent:
			w.Kind, w.At = WorkInFlight, rec.IntentAt.UnixNano()
			if rec.StartedAt != nil {
				w.At = rec.StartedAt.UnixNano()
			}
		case CopyRetry:
			if rec.NextAt != nil {
				w.Kind, w.At = WorkRetry, rec.NextAt.UnixNano()
			}
		}
		return w, nil
	}
	return nil, nil
}

func (w *WorkEntry) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, w.ResHash)
	b = append(b, w.Kind)
	b = binary.AppendVarint(b, w.Created)
	b = binary.AppendVarint(b, w.Size)
	b = binary.AppendVarint(b, w.At)
	b = binary.AppendVarint(b, w.DeleteAt)
	b = binary.AppendVarint(b, w.Priority)
	b = binary.AppendUvarint(b, uint64(len(w.Vault)))
	b = append(b, w.Vault...)
	return append(b, w.Type...)
}

func decodeWork(b []byte, w *WorkEntry) error {
	r := &summaryReader{b: b}
	h := r.bytes(8)
	k := r.bytes(1)
	if r.err != nil {
		return r.err
	}
	w.ResHash, w.Kind = binary.BigEndian.Uint64(h), k[0]
	w.Created, w.Size, w.At, w.DeleteAt, w.Priority = r.varint(), r.varint(), r.varint(), r.varint(), r.varint()
	w.Vault = string(r.bytes(r.uvarint()))
	w.Type = string(r.b)
	return r.err
}

func (d *DoneEntry) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, d.ResHash)
	b = binary.AppendVarint(b, d.Size)
	b = binary.AppendVarint(b, d.Start)
	b = binary.AppendVarint(b, d.End)
	return append(b, d.Type...)
}

func decodeDone(b []byte, d *DoneEntry) error {
	r := &summaryReader{b: b}
	h := r.bytes(8)
	if r.err != nil {
		return r.err
	}
	d.ResHash = binary.BigEndian.Uint64(h)
	d.Size, d.Start, d.End = r.varint(), r.varint(), r.varint()
	d.Type = string(r.b)
	return r.err
}

// indexOps notes the entry writes of one RP change into t.
func (t *tally) indexOps(oldRP *RP, oldRec *CopyRecord, newRP *RP, newRec *CopyRecord) {
	rp := newRP
	if rp == nil {
		rp = oldRP
	}
	if rp == nil {
		return
	}
	ow, od := forecastEntries(oldRP, oldRec)
	nw, nd := forecastEntries(newRP, newRec)
	if t.ops == nil {
		t.ops = map[string][]byte{}
	}
	switch {
	case nw != nil:
		if ow == nil || *ow != *nw {
			t.ops[string(fcKey(prefixFcWork, rp.Vault, rp.Arn))] = nw.encode()
		}
	case ow != nil:
		t.ops[string(fcKey(prefixFcWork, rp.Vault, rp.Arn))] = nil
	}
	switch {
	case nd != nil:
		if od == nil || *od != *nd {
			t.ops[string(fcKey(prefixFcDone, rp.Vault, rp.Arn))] = nd.encode()
		}
	case od != nil:
		t.ops[string(fcKey(prefixFcDone, rp.Vault, rp.Arn))] = nil
	}
}

// applyOps writes the entry changes t collected.
func (t *tally) applyOps(txn *badger.Txn) error {
	for k, v := range t.ops {
		var err error
		if v == nil {
			err = txn.Delete([]byte(k))
		} else {
			err = txn.Set([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ScanForecast calls work for every RP left to copy and done for every
// completed copy job, from the entries kept with the records; it
// returns ErrNoSummary when the state keeps none (read it by a scan).
func (s *Store) ScanForecast(work func(*WorkEntry) error, done func(*DoneEntry) error) error {
	if s.sum.off {
		return ErrNoSummary
	}
	return s.db.View(func(txn *badger.Txn) error {
		var ok summaryOK
		if found, err := getJSON(txn, keySummaryOK, &ok); err != nil {
			return err
		} else if !found || ok.V < summaryVersion {
			return ErrNoSummary
		}
		var w WorkEntry
		var d DoneEntry
		for _, p := range [][]byte{prefixFcWork, prefixFcDone} {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 1024, Prefix: p})
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				item := it.Item()
				err := item.Value(func(b []byte) error {
					if p[1] == 'w' {
						if err := decodeWork(b, &w); err != nil {
							return err
						}
						return work(&w)
					}
					if err := decodeDone(b, &d); err != nil {
						return err
					}
					return done(&d)
				})
				if err != nil {
					it.Close()
					return fmt.Errorf("state: forecast entry %x: %w", item.Key(), err)
				}
			}
			it.Close()
		}
		return nil
	})
}

// unixNanos is *t in Unix nanoseconds, or 0 for nil.
func unixNanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}
