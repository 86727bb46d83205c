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
//
// It reads one file into memory and answers lookups; it must not know of
// AWS, the state store or Lua (the engine joins the table to recovery
// points, luabind shows entries to policies).
package metadata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"os"
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
