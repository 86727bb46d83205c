// Package metadata reads the operator's metadata CSV: one row per
// resource, keyed by its resourceArn, with an APMID column and any other
// columns the operator keeps. Policies read the values by lower-cased
// column name.
//
// The file is read as a stream with encoding/csv; memory grows with the
// number of distinct ARNs, not with the size of the file. A UTF-8 BOM,
// CRLF or LF line endings, quoted fields (with commas, doubled quotes and
// line breaks inside) and blank lines are accepted. Anything else that is
// malformed gives a *ParseError naming the file, the physical line and
// the byte column, and saying how to fix it: control characters other
// than tab and quoted line breaks (control.go), a line break in the ARN,
// and a quote left open, reported where it opens.
//
// Table.Require checks the header against the columns a reader needs
// (the policies' requires.columns).
package metadata

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table is the metadata CSV, indexed by resourceArn.
type Table struct {
	File    string
	Columns []string // header names as written (trimmed), in order
	Rows    int      // data rows read (blank rows are not counted)
	// Duplicates counts the rows merged into an earlier row for the same
	// ARN because every field agrees. Rows of an ARN in conflict are not
	// counted here; they are in Conflicts.
	Duplicates int
	Conflicts  []Conflict // ARNs whose rows disagree, sorted by first line

	entries map[string]*Entry
	order   []*Entry        // by first line
	spans   map[string]span // by column key: the first value with a line break (Require)
}

// Entry is the metadata for one resourceArn.
type Entry struct {
	ResourceArn string
	// Fields maps each non-ARN column, by lower-cased header name (e.g.
	// "apmid", "application"), to its value with surrounding ASCII
	// whitespace trimmed. A value that is only whitespace reads as "" and
	// is marked in Blank. When rows conflict, these are the first row's
	// values.
	//
	// Fields and Blank may be shared by entries with identical values:
	// treat them as read-only.
	Fields map[string]string
	// Blank marks fields whose raw value was whitespace only (not empty),
	// so policies can tell a blank cell from an empty one. Nil when no
	// field is blank.
	Blank map[string]bool
	// Lines are the 1-based physical line numbers where this ARN's rows
	// start (the header is normally line 1).
	Lines []int
	// Conflict is non-nil if the rows for this ARN disagree; it points
	// into Table.Conflicts.
	Conflict *Conflict

	line1 [1]int // backs Lines for the common single row
}

// Conflict reports an ARN whose rows disagree.
type Conflict struct {
	ResourceArn string
	Field       string   // first differing field, by header order (lower-cased name)
	Values      []string // distinct values of Field, in line order
	Lines       []int    // lines of all the rows for the ARN
}

// ParseError is returned for malformed input.
type ParseError struct {
	File         string
	Line, Column int    // 1-based; Column counts bytes
	Field        string // header name as written, when known
	Msg          string
	Hint         string

	err error // underlying csv error, if any
}

// Error gives `file:line:col: field "Name": msg; hint`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the encoding/csv error behind e, if any.
func (e *ParseError) Unwrap() error { return e.err }

// Load reads the metadata CSV at path.
func Load(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(path, f)
}

// Lookup returns the entry for resourceArn (trimmed, case-sensitive).
func (t *Table) Lookup(resourceArn string) (*Entry, bool) {
	e, ok := t.entries[trimSpace(resourceArn)]
	return e, ok
}

// Len is the number of distinct ARNs.
func (t *Table) Len() int { return len(t.entries) }

// All yields the entries in the order of their first line.
func (t *Table) All() iter.Seq[*Entry] {
	return func(yield func(*Entry) bool) {
		for _, e := range t.order {
			if !yield(e) {
				return
			}
		}
	}
}

const (
	utf8BOM   = "\xef\xbb\xbf"
	arnColumn = "resourceArn"

	maxRetain  = 1 << 20 // raw bytes kept of one record, to locate errors
	maxInterns = 1 << 16 // distinct values and field sets shared
	maxQuoted  = 60      // longest value quoted in a message
)

