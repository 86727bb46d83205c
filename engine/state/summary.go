package state

import (
	"errors"
	"time"
)

// The counters (ADR 0001, "counters kept with the records"): every RP,
// with its copy record, falls in one cell of each cube, and every write
// of an RP or a copy record commits the change of the cells it moves in
// the same transaction. Questions whose fields one cube holds are then
// answered without reading an RP.

// Cube names one of the three cubes.
type Cube byte

// The cubes. Each keeps a different set of a Cell's fields; the others
// are empty.
const (
	// CubeReasons: vault, types, status, outcome, rule, decision and copy
	// reasons, failure class, copying, orphan.
	CubeReasons Cube = 'r'
	// CubeTime: vault, type, status, outcome, rule and the creation hour.
	CubeTime Cube = 't'
	// CubeAPMID: vault, type, status, outcome and the apmid field.
	CubeAPMID Cube = 'a'
)

// Cell is one cell of one cube. It is comparable, to key a map.
type Cell struct {
	Cube Cube
	// Vault is the source vault; Type the RP's resource type and SType
	// the copy record's when it names another.
	Vault, Type, SType string
	// Status is RowStatus; Outcome the decision's ("" when undecided).
	Status, Outcome string
	// Rule and DReason are the decision's; CReason and FailKey the copy
	// record's reason and FailureKey.
	Rule, DReason, CReason, FailKey string
	// APMID is the apmid metadata field, when HasAPMID.
	APMID    string
	HasAPMID bool
	// Copying: the RP record is marked copying. Orphan: a copy record
	// without an RP record (only the vault and status are set).
	Copying, Orphan bool
	// Hour is the RP's creation time in Unix hours (floor).
	Hour int64
}

// Measure is what a cell holds.
type Measure struct {
	// N counts RPs; Bytes sums their sizes; CBytes sums the sizes as
	// status counts them (the copy record's once there is one).
	N, Bytes, CBytes int64
}

func (m *Measure) add(o Measure, sign int64) {
	m.N += sign * o.N
	m.Bytes += sign * o.Bytes
	m.CBytes += sign * o.CBytes
}

func (m Measure) zero() bool { return m == Measure{} }

