package state

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// summaryRecord is one stored delta or base chunk of the counters.
type summaryRecord struct {
	cells            map[Cell]Measure
	minStart, maxEnd int64
}

const summaryCodecV1 = 0x01

// Flags of a stored cell.
const (
	cellHasAPMID = 1 << iota
	cellCopying
	cellOrphan
)

// cellStrings are a cell's string fields, in their stored order.
func cellStrings(c *Cell) [10]*string {
	return [10]*string{&c.Vault, &c.Type, &c.SType, &c.Status, &c.Outcome, &c.Rule, &c.DReason, &c.CReason, &c.FailKey, &c.APMID}
}

// encodeSummary writes: the version byte; the strings the cells use
// (uvarint count, then each uvarint length and bytes; index 0 is "");
// the job times (varints); the cells (uvarint count, then each: cube
// byte, flag byte, ten uvarint string indexes, varint hour, N, Bytes,
// CBytes).
func encodeSummary(r *summaryRecord) []byte {
	idx := map[string]uint64{"": 0}
	strs := []string{""}
	for c := range r.cells {
		for _, p := range cellStrings(&c) {
			if _, ok := idx[*p]; !ok {
				idx[*p] = uint64(len(strs))
				strs = append(strs, *p)
			}
		}
	}
	b := []byte{summaryCodecV1}
	b = binary.AppendUvarint(b, uint64(len(strs)-1))
	for _, s := range strs[1:] {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, r.minStart)
	b = binary.AppendVarint(b, r.maxEnd)
	b = binary.AppendUvarint(b, uint64(len(r.cells)))
	for c, m := range r.cells {
		var fl byte
		if c.HasAPMID {
			fl |= cellHasAPMID
		}
		if c.Copying {
			fl |= cellCopying
		}
		if c.Orphan {
			fl |= cellOrphan
		}
		b = append(b, byte(c.Cube), fl)
		for _, p := range cellStrings(&c) {
			b = binary.AppendUvarint(b, idx[*p])
		}
		b = binary.AppendVarint(b, c.Hour)
		b = binary.AppendVarint(b, m.N)
		b = binary.AppendVarint(b, m.Bytes)
		b = binary.AppendVarint(b, m.CBytes)
	}
	return b
}

var errSummaryTruncated = errors.New("counter record truncated")

type summaryReader struct {
	b   []byte
	err error
}

func (r *summaryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errSummaryTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errSummaryTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errSummaryTruncated
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// decodeSummary reads what encodeSummary wrote, into into (merging, so
// that a reader sums records without a map per record).
func decodeSummary(b []byte, into func(c Cell, m Measure), times func(minStart, maxEnd int64)) error {
	if len(b) == 0 || b[0] != summaryCodecV1 {
		return fmt.Errorf("counter record: unknown version")
	}
	r := &summaryReader{b: b[1:]}
	ns := r.uvarint()
	if ns > uint64(len(b)) {
		return errSummaryTruncated
	}
	strs := make([]string, 1, ns+1)
	for i := uint64(0); i < ns && r.err == nil; i++ {
		strs = append(strs, string(r.bytes(r.uvarint())))
	}
	minStart, maxEnd := r.varint(), r.varint()
	nc := r.uvarint()
	for i := uint64(0); i < nc && r.err == nil; i++ {
		hdr := r.bytes(2)
		if r.err != nil {
			break
		}
		c := Cell{Cube: Cube(hdr[0]), HasAPMID: hdr[1]&cellHasAPMID != 0, Copying: hdr[1]&cellCopying != 0, Orphan: hdr[1]&cellOrphan != 0}
		for _, p := range cellStrings(&c) {
			j := r.uvarint()
			if j >= uint64(len(strs)) {
				if r.err == nil {
					r.err = fmt.Errorf("counter record: string %d of %d", j, len(strs))
				}
				break
			}
			*p = strs[j]
		}
		c.Hour = r.varint()
		m := Measure{N: r.varint(), Bytes: r.varint(), CBytes: r.varint()}
		if r.err == nil {
			into(c, m)
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("counter record: %d bytes after the end", len(r.b))
	}
	times(minStart, maxEnd)
	return nil
}
