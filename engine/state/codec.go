package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// RP records are the hot path (a million of them, scanned by every
// step), so they use a compact binary encoding instead of JSON: about
// 10x faster to decode. The first byte is the codec version; a value
// starting with '{' is a JSON record from an older writer and still
// decodes. ADR 0001 documents the choice.
const rpCodecV1 = 0x01

var errShort = errors.New("truncated record")

type enc struct{ b []byte }

func (e *enc) str(s string) { e.b = binary.AppendUvarint(e.b, uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) iv(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) t(t time.Time) {
	if t.IsZero() {
		e.iv(0)
		return
	}
	e.iv(t.UnixNano())
}
func (e *enc) optT(t *time.Time) {
	if t == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.t(*t)
}
func (e *enc) optI(v *int64) {
	if v == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.iv(*v)
}
func (e *enc) ints(xs []int) {
	e.uv(uint64(len(xs)))
	for _, x := range xs {
		e.iv(int64(x))
	}
}
func (e *enc) strs(xs []string) {
	e.uv(uint64(len(xs)))
	for _, x := range xs {
		e.str(x)
	}
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}
func (d *dec) iv() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}
func (d *dec) byte1() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
func (d *dec) str() string {
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
func (d *dec) t() time.Time {
	v := d.iv()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
func (d *dec) optT() *time.Time {
	if d.byte1() == 0 {
		return nil
	}
	t := d.t()
	return &t
}
func (d *dec) optI() *int64 {
	if d.byte1() == 0 {
		return nil
	}
	v := d.iv()
	return &v
}
func (d *dec) count() int {
	n := d.uv()
	if n > uint64(len(d.b)) { // every element takes at least one byte
		d.err = errShort
		return 0
	}
	return int(n)
}
func (d *dec) ints() []int {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(d.iv())
	}
	return out
}
func (d *dec) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

const (
	flagEncrypted = 1 << iota
	flagGone
	flagEnriched
	flagMeta
	flagDecision
)

// EncodeRP encodes an RP record.
func EncodeRP(r *RP) []byte {
	e := &enc{b: make([]byte, 0, 512)}
	e.b = append(e.b, rpCodecV1)
	var flags byte
	if r.IsEncrypted {
		flags |= flagEncrypted
	}
	if r.Gone {
		flags |= flagGone
	}
	if r.Enriched {
		flags |= flagEnriched
	}
	if r.Meta != nil {
		flags |= flagMeta
	}
	if r.Decision != nil {
		flags |= flagDecision
	}
	e.b = append(e.b, flags)
	for _, s := range []string{r.Arn, r.Vault, r.ResourceArn, r.ResourceType, r.ResourceName, r.Status, r.StatusMessage,
		r.EncryptionKeyArn, r.EncryptionKeyType, r.ParentArn, r.BackupPlanID, r.IamRoleArn, r.MetaHash, r.Copy} {
		e.str(s)
	}
	e.t(r.CreationDate)
	e.t(r.FirstSeen)
	e.optT(r.CompletionDate)
	e.optT(r.DeleteAt)
	e.optT(r.MoveToColdAt)
	e.iv(r.Size)
	e.optI(r.DeleteAfterDays)
	e.optI(r.ColdAfterDays)
	e.uv(r.Seen)
	if m := r.Meta; m != nil {
		keys := make([]string, 0, len(m.Fields))
		for k := range m.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.uv(uint64(len(keys)))
		for _, k := range keys {
			e.str(k)
			e.str(m.Fields[k])
		}
		var blank []string
		for k, b := range m.Blank {
			if b {
				blank = append(blank, k)
			}
		}
		sort.Strings(blank)
		e.strs(blank)
		e.ints(m.Lines)
		if c := m.Conflict; c != nil {
			e.b = append(e.b, 1)
			e.str(c.Field)
			e.strs(c.Values)
			e.ints(c.Lines)
		} else {
			e.b = append(e.b, 0)
		}
	}
	if d := r.Decision; d != nil {
		e.str(d.Outcome)
		e.str(d.Reason)
		e.str(d.Rule)
		e.str(d.PolicyHash)
		e.str(d.MetaHash)
		e.t(d.At)
	}
	return e.b
}

// DecodeRP decodes a record written by EncodeRP (or an older JSON one).
func DecodeRP(b []byte, r *RP) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, r)
	}
	if len(b) < 2 || b[0] != rpCodecV1 {
		return fmt.Errorf("unknown recovery point record version %d; use a newer shuffle", firstByte(b))
	}
	d := &dec{b: b[2:]}
	flags := b[1]
	*r = RP{V: schemaVersion}
	r.IsEncrypted, r.Gone, r.Enriched = flags&flagEncrypted != 0, flags&flagGone != 0, flags&flagEnriched != 0
	for _, p := range []*string{&r.Arn, &r.Vault, &r.ResourceArn, &r.ResourceType, &r.ResourceName, &r.Status, &r.StatusMessage,
		&r.EncryptionKeyArn, &r.EncryptionKeyType, &r.ParentArn, &r.BackupPlanID, &r.IamRoleArn, &r.MetaHash, &r.Copy} {
		*p = d.str()
	}
	r.CreationDate = d.t()
	r.FirstSeen = d.t()
	r.CompletionDate = d.optT()
	r.DeleteAt = d.optT()
	r.MoveToColdAt = d.optT()
	r.Size = d.iv()
	r.DeleteAfterDays = d.optI()
	r.ColdAfterDays = d.optI()
	r.Seen = d.uv()
	if flags&flagMeta != 0 {
		m := &Meta{}
		if n := d.count(); n > 0 {
			m.Fields = make(map[string]string, n)
			for i := 0; i < n; i++ {
				k := d.str()
				m.Fields[k] = d.str()
			}
		}
		if blank := d.strs(); len(blank) > 0 {
			m.Blank = make(map[string]bool, len(blank))
			for _, k := range blank {
				m.Blank[k] = true
			}
		}
		m.Lines = d.ints()
		if d.byte1() == 1 {
			m.Conflict = &Conflict{Field: d.str(), Values: d.strs(), Lines: d.ints()}
		}
		r.Meta = m
	}
	if flags&flagDecision != 0 {
		r.Decision = &Decision{Outcome: d.str(), Reason: d.str(), Rule: d.str(), PolicyHash: d.str(), MetaHash: d.str(), At: d.t()}
	}
	if d.err != nil {
		return fmt.Errorf("recovery point record: %w", d.err)
	}
	return nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// peekResourceArn reads the resource ARN of an encoded RP without
// decoding the rest.
func peekResourceArn(b []byte) (string, error) {
	if len(b) > 0 && b[0] == '{' {
		var r RP
		err := json.Unmarshal(b, &r)
		return r.ResourceArn, err
	}
	if len(b) < 2 || b[0] != rpCodecV1 {
		return "", fmt.Errorf("unknown recovery point record version %d; use a newer shuffle", firstByte(b))
	}
	d := &dec{b: b[2:]}
	d.str() // Arn
	d.str() // Vault
	arn := d.str()
	return arn, d.err
}
