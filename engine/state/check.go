package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// CheckReport is what Check found: records by kind, and the problems.
type CheckReport struct {
	Dir     string           `json:"dir"`
	StateID string           `json:"state_id,omitempty"`
	Records map[string]int64 `json:"records"`
	// Counters: "agree" (the counters equal a full scan), "not kept" (a
	// state made before them, opened read-only) or "differ".
	Counters string   `json:"counters"`
	Problems []string `json:"problems,omitempty"`
}

// maxProblems bounds the problems a check lists.
const maxProblems = 50

func (r *CheckReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == maxProblems {
		r.Problems = append(r.Problems, "(more problems not listed)")
	}
}

// Check verifies the open state: every table block's checksum, then
// every record, read and decoded by kind. It does not stop at the first
// problem.
func (s *Store) Check(ctx context.Context) (*CheckReport, error) {
	r := &CheckReport{Dir: s.Dir, StateID: s.StateID(), Records: map[string]int64{}}
	if err := s.db.VerifyChecksum(); err != nil {
		r.problem("tables: %v", err)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			item := it.Item()
			key := item.KeyCopy(nil)
			kind := recordKind(key)
			r.Records[kind]++
			if err := item.Value(func(v []byte) error { return decodeRecord(kind, v) }); err != nil {
				r.problem("%s record %q: %v", kind, printableKey(key), err)
			}
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if d := s.Damage(); d != nil {
		r.problem("%s", d.(*DamagedError).File+" "+d.(*DamagedError).Problem)
	}
	if r.Records["meta"] == 0 {
		r.problem("no meta records: the state holds no schema record")
	}
	return r, s.checkCounters(r)
}

// checkCounters compares the counters with a full scan.
func (s *Store) checkCounters(r *CheckReport) error {
	got, err := s.Summary()
	if errors.Is(err, ErrNoSummary) {
		r.Counters = "not kept"
		return nil
	}
	if err != nil {
		r.Counters = "differ"
		r.problem("counters: %v", err)
		return nil
	}
	if len(r.Problems) > 0 {
		r.Counters = "not compared (records damaged)"
		return nil
	}
	want, err := s.CountByScan()
	if err != nil {
		r.Counters = "not compared"
		r.problem("counters: the full scan to compare them failed: %v", err)
		return nil
	}
	diff := SummaryDiff(got, want)
	fdiff, err := s.forecastDiff()
	if err != nil {
		return err
	}
	diff = append(diff, fdiff...)
	if len(diff) == 0 {
		r.Counters = "agree"
		return nil
	}
	r.Counters = "differ"
	for i, d := range diff {
		if i == 5 {
			r.problem("counters: %d more cells differ", len(diff)-i)
			break
		}
		r.problem("counters: %s", d)
	}
	r.problem("counters differ from the records in %d cells: rebuild them with `shuffle state recount` (the records are the truth)", len(diff))
	return nil
}

// recordKind is the first part of a key: vault, part, rp, copy, run,
// kmskey, sum, fw, fd or meta.
func recordKind(key []byte) string {
	for _, p := range [][]byte{prefixVault, prefixPart, prefixRP, prefixCopy, prefixRun, prefixKey, prefixSummary, prefixFcWork, prefixFcDone} {
		if bytes.HasPrefix(key, p) {
			return string(p[:len(p)-1])
		}
	}
	if bytes.HasPrefix(key, []byte("meta/")) {
		return "meta"
	}
	return "unknown"
}

// decodeRecord decodes a record of its kind, to find garbled values.
func decodeRecord(kind string, v []byte) error {
	switch kind {
	case "rp":
		var rp RP
		return DecodeRP(v, &rp)
	case "copy":
		var c CopyRecord
		return json.Unmarshal(v, &c)
	case "vault":
		var x Vault
		return json.Unmarshal(v, &x)
	case "part":
		var x Partition
		return json.Unmarshal(v, &x)
	case "run":
		var x Run
		return json.Unmarshal(v, &x)
	case "kmskey":
		var x KMSKey
		return json.Unmarshal(v, &x)
	case "fw":
		var w WorkEntry
		return decodeWork(v, &w)
	case "fd":
		var d DoneEntry
		return decodeDone(v, &d)
	case "sum":
		if bytes.HasPrefix(v, []byte("{")) {
			return nil // sum/ok
		}
		return decodeSummary(v, func(Cell, Measure) {}, func(int64, int64) {})
	case "unknown":
		return fmt.Errorf("a key shuffle does not write")
	}
	return nil
}

func printableKey(k []byte) string { return string(bytes.ReplaceAll(k, []byte{sep}, []byte{'|'})) }

// HasRecords tells whether the state holds anything a command learnt
// from AWS: a vault, a listing cursor, a recovery point or a copy.
func (s *Store) HasRecords() (bool, error) {
	for _, p := range [][]byte{prefixVault, prefixPart, prefixRP, prefixCopy} {
		if ok, err := s.hasPrefix(p); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// InUse tells whether a process holds the state in dir open.
func InUse(dir string) bool { return lockHeld(filepath.Join(dir, "badger")) }

// forecastDiff compares the forecast entries with what a full scan
// makes of the records.
func (s *Store) forecastDiff() ([]string, error) {
	want := map[string]string{}
	err := s.JoinCopies("", func(rp *RP, rec *CopyRecord) error {
		w, d := forecastEntries(rp, rec)
		if w != nil {
			want[string(fcKey(prefixFcWork, rp.Vault, rp.Arn))] = string(w.encode())
		}
		if d != nil {
			want[string(fcKey(prefixFcDone, rp.Vault, rp.Arn))] = string(d.encode())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.db.View(func(txn *badger.Txn) error {
		for _, p := range [][]byte{prefixFcWork, prefixFcDone} {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: p})
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				k := string(it.Item().Key())
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					it.Close()
					return err
				}
				if w, ok := want[k]; !ok {
					out = append(out, fmt.Sprintf("forecast entry %x: no record makes it", k))
				} else if w != string(v) {
					out = append(out, fmt.Sprintf("forecast entry %x: differs from its record", k))
				}
				delete(want, k)
			}
			it.Close()
		}
		return nil
	})
	for k := range want {
		out = append(out, fmt.Sprintf("forecast entry %x: missing", k))
	}
	return out, err
}
