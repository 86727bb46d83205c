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
	in  *Decoder // nil: every string is allocated
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

// istr reads a string that often repeats across records (a vault, a key
// ARN, a metadata value, a decision reason): a scan shares one copy.
func (d *dec) istr() string {
	if d.in == nil {
		return d.str()
	}
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	s := d.in.intern(d.b[:n])
	d.b = d.b[n:]
	return s
}

// skip passes over one string.
func (d *dec) skip() {
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.err = errShort
		return
	}
	d.b = d.b[n:]
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
		out[i] = d.istr()
	}
	return out
}

const (
	flagEncrypted = 1 << iota
	flagGone
	flagEnriched
	flagMeta
	flagDecision
	flagGoneTimes // GoneAt and LastSeen follow the decision
	flagPriority  // the decision's Priority follows (after the gone times)
)

// EncodeRP encodes an RP record.
func EncodeRP(r *RP) []byte {
	e := &enc{b: make([]byte, 0, rpSizeHint(r))}
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
	if r.Gone && r.GoneAt != nil && r.LastSeen != nil {
		flags |= flagGoneTimes
	}
	if r.Decision != nil && r.Decision.Priority != 0 {
		flags |= flagPriority
	}
	e.b = append(e.b, flags)
	for _, s := range rpStrings(r) {
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
		mark := len(e.b)
		if !e.fields(m.keys, m.Fields) { // no SortKeys, or Fields changed since
			e.b = e.b[:mark]
			e.fields(sortedKeys(m.Fields), m.Fields)
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
	if flags&flagGoneTimes != 0 {
		e.t(*r.GoneAt)
		e.t(*r.LastSeen)
	}
	if flags&flagPriority != 0 {
		e.iv(int64(r.Decision.Priority))
	}
	return e.b
}

// rpStrings are the string fields of r, in the order EncodeRP writes
// them.
func rpStrings(r *RP) [14]string {
	return [14]string{r.Arn, r.Vault, r.ResourceArn, r.ResourceType, r.ResourceName, r.Status, r.StatusMessage,
		r.EncryptionKeyArn, r.EncryptionKeyType, r.ParentArn, r.BackupPlanID, r.IamRoleArn, r.MetaHash, r.Copy}
}

// fields writes the count of fields, then each of keys with its value.
// It returns false, having written part of them, unless keys are
// exactly the keys of fields.
func (e *enc) fields(keys []string, fields map[string]string) bool {
	if len(keys) != len(fields) {
		return false
	}
	e.uv(uint64(len(keys)))
	for _, k := range keys {
		v, ok := fields[k]
		if !ok {
			return false
		}
		e.str(k)
		e.str(v)
	}
	return true
}

// rpSizeHint is a little over the encoded size of r, so that EncodeRP
// allocates once: a record is about 800 bytes, and growing a buffer to
// that doubled the bytes allocated per RP.
func rpSizeHint(r *RP) int {
	n := 128
	for _, s := range rpStrings(r) {
		n += len(s) + 2
	}
	if m := r.Meta; m != nil {
		n += 16 + 8*len(m.Lines) + 16*len(m.Blank)
		for k, v := range m.Fields {
			n += len(k) + len(v) + 4
		}
		for k := range m.Blank {
			n += len(k)
		}
		if c := m.Conflict; c != nil {
			n += len(c.Field) + 8*len(c.Lines) + 8
			for _, v := range c.Values {
				n += len(v) + 4
			}
		}
	}
	if d := r.Decision; d != nil {
		n += len(d.Outcome) + len(d.Reason) + len(d.Rule) + len(d.PolicyHash) + len(d.MetaHash) + 24
	}
	return n
}

// DecodeRP decodes a record written by EncodeRP (or an older JSON one).
func DecodeRP(b []byte, r *RP) error { return (*Decoder)(nil).Decode(b, r) }

// Decoder decodes many records, as a scan does. It shares the strings
// that repeat from record to record (vault, key and role ARNs, metadata,
// decision reasons) and the metadata snapshots themselves, so that a
// million-record scan allocates little beyond the ARNs. Records decoded
// by one Decoder may share their Meta: callers replace an RP's Meta,
// never change it in place. A nil *Decoder shares nothing.
type Decoder struct {
	strs  map[string]string
	metas map[string]*Meta
}

// NewDecoder returns a Decoder for one scan.
func NewDecoder() *Decoder {
	return &Decoder{strs: make(map[string]string, 1024), metas: make(map[string]*Meta, 1024)}
}

// Bounds on what a Decoder keeps, so that a scan's memory stays flat
// whatever the data.
const (
	maxInterned = 1 << 16
	maxMetas    = 1 << 15
)

func (x *Decoder) intern(b []byte) string {
	if s, ok := x.strs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(x.strs) < maxInterned {
		x.strs[s] = s
	}
	return s
}

// Decode decodes one record into r.
func (x *Decoder) Decode(b []byte, r *RP) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, r)
	}
	if len(b) < 2 || b[0] != rpCodecV1 {
		return fmt.Errorf("unknown recovery point record version %d; use a newer shuffle", firstByte(b))
	}
	d := &dec{b: b[2:], in: x}
	flags := b[1]
	*r = RP{V: schemaVersion}
	r.IsEncrypted, r.Gone, r.Enriched = flags&flagEncrypted != 0, flags&flagGone != 0, flags&flagEnriched != 0
	r.Arn = d.str()
	r.Vault = d.istr()
	r.ResourceArn = d.str()
	r.ResourceType = d.istr()
	r.ResourceName = d.str()
	r.Status = d.istr()
	r.StatusMessage = d.istr()
	r.EncryptionKeyArn = d.istr()
	r.EncryptionKeyType = d.istr()
	r.ParentArn = d.str()
	r.BackupPlanID = d.istr()
	r.IamRoleArn = d.istr()
	r.MetaHash = d.istr()
	r.Copy = d.istr()
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
		r.Meta = d.meta()
	}
	if flags&flagDecision != 0 {
		r.Decision = &Decision{Outcome: d.istr(), Reason: d.istr(), Rule: d.istr(), PolicyHash: d.istr(), MetaHash: d.istr(), At: d.t()}
	}
	if flags&flagGoneTimes != 0 {
		at, seen := d.t(), d.t()
		r.GoneAt, r.LastSeen = &at, &seen
	}
	if flags&flagPriority != 0 && r.Decision != nil {
		r.Decision.Priority = int(d.iv())
	}
	if d.err != nil {
		return fmt.Errorf("recovery point record: %w", d.err)
	}
	return nil
}