// Read reads a metadata CSV from r; name is used in errors and
// Table.File.
func Read(name string, r io.Reader) (*Table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(3)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case bytes.HasPrefix(head, []byte(utf8BOM)):
		br.Discard(len(utf8BOM))
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return nil, &ParseError{File: name, Line: 1, Column: 1,
			Msg:  "the file is UTF-16 encoded",
			Hint: `save it as UTF-8 (in Excel: "CSV UTF-8")`}
	}
	tr := &tracker{r: br}
	cr := csv.NewReader(tr)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rd := &reader{
		name:    name,
		cr:      cr,
		tr:      tr,
		t:       &Table{File: name, entries: make(map[string]*Entry)},
		interns: make(map[string]string),
		sets:    make(map[string]*fieldSet),
	}
	if err := rd.header(); err != nil {
		return nil, err
	}
	for {
		err := rd.row()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	rd.finish()
	return rd.t, nil
}

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

func (rd *reader) errorf(line, col int, field, hint, format string, args ...any) *ParseError {
	return &ParseError{File: rd.name, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// read reads the next record, marking where it starts so errors can be
// located in the raw text.
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

// checkUTF8 returns an error for the first invalid UTF-8 in rec.
func (rd *reader) checkUTF8(rec []string) error {
	for i, v := range rec {
		if utf8.ValidString(v) {
			continue
		}
		line, col := rd.cr.FieldPos(i)
		if data, complete, ok := rd.tr.record(); ok {
			if ev, found := scanRecord(data, line0(rd.cr), complete, checkUTF8); found && ev.kind == evUTF8 {
				line, col = ev.line, ev.col
			}
		}
		return rd.errorf(line, col, rd.fieldName(i), `save the file as UTF-8 (in Excel: "CSV UTF-8")`, "invalid UTF-8")
	}
	return nil
}

// line0 is the line the current record starts on.
func line0(cr *csv.Reader) int {
	l, _ := cr.FieldPos(0)
	return l
}

// fieldName is the header name of column i, once the header is read.
func (rd *reader) fieldName(i int) string {
	if i >= 0 && i < len(rd.names) {
		return rd.names[i]
	}
	return ""
}

// csvError turns an error from csv.Reader.Read into a *ParseError, or
// wraps an I/O error with the file name.
func (rd *reader) csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", rd.name, err)
	}
	e := &ParseError{File: rd.name, Line: pe.Line, Column: pe.Column, err: pe.Err}
	var ev event
	var found bool
	if data, complete, ok := rd.tr.record(); ok {
		ev, found = scanRecord(data, pe.StartLine, complete, 0)
	}
	const hint = "quote the whole field and double any quote inside it"
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		e.Msg = `bare " in an unquoted field`
		e.Hint = hint
		if found && ev.kind == evBareQuote && ev.line == pe.Line && ev.col == pe.Column {
			e.Field = rd.fieldName(ev.field)
			if ev.afterSpaces {
				e.Hint = "remove the spaces before the opening quote, or " + hint
			}
		}
	case errors.Is(pe.Err, csv.ErrQuote):
		switch {
		case found && ev.kind == evUnterminated:
			e.Line, e.Column = ev.line, ev.col
			e.Field = rd.fieldName(ev.field)
			e.Msg = "quoted field is never closed: it runs to the end of the file"
			e.Hint = `close it with a " and double any quote inside it`
		case found && ev.kind == evExtraneous && ev.line == pe.Line && ev.col == pe.Column && ev.openLine < ev.line:
			// The quote "closing" the field is on a later line than the
			// one opening it: most likely the field was never closed on
			// its line and the quote is the next field's opening one.
			// Report it where it opened.
			e.Line, e.Column = ev.openLine, ev.openCol
			e.Field = rd.fieldName(ev.field)
			e.Msg = fmt.Sprintf(`quoted field is not closed on its line: it runs to the " on line %d, col %d, where text follows`, ev.line, ev.col)
			e.Hint = fmt.Sprintf(`close it with a " on line %d; if the value really spans lines, double every quote inside it`, ev.openLine)
		case found && ev.kind == evExtraneous && ev.line == pe.Line && ev.col == pe.Column:
			e.Field = rd.fieldName(ev.field)
			e.Msg = `unexpected text after the closing " of a quoted field`
			e.Hint = hint
		default:
			e.Msg = `extraneous or missing " in a quoted field`
			if pe.StartLine != pe.Line {
				e.Msg += fmt.Sprintf(" (the row starts on line %d)", pe.StartLine)
			}
			e.Hint = hint
		}
	default:
		e.Msg = pe.Err.Error()
	}
	return e
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

func quoteShort(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
