package metadata

import (
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The reader behind Read: the header, each row, the join of rows that
// share an ARN, and the interning of values and field sets.

type fieldSet struct {
	fields map[string]string
	blank  map[string]bool
}

type reader struct {
	name string
	cr   *csv.Reader
	tr   *tracker
	t    *Table

	names  []string // header names, trimmed, as written
	keys   []string // lower-cased names; "" for the ARN column
	arnCol int

	vals  []string // trimmed values of the current row
	blank []bool   // whether each value of the current row was blank

	conflicts []*Conflict
	interns   map[string]string
	sets      map[string]*fieldSet
	setKey    []byte
}

func (rd *reader) read() ([]string, error) {
	rd.tr.setMark(rd.cr.InputOffset())
	rec, err := rd.cr.Read()
	if err == nil || err == io.EOF {
		return rec, err
	}
	return nil, rd.csvError(err)
}

func (rd *reader) header() error {
	rec, err := rd.read()
	if err == io.EOF {
		return rd.errorf(1, 1, "", "the first row must name the columns, e.g. resourceArn,APMID,Application", "empty file: expected a header row with a %s column", arnColumn)
	}
	if err != nil {
		return err
	}
	if err := rd.checkUTF8(rec); err != nil {
		return err
	}
	if err := rd.checkControl(rec); err != nil {
		return err
	}
	line, _ := rd.cr.FieldPos(0)
	rd.names = make([]string, len(rec))
	rd.keys = make([]string, len(rec))
	rd.arnCol = -1
	seen := make(map[string]int, len(rec))
	for i, raw := range rec {
		name := strings.Clone(trimSpace(raw))
		_, col := rd.cr.FieldPos(i)
		if name == "" {
			return rd.errorf(line, col, "", "give every column a name, or delete the empty column",
				"column %d of the header has no name", i+1)
		}
		key := strings.ToLower(name)
		if j, ok := seen[key]; ok {
			return rd.errorf(line, col, name, "rename or delete one of them",
				"duplicate column: columns %d (%q) and %d (%q) have the same name (names are case-insensitive)",
				j+1, rd.names[j], i+1, name)
		}
		seen[key] = i
		rd.names[i] = name
		if isArnColumn(key) {
			if rd.arnCol >= 0 {
				j := rd.arnCol
				return rd.errorf(line, col, name, "keep one of them",
					"duplicate column: columns %d (%q) and %d (%q) both name the %s column",
					j+1, rd.names[j], i+1, name, arnColumn)
			}
			rd.arnCol = i
			continue
		}
		rd.keys[i] = key
	}
	if rd.arnCol < 0 {
		quoted := make([]string, len(rd.names))
		for i, n := range rd.names {
			quoted[i] = strconv.Quote(n)
		}
		return rd.errorf(line, 1, "",
			fmt.Sprintf("the header needs a column named %s (resource_arn or ResourceARN also work) holding each resource's ARN", arnColumn),
			"no %s column: found %s", arnColumn, strings.Join(quoted, ", "))
	}
	rd.t.Columns = rd.names
	rd.vals = make([]string, len(rec))
	rd.blank = make([]bool, len(rec))
	return nil
}

// isArnColumn reports whether the lower-cased header name key names the
// ARN column: resourceArn, resource_arn, Resource-ARN and so on.
func isArnColumn(key string) bool {
	return strings.NewReplacer("_", "", "-", "").Replace(key) == "resourcearn"
}

// row reads one data row into the table; it returns io.EOF at the end.
func (rd *reader) row() error {
	var rec []string
	for {
		var err error
		rec, err = rd.read()
		if err != nil {
			return err
		}
		if !allBlank(rec) {
			break
		}
	}
	if err := rd.checkUTF8(rec); err != nil {
		return err
	}
	if err := rd.checkControl(rec); err != nil {
		return err
	}
	line, _ := rd.cr.FieldPos(0)
	if n := len(rd.names); len(rec) != n {
		if err := rd.spanningCount(rec); err != nil {
			return err
		}
		const hint = "every row needs one value (possibly empty) per header column; quote values that contain commas"
		if len(rec) > n {
			l, col := rd.cr.FieldPos(n)
			return rd.errorf(l, col, "", hint, "expected %d fields, found %d", n, len(rec))
		}
		l, col := rd.cr.FieldPos(len(rec) - 1)
		return rd.errorf(l, col, rd.names[len(rec)], hint, "expected %d fields, found %d", n, len(rec))
	}
	if err := rd.checkSwallowed(rec); err != nil {
		return err
	}
	for i, v := range rec {
		t := trimSpace(v)
		rd.vals[i] = t
		rd.blank[i] = t == "" && v != ""
	}
	arn := rd.vals[rd.arnCol]
	if arn == "" {
		_, col := rd.cr.FieldPos(rd.arnCol)
		return rd.errorf(line, col, rd.names[rd.arnCol],
			"every row needs the ARN of the resource it describes; delete the row if it describes none",
			"empty %s", arnColumn)
	}
	if !strings.HasPrefix(arn, "arn:") {
		_, col := rd.cr.FieldPos(rd.arnCol)
		return rd.errorf(line, col, rd.names[rd.arnCol],
			`an ARN starts with "arn:", e.g. arn:aws:ec2:us-east-1:111122223333:volume/vol-0123456789abcdef0; check that the columns line up with the header`,
			"not an ARN: %s", quoteShort(arn))
	}
	if err := rd.checkArnLineBreak(arn); err != nil {
		return err
	}
	rd.noteSpans()
	rd.t.Rows++
	rd.add(arn, line)
	return nil
}

// checkSwallowed returns an error for a quoted value that takes in a
// whole line looking like a row of its own (starting with "arn:", with
// a comma per column): its quote was most likely never closed, and the
// rows it swallowed would be lost without a word.
func (rd *reader) checkSwallowed(rec []string) error {
	for i, v := range rec {
		if strings.IndexByte(v, '\n') < 0 {
			continue
		}
		lines := strings.Split(v, "\n")
		for k := 1; k < len(lines)-1; k++ { // the last piece ends at the closing quote
			l := trimSpace(lines[k])
			if !strings.HasPrefix(l, "arn:") || strings.Count(l, ",") != len(rd.names)-1 {
				continue
			}
			line, col := rd.cr.FieldPos(i)
			return rd.errorf(line, col, rd.fieldName(i),
				fmt.Sprintf(`close it with a " on line %d, where the value ends`, line),
				`quoted field takes in line %d, which looks like a row of its own: its closing " is probably missing`, line+k)
		}
	}
	return nil
}

// spanningCount reports a row with the wrong number of fields in which
// a quoted field spans lines where the quote opens: a quote left open
// joins the following lines into one row, and that is where to look.
func (rd *reader) spanningCount(rec []string) error {
	for i, v := range rec {
		if strings.IndexByte(v, '\n') < 0 {
			continue
		}
		l, col := rd.cr.FieldPos(i)
		last, _ := rd.cr.FieldPos(len(rec) - 1)
		last += strings.Count(rec[len(rec)-1], "\n")
		return rd.errorf(l, col, rd.fieldName(i),
			fmt.Sprintf(`if this quote should close on line %d, close it there; otherwise give every row one value (possibly empty) per header column`, l),
			"expected %d fields, found %d in the row on lines %d-%d, which this quoted field spans", len(rd.names), len(rec), line0(rd.cr), last)
	}
	return nil
}

func allBlank(rec []string) bool {
	for _, v := range rec {
		if trimSpace(v) != "" {
			return false
		}
	}
	return true
}

// add records the current row, at line, for arn.
func (rd *reader) add(arn string, line int) {
	e, ok := rd.t.entries[arn]
	if !ok {
		fs := rd.fieldSet()
		e = &Entry{ResourceArn: strings.Clone(arn), Fields: fs.fields, Blank: fs.blank, line1: [1]int{line}}
		e.Lines = e.line1[:]
		rd.t.entries[e.ResourceArn] = e
		rd.t.order = append(rd.t.order, e)
		return
	}
	e.Lines = append(e.Lines, line)
	if c := e.Conflict; c != nil {
		if v := rd.vals[slices.Index(rd.keys, c.Field)]; !slices.Contains(c.Values, v) {
			c.Values = append(c.Values, strings.Clone(v))
		}
		return
	}
	for i, k := range rd.keys {
		if k == "" || rd.vals[i] == e.Fields[k] {
			continue
		}
		// The earlier rows all agreed with the first one; they no longer
		// count as merged duplicates.
		rd.t.Duplicates -= len(e.Lines) - 2
		e.Conflict = &Conflict{ResourceArn: e.ResourceArn, Field: k, Values: []string{e.Fields[k], strings.Clone(rd.vals[i])}}
		rd.conflicts = append(rd.conflicts, e.Conflict)
		return
	}
	rd.t.Duplicates++
}

// fieldSet returns the Fields and Blank maps for the current row, shared
// with earlier rows that have the same values.
func (rd *reader) fieldSet() *fieldSet {
	k := rd.setKey[:0]
	for i, v := range rd.vals {
		if i == rd.arnCol {
			continue
		}
		k = binary.AppendUvarint(k, uint64(len(v)))
		k = append(k, v...)
		if rd.blank[i] {
			k = append(k, 1)
		} else {
			k = append(k, 0)
		}
	}
	rd.setKey = k
	if fs, ok := rd.sets[string(k)]; ok {
		return fs
	}
	fs := &fieldSet{fields: make(map[string]string, len(rd.keys)-1)}
	for i, key := range rd.keys {
		if i == rd.arnCol {
			continue
		}
		fs.fields[key] = rd.intern(rd.vals[i])
		if rd.blank[i] {
			if fs.blank == nil {
				fs.blank = make(map[string]bool)
			}
			fs.blank[key] = true
		}
	}
	if len(rd.sets) < maxInterns {
		rd.sets[string(k)] = fs
	}
	return fs
}

// intern returns a copy of v that does not pin the csv record, shared
// with equal values seen before.
func (rd *reader) intern(v string) string {
	if v == "" {
		return ""
	}
	if s, ok := rd.interns[v]; ok {
		return s
	}
	s := strings.Clone(v)
	if len(rd.interns) < maxInterns && len(s) <= 256 {
		rd.interns[s] = s
	}
	return s
}

// finish sorts the conflicts and points the entries at them.
func (rd *reader) finish() {
	slices.SortFunc(rd.conflicts, func(a, b *Conflict) int {
		return rd.t.entries[a.ResourceArn].Lines[0] - rd.t.entries[b.ResourceArn].Lines[0]
	})
	rd.t.Conflicts = make([]Conflict, len(rd.conflicts))
	for i, c := range rd.conflicts {
		e := rd.t.entries[c.ResourceArn]
		c.Lines = slices.Clone(e.Lines)
		rd.t.Conflicts[i] = *c
		e.Conflict = &rd.t.Conflicts[i]
	}
	rd.conflicts = nil
	rd.interns = nil
	rd.sets = nil
}

// trimSpace trims ASCII whitespace.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}
