package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Requirement is a column that some reader of the table needs, such as a
// policy module that declares it.
type Requirement struct {
	Column string // as declared; matched case-insensitively and trimmed, as Entry.Fields keys are
	By     string // who requires it, e.g. "policies/apmid.lua"
}

// MissingColumnsError is a header that lacks required columns.
type MissingColumnsError struct {
	File    string
	Missing []MissingColumn // in the order first required
	Header  []string        // the header's names as written
}

// MissingColumn is one required column the header lacks.
type MissingColumn struct {
	Column string   // as first declared
	By     []string // every requirer, in order
	// Near is a header name that differs from Column only in case,
	// spaces, "_", "-" or invisible characters (e.g. "APM ID"); "" when
	// there is none.
	Near string
}

// maxHeaderListed is how many header names a message lists.
const maxHeaderListed = 12

// Error gives `file: no column "apmid" (required by policies/apmid.lua);
// the header has: resourceArn, Owner; add the column or fix its name`.
func (e *MissingColumnsError) Error() string {
	var b strings.Builder
	b.WriteString(e.File + ": no column")
	if len(e.Missing) > 1 {
		b.WriteString("s")
	}
	for i, m := range e.Missing {
		switch {
		case i == 0:
		case i == len(e.Missing)-1:
			b.WriteString(" and")
		default:
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %q (required by %s)", m.Column, strings.Join(m.By, ", "))
	}
	b.WriteString("; the header has: ")
	names := e.Header
	if len(names) > maxHeaderListed {
		names = names[:maxHeaderListed]
	}
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		// Plain, unless quoting shows something invisible or a comma.
		if q := strconv.Quote(n); q != `"`+n+`"` || strings.Contains(n, ",") {
			n = q
		}
		b.WriteString(n)
	}
	if n := len(e.Header) - len(names); n > 0 {
		fmt.Fprintf(&b, ", … (%d more)", n)
	}
	if len(e.Missing) > 1 {
		b.WriteString("; add the columns or fix their names (names match in any case)")
	} else {
		b.WriteString("; add the column or fix its name (names match in any case)")
	}
	for _, m := range e.Missing {
		if m.Near != "" {
			fmt.Fprintf(&b, `; %q looks like %q: rename it to %s`, m.Near, m.Column, m.Column)
		}
	}
	return b.String()
}

// Require checks that the header has every required column and that no
// value of a required column spans lines (a required column holds an
// identifier such as an APMID, never free text). It returns a
// *MissingColumnsError naming every missing column, or a *ParseError
// locating the first value with a line break.
func (t *Table) Require(reqs []Requirement) error {
	have := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		have[strings.ToLower(c)] = true
	}
	var missing []MissingColumn
	for _, r := range reqs {
		key := strings.ToLower(trimSpace(r.Column))
		if have[key] || isArnColumn(key) {
			continue
		}
		if i := indexMissing(missing, key); i >= 0 {
			missing[i].By = append(missing[i].By, r.By)
			continue
		}
		missing = append(missing, MissingColumn{Column: trimSpace(r.Column), By: []string{r.By}, Near: t.near(key)})
	}
	if len(missing) > 0 {
		return &MissingColumnsError{File: t.File, Missing: missing, Header: t.Columns}
	}
	for _, r := range reqs {
		key := strings.ToLower(trimSpace(r.Column))
		if s, ok := t.spans[key]; ok {
			return &ParseError{File: t.File, Line: s.line, Column: s.col, Field: s.name,
				Msg:  "line break inside the value; the column is required by " + r.By + " and its values are one line",
				Hint: `close the quote where the value ends, or remove the line break`}
		}
	}
	return nil
}

func indexMissing(missing []MissingColumn, key string) int {
	for i, m := range missing {
		if strings.ToLower(m.Column) == key {
			return i
		}
	}
	return -1
}

// near returns a header name equal to key but for case, spaces
// (Unicode ones included), "_", "-" and invisible characters (a byte
// order mark or zero-width space left by a concatenation or an
// export), or "".
func (t *Table) near(key string) string {
	k := squash(key)
	for _, c := range t.Columns {
		if squash(strings.ToLower(c)) == k {
			return c
		}
	}
	return ""
}

func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '\ufeff' || r == '\u200b' {
			return -1
		}
		return r
	}, s)
}

// span is the first value of a column that holds a line break.
type span struct {
	name      string // header name as written
	line, col int
}

// noteSpans records, per column, the first value of the current row
// that spans lines, for Require.
func (rd *reader) noteSpans() {
	for i, v := range rd.vals {
		if i == rd.arnCol || strings.IndexByte(v, '\n') < 0 {
			continue
		}
		if _, ok := rd.t.spans[rd.keys[i]]; ok {
			continue
		}
		if rd.t.spans == nil {
			rd.t.spans = make(map[string]span)
		}
		line, col := rd.cr.FieldPos(i)
		rd.t.spans[rd.keys[i]] = span{name: rd.names[i], line: line, col: col}
	}
}