// meta decodes a metadata snapshot; with a Decoder, records whose
// snapshot bytes are equal share one *Meta.
func (d *dec) meta() *Meta {
	start := d.b
	if d.in != nil {
		d.skipMeta()
		if d.err != nil {
			return nil
		}
		raw := start[:len(start)-len(d.b)]
		if m, ok := d.in.metas[string(raw)]; ok {
			return m
		}
		d.b = start
	}
	m := &Meta{}
	if n := d.count(); n > 0 {
		m.Fields = make(map[string]string, n)
		for i := 0; i < n; i++ {
			k := d.istr()
			m.Fields[k] = d.istr()
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
		m.Conflict = &Conflict{Field: d.istr(), Values: d.strs(), Lines: d.ints()}
	}
	if d.in != nil && d.err == nil && len(d.in.metas) < maxMetas {
		d.in.metas[string(start[:len(start)-len(d.b)])] = m
	}
	return m
}

// skipMeta passes over a metadata snapshot.
func (d *dec) skipMeta() {
	n := d.count()
	for i := 0; i < 2*n && d.err == nil; i++ {
		d.skip()
	}
	n = d.count()
	for i := 0; i < n && d.err == nil; i++ {
		d.skip()
	}
	n = d.count()
	for i := 0; i < n && d.err == nil; i++ {
		d.iv()
	}
	if d.byte1() == 1 {
		d.skip()
		n = d.count()
		for i := 0; i < n && d.err == nil; i++ {
			d.skip()
		}
		n = d.count()
		for i := 0; i < n && d.err == nil; i++ {
			d.iv()
		}
	}
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

// peekSeen reads an encoded RP's gone flag and the generation that last
// listed it, without decoding the rest.
func peekSeen(b []byte) (seen uint64, gone bool, err error) {
	if len(b) > 0 && b[0] == '{' {
		var r RP
		err := json.Unmarshal(b, &r)
		return r.Seen, r.Gone, err
	}
	if len(b) < 2 || b[0] != rpCodecV1 {
		return 0, false, fmt.Errorf("unknown recovery point record version %d; use a newer shuffle", firstByte(b))
	}
	d := &dec{b: b[2:]}
	for i := 0; i < 14; i++ { // the strings, Arn to Copy
		d.skip()
	}
	d.iv()                   // CreationDate
	d.iv()                   // FirstSeen
	for i := 0; i < 3; i++ { // CompletionDate, DeleteAt, MoveToColdAt
		if d.byte1() == 1 {
			d.iv()
		}
	}
	d.iv()                   // Size
	for i := 0; i < 2; i++ { // DeleteAfterDays, ColdAfterDays
		if d.byte1() == 1 {
			d.iv()
		}
	}
	seen = d.uv()
	if d.err != nil {
		return 0, false, fmt.Errorf("recovery point record: %w", d.err)
	}
	return seen, b[1]&flagGone != 0, nil
}

// peekDates reads an encoded RP's gone flag, CreationDate and DeleteAt
// (zero when none), without decoding the rest.
func peekDates(b []byte) (created, deleteAt time.Time, gone bool, err error) {
	if len(b) > 0 && b[0] == '{' {
		var r RP
		if err := json.Unmarshal(b, &r); err != nil {
			return created, deleteAt, false, err
		}
		if r.DeleteAt != nil {
			deleteAt = *r.DeleteAt
		}
		return r.CreationDate, deleteAt, r.Gone, nil
	}
	if len(b) < 2 || b[0] != rpCodecV1 {
		return created, deleteAt, false, fmt.Errorf("unknown recovery point record version %d; use a newer shuffle", firstByte(b))
	}
	d := &dec{b: b[2:]}
	for i := 0; i < 14; i++ { // the strings, Arn to Copy
		d.skip()
	}
	created = d.t()
	d.iv()              // FirstSeen
	if d.byte1() == 1 { // CompletionDate
		d.iv()
	}
	if d.byte1() == 1 {
		deleteAt = d.t()
	}
	if d.err != nil {
		return created, deleteAt, false, fmt.Errorf("recovery point record: %w", d.err)
	}
	return created, deleteAt, b[1]&flagGone != 0, nil
}