// cellsOf returns the cells an RP with its copy record (either may be
// nil, not both) falls in, and its measure.
func cellsOf(rp *RP, rec *CopyRecord) ([]Cell, Measure) {
	if rp == nil {
		if rec == nil {
			return nil, Measure{}
		}
		return []Cell{{Cube: CubeReasons, Vault: rec.Vault, Status: rec.State, Orphan: true}}, Measure{N: 1, CBytes: rec.Size}
	}
	m := Measure{N: 1, Bytes: rp.Size, CBytes: rp.Size}
	base := Cell{Vault: rp.Vault, Type: rp.ResourceType, Status: RowStatus(rp, rec)}
	var rule, reason string
	if d := rp.Decision; d != nil {
		base.Outcome, rule, reason = d.Outcome, d.Rule, d.Reason
	}
	r := base
	r.Cube, r.Rule, r.DReason, r.Copying = CubeReasons, rule, reason, rp.Copy != CopyPending
	if rec != nil {
		if rec.ResourceType != "" && rec.ResourceType != rp.ResourceType {
			r.SType = rec.ResourceType
		}
		r.CReason, r.FailKey = rec.Reason, rec.FailureKey()
		m.CBytes = rec.Size
	}
	t := base
	t.Cube, t.Rule = CubeTime, rule
	t.Hour = floorDiv(rp.CreationDate.Unix(), 3600)
	a := base
	a.Cube = CubeAPMID
	if rp.Meta != nil {
		a.APMID, a.HasAPMID = rp.Meta.Fields["apmid"]
	}
	return []Cell{r, t, a}, m
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// tally collects the cell changes of one transaction.
type tally struct {
	cells map[Cell]Measure
	// minStart and maxEnd: the earliest job start and latest completion
	// the transaction wrote (Unix ns; 0: none).
	minStart, maxEnd int64
	// ops are the forecast entries to write (key -> value; nil deletes).
	ops map[string][]byte
	// memo holds, per position in cellsOf's answer, the last cell added
	// and its running measure: RPs listed or decided together mostly
	// fall in the cells of the one before, and comparing a cell costs
	// less than hashing it (a third of a cold plan's counting time).
	memo [3]memoCell
}

type memoCell struct {
	c   Cell
	m   Measure
	set bool
}

func (t *tally) add(rp *RP, rec *CopyRecord, sign int64) {
	cells, m := cellsOf(rp, rec)
	for i, c := range cells {
		s := &t.memo[i]
		if s.set && s.c == c {
			s.m.add(m, sign)
			continue
		}
		t.spill(s)
		s.c, s.m, s.set = c, Measure{}, true
		s.m.add(m, sign)
	}
}

// spill moves a memo's measure into cells.
func (t *tally) spill(s *memoCell) {
	if !s.set {
		return
	}
	s.set = false
	if s.m.zero() {
		return
	}
	if t.cells == nil {
		t.cells = map[Cell]Measure{}
	}
	v := t.cells[s.c]
	v.add(s.m, 1)
	t.cells[s.c] = v
}

// flush spills every memo: cells is then the whole tally.
func (t *tally) flush() {
	for i := range t.memo {
		t.spill(&t.memo[i])
	}
}

// change records that (oldRP, oldRec) became (newRP, newRec).
func (t *tally) change(oldRP *RP, oldRec *CopyRecord, newRP *RP, newRec *CopyRecord) {
	t.add(oldRP, oldRec, -1)
	t.add(newRP, newRec, 1)
	t.indexOps(oldRP, oldRec, newRP, newRec)
	if newRec != nil {
		t.times(newRec)
	}
}

// times notes the job times of a copy record as written (status's first
// start and last completion).
func (t *tally) times(rec *CopyRecord) {
	switch rec.State {
	case CopyCompleted:
		if rec.StartedAt == nil || rec.CompletedAt == nil {
			return
		}
		if e := rec.CompletedAt.UnixNano(); e > t.maxEnd {
			t.maxEnd = e
		}
	case CopyRunning, CopyIntent, CopyRetry:
		if rec.StartedAt == nil {
			return
		}
	default:
		return
	}
	if s := rec.StartedAt.UnixNano(); t.minStart == 0 || s < t.minStart {
		t.minStart = s
	}
}

// empty reports whether the tally changes nothing.
func (t *tally) empty() bool {
	t.flush()
	for c, m := range t.cells {
		if m.zero() {
			delete(t.cells, c)
		}
	}
	return len(t.cells) == 0 && t.minStart == 0 && t.maxEnd == 0
}

// sameRow reports whether two records of one RP count alike, with any
// copy record: the same cells with the same measure, and the same
// forecast entries (which add the resource and the exact creation time).
func sameRow(a, b *RP) bool {
	return a.ResourceArn == b.ResourceArn && a.CreationDate.Equal(b.CreationDate) && sameTime(a.DeleteAt, b.DeleteAt) &&
		priorityOf(a) == priorityOf(b) && sameCells(a, b)
}

// priorityOf is rp's decision's priority (0 without a decision).
func priorityOf(rp *RP) int {
	if rp.Decision == nil {
		return 0
	}
	return rp.Decision.Priority
}

// sameCells reports whether two RPs (without copy records) fall in the
// same cells with the same measure: then no copy record can make their
// cells differ either.
func sameCells(a, b *RP) bool {
	ca, ma := cellsOf(a, nil)
	cb, mb := cellsOf(b, nil)
	if ma != mb || len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if ca[i] != cb[i] {
			return false
		}
	}
	return true
}

// Summary is the counters at one moment.
type Summary struct {
	Cells map[Cell]Measure
	// FirstStart and LastCompletion: the earliest copy job start and the
	// latest completion ever written (zero: none).
	FirstStart, LastCompletion time.Time
	// Deltas is how many delta records were summed (not yet folded).
	Deltas int
}

// ErrNoSummary: the state keeps no counters (a state an earlier shuffle
// made, opened read-only); count by scanning.
var ErrNoSummary = errors.New("state: no counters kept")
